"""Oracle failure modes, one test each: the right actions revert with a clear message and the
always-allowed ones (reduce, close, add margin) still work."""

import brownie
import pytest
from brownie import MockAggregator, chain

from tests.conftest import WAD
from vperp import actions

ETH = 2000 * 10**8  # the 8-decimal answer of the ETH-USD feed


@pytest.fixture
def long_open(house, eth, funded, trader):
    actions.trade(house, eth, trader, 0, 2 * WAD, 1_000 * WAD)
    return trader


def assert_blocked_but_exits_work(house, eth, trader, other_trader, message):
    """Opening, increasing and removing margin revert with `message`; the rest works."""
    with brownie.reverts(message):
        actions.trade(house, eth, other_trader, 0, WAD, 500 * WAD)
    with brownie.reverts(message):
        actions.trade(house, eth, trader, 0, WAD, 500 * WAD)
    with brownie.reverts(message):
        house.remove_margin(0, WAD, {"from": trader})
    house.add_margin(0, WAD, {"from": trader})
    actions.trade(house, eth, trader, 0, -WAD)
    actions.close(house, eth, trader, 0)
    assert house.position(trader, 0)["size"] == 0


def test_stale_price(house, eth, oracle, feeds, long_open, other_trader):
    feeds[0].set_round(ETH, chain.time() - 3601, 2, {"from": other_trader})
    assert oracle.price(0)[1] == 8
    assert_blocked_but_exits_work(house, eth, long_open, other_trader, "oracle: stale price")


def test_zero_price(house, eth, feeds, long_open, other_trader):
    feeds[0].set_answer(0, {"from": other_trader})
    assert_blocked_but_exits_work(house, eth, long_open, other_trader, "oracle: non-positive price")


def test_negative_price(house, eth, feeds, long_open, other_trader):
    feeds[0].set_answer(-1, {"from": other_trader})
    assert_blocked_but_exits_work(house, eth, long_open, other_trader, "oracle: non-positive price")


def test_incomplete_round__answered_in_earlier_round(house, eth, feeds, long_open, other_trader):
    feeds[0].set_round(ETH, chain.time(), 1, {"from": other_trader})  # round 2 answered in round 1
    assert_blocked_but_exits_work(house, eth, long_open, other_trader, "oracle: incomplete round")


def test_incomplete_round__zero_timestamp(house, eth, feeds, long_open, other_trader):
    feeds[0].set_round(ETH, 0, 2, {"from": other_trader})
    assert_blocked_but_exits_work(house, eth, long_open, other_trader, "oracle: incomplete round")


def test_outside_bounds__above(house, eth, feeds, long_open, other_trader):
    feeds[0].set_answer(1_000_001 * 10**8, {"from": other_trader})
    assert_blocked_but_exits_work(
        house, eth, long_open, other_trader, "oracle: price out of bounds"
    )


def test_outside_bounds__below(house, eth, feeds, long_open, other_trader):
    feeds[0].set_answer(10**8 - 1, {"from": other_trader})
    assert_blocked_but_exits_work(
        house, eth, long_open, other_trader, "oracle: price out of bounds"
    )


def test_future_timestamp(house, eth, feeds, long_open, other_trader):
    feeds[0].set_round(ETH, chain.time() + 3600, 2, {"from": other_trader})
    assert_blocked_but_exits_work(house, eth, long_open, other_trader, "oracle: future timestamp")


def test_broken_feed__call_reverts(house, eth, feeds, long_open, other_trader):
    feeds[0].set_broken(True, {"from": other_trader})
    assert_blocked_but_exits_work(house, eth, long_open, other_trader, "oracle: feed call failed")


def test_sequencer_down(house, eth, oracle, owner, long_open, other_trader):
    sequencer = MockAggregator.deploy(0, "sequencer", 1, {"from": owner})  # 1 = down
    oracle.set_sequencer(sequencer, 3600, {"from": owner})
    assert_blocked_but_exits_work(house, eth, long_open, other_trader, "oracle: sequencer down")


def test_sequencer_in_grace_period(house, eth, oracle, owner, long_open, other_trader):
    sequencer = MockAggregator.deploy(0, "sequencer", 0, {"from": owner})  # up since just now
    oracle.set_sequencer(sequencer, 3600, {"from": owner})
    assert_blocked_but_exits_work(
        house, eth, long_open, other_trader, "oracle: sequencer grace period"
    )


def test_sequencer_up_after_grace__trading_works(
    house, eth, oracle, owner, feeds, long_open, other_trader
):
    sequencer = MockAggregator.deploy(0, "sequencer", 0, {"from": owner})
    sequencer.set_round(0, chain.time() - 3601, 1, {"from": owner})
    oracle.set_sequencer(sequencer, 3600, {"from": owner})
    actions.trade(house, eth, other_trader, 0, WAD, 500 * WAD)


@pytest.mark.parametrize("decimals", [8, 18])
def test_decimals__normalised_to_18(oracle, owner, decimals):
    feed = MockAggregator.deploy(decimals, "X", 1234 * 10**decimals // 10, {"from": owner})
    oracle.set_feed(5, feed, 3600, WAD, 10**6 * WAD, {"from": owner})
    assert tuple(oracle.price(5)) == (1234 * WAD // 10, 0)


def test_no_feed__unknown_market(oracle, owner):
    assert tuple(oracle.price(9)) == (0, 1)
    with brownie.reverts("oracle: no feed"):
        oracle.touch_valid(9, {"from": owner})
    with brownie.reverts("oracle: no feed"):
        oracle.poke(9, {"from": owner})


def test_sequencer_feed_broken__prices_invalid(oracle, owner):
    sequencer = MockAggregator.deploy(0, "sequencer", 0, {"from": owner})
    sequencer.set_round(0, chain.time() - 7200, 1, {"from": owner})
    oracle.set_sequencer(sequencer, 3600, {"from": owner})
    assert oracle.price(0)[1] == 0
    sequencer.set_broken(True, {"from": owner})
    assert oracle.price(0)[1] == 2  # feed call failed


def test_answer_too_large_to_scale__out_of_bounds_not_a_revert(oracle, feeds, other_trader):
    feeds[0].set_answer(2**255 - 1, {"from": other_trader})  # × 10**10 would overflow
    assert tuple(oracle.price(0)) == (0, 9)
    assert oracle.poke(0, {"from": other_trader}).events["Touched"]["status"] == 9
    with brownie.reverts("oracle: price out of bounds"):
        oracle.touch_valid(0, {"from": other_trader})
