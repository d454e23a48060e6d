"""The L2 sequencer-uptime feed: malformed rounds give a status (never a bare revert), and its
outages cost exactly the seconds they invalidate. Chainlink semantics: answer 0 = up, 1 = down,
startedAt = when the status last changed (the mock's startedAt is its updatedAt)."""

import brownie
import pytest
from brownie import MockAggregator, chain

from tests.conftest import WAD
from tests.unitary.oracle.schedule import at, latest_time, next_block_at, touched
from vperp import actions

INVALID_SEQUENCER_ROUND = 10
GRACE = 600


@pytest.fixture
def sequencer(oracle, owner):
    """An uptime feed that has been up for a day, with a 600 s grace period."""
    feed = MockAggregator.deploy(0, "sequencer", 0, {"from": owner})
    feed.set_round(0, latest_time() - 86400, 2, {"from": owner})
    oracle.set_sequencer(feed, GRACE, {"from": owner})
    return feed


MALFORMED = {
    "startedAt in the future": (0, 10 * 86400),
    "startedAt zero": (0, None),
    "answer neither up nor down": (2, -86400),
}


def round_then_poke(oracle, feeds, keeper):
    """A 2,000 round at t0 (100 s from now) and a poke 300 s later: (t0, the poke's Touched)."""
    t0 = latest_time() + 100
    at(t0, lambda: feeds[0].set_answer(2000 * 10**8, {"from": keeper}))
    return t0, touched(at(t0 + 300, lambda: oracle.poke(0, {"from": keeper})))


def publish_malformed(sequencer, owner, kind):
    answer, offset = MALFORMED[kind]
    started_at = 0 if offset is None else latest_time() + offset
    sequencer.set_round(answer, started_at, 3, {"from": owner})


@pytest.mark.parametrize("kind", MALFORMED)
def test_malformed_sequencer_round__status_10_and_clear_revert(
    oracle, sequencer, owner, keeper, kind
):
    publish_malformed(sequencer, owner, kind)
    assert tuple(oracle.price(0)) == (0, INVALID_SEQUENCER_ROUND)  # a view that does not revert
    tx = oracle.touch(0, {"from": keeper})
    assert tx.events["Touched"]["status"] == INVALID_SEQUENCER_ROUND
    assert tx.return_value[1] == INVALID_SEQUENCER_ROUND
    assert oracle.poke(0, {"from": keeper}).events["Touched"]["status"] == INVALID_SEQUENCER_ROUND
    with brownie.reverts("oracle: invalid sequencer round"):
        oracle.touch_valid(0, {"from": keeper})


@pytest.mark.parametrize("kind", ["startedAt in the future", "startedAt zero"])
def test_malformed_sequencer_round__trades_refused_with_reason_funding_and_lens_work(
    house, eth, lens, oracle, sequencer, funded, trader, owner, keeper, kind
):
    actions.trade(house, eth, trader, 0, WAD, 500 * WAD)
    chain.sleep(3600)
    publish_malformed(sequencer, owner, kind)
    with brownie.reverts("oracle: invalid sequencer round"):
        actions.trade(house, eth, trader, 0, WAD, 500 * WAD)
    house.settle_funding(0, {"from": keeper})
    view = lens.positions(0, [trader])[0]
    assert view["size"] == WAD and not view["liquidatable"]
    actions.close(house, eth, trader, 0)  # exits never read the oracle


def test_sequencer_down__cuts_validity_at_its_started_at(oracle, feeds, sequencer, owner, keeper):
    t0, first = round_then_poke(oracle, feeds, keeper)
    at(t0 + 500, lambda: sequencer.set_answer(1, {"from": owner}))  # down since t0 + 500
    second = touched(at(t0 + 900, lambda: oracle.poke(0, {"from": keeper})))
    assert second[1] == 3
    assert second[3] - first[3] == 200
    assert second[2] - first[2] == 2000 * WAD * 200


def test_outage_between_touches__seconds_before_end_of_grace_not_counted(
    oracle, feeds, sequencer, owner, keeper
):
    """Down and back up with no touch in between (on an L2 nobody can touch while it is down):
    the sequencer's startedAt shows it changed since the last touch, so the price counts only
    from the end of the grace period."""
    t0, first = round_then_poke(oracle, feeds, keeper)
    at(t0 + 400, lambda: sequencer.set_answer(1, {"from": owner}))
    at(t0 + 700, lambda: sequencer.set_answer(0, {"from": owner}))  # up again since t0 + 700
    in_grace = touched(at(t0 + 700 + GRACE - 1, lambda: oracle.poke(0, {"from": keeper})))
    assert in_grace[1] == 4 and in_grace[3] == first[3]
    # a new round published after the grace period counts from its updatedAt
    at(t0 + 2000, lambda: feeds[0].set_answer(2100 * 10**8, {"from": keeper}))
    after = touched(at(t0 + 2300, lambda: oracle.poke(0, {"from": keeper})))
    assert after[1] == 0
    assert after[3] - first[3] == 300
    assert after[2] - first[2] == 2100 * WAD * 300


def test_outage_unseen_by_any_touch__counted_from_end_of_grace(
    oracle, feeds, sequencer, owner, keeper
):
    t0, first = round_then_poke(oracle, feeds, keeper)
    at(t0 + 400, lambda: sequencer.set_answer(1, {"from": owner}))
    at(t0 + 700, lambda: sequencer.set_answer(0, {"from": owner}))
    # a round published during the grace period counts only once the grace period is over
    at(t0 + 800, lambda: feeds[0].set_answer(2100 * 10**8, {"from": keeper}))
    second = touched(at(t0 + 700 + GRACE + 500, lambda: oracle.poke(0, {"from": keeper})))
    assert second[1] == 0
    assert second[3] - first[3] == 500
    assert second[2] - first[2] == 2100 * WAD * 500


def test_sequencer_up_since_long__no_effect_on_validity(oracle, feeds, sequencer, keeper):
    t0, first = round_then_poke(oracle, feeds, keeper)
    next_block_at(t0 + 900)
    second = touched(oracle.poke(0, {"from": keeper}))
    assert second[1] == 0 and second[3] - first[3] == 600


def test_set_sequencer__getters_and_clearing(oracle, owner):
    feed = MockAggregator.deploy(0, "sequencer", 0, {"from": owner})
    oracle.set_sequencer(feed, 1234, {"from": owner})
    assert (oracle.sequencer(), oracle.grace_period()) == (feed.address, 1234)
    oracle.set_sequencer("0x" + "00" * 20, 500, {"from": owner})
    assert (oracle.sequencer(), oracle.grace_period()) == ("0x" + "00" * 20, 500)
    assert oracle.price(0)[1] == 0  # no sequencer feed: no sequencer check
