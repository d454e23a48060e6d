"""Funding: settlement math, clamps, missed periods, the one-block spike bound, conservation,
the capped side when the insurance fund is small, and lazy per-position settlement."""

from fractions import Fraction

import brownie
import pytest
from brownie import chain

from tests.conftest import WAD
from vperp import actions, model

HOUR = 3600


def settle(house, market_id=0, who=None):
    tx = house.settle_funding(market_id, {"from": who or house.owner()})
    return tx.events["FundingSettled"], tx


@pytest.fixture
def fresh(house, advance):
    """A settlement right now, so the next interval starts from a known clock."""
    advance(HOUR)
    settle(house)
    settle(house, 1)
    return house


def expected_settlement(house, ev, market_id=0):
    info = house.market(market_id)
    premium, rate = model.funding_rate(ev["mark_twap"], ev["index_twap"], info["max_funding_rate"])
    return premium, rate, model.funding_per_unit(rate, ev["charged_seconds"], ev["index_twap"])


def test_settle__positive_premium__longs_pay_shorts_receive(
    fresh, eth, advance, funded, trader, other_trader
):
    house = fresh
    actions.trade(house, eth, trader, 0, 3 * WAD, 2_000 * WAD)
    actions.trade(house, eth, other_trader, 0, -WAD, 1_000 * WAD)
    advance(HOUR)
    ev, _ = settle(house)
    premium, rate, per_unit = expected_settlement(house, ev)
    assert ev["mark_twap"] > ev["index_twap"] == 2000 * WAD
    assert (ev["premium"], ev["rate"]) == (premium, rate) and rate > 0
    assert ev["long_funding"] == ev["short_funding"] == per_unit > 0
    # the vAMM is short the 2 ETH imbalance: the fund receives what it collects
    assert ev["insurance_delta"] == model.mul_div(per_unit, 3 * WAD, WAD, False) - model.mul_div(
        per_unit, WAD, WAD, True
    )
    assert house.pending_funding(trader, 0) == model.position_funding(3 * WAD, per_unit) > 0
    assert house.pending_funding(other_trader, 0) == model.position_funding(-WAD, per_unit) < 0


def test_settle__negative_premium__shorts_pay(fresh, eth, advance, funded, trader):
    house = fresh
    actions.trade(house, eth, trader, 0, -3 * WAD, 2_000 * WAD)
    advance(HOUR)
    ev, _ = settle(house)
    assert ev["rate"] < 0 and ev["short_funding"] < 0
    assert house.pending_funding(trader, 0) > 0  # the short pays


def test_settle__clamped_at_max_rate(fresh, eth, advance, funded, trader):
    house = fresh
    actions.trade(house, eth, trader, 0, 200 * WAD, 50_000 * WAD)  # mark +4 %: premium/24 > 0.1 %
    advance(HOUR)
    ev, _ = settle(house)
    assert ev["premium"] // 24 > WAD // 1000
    assert ev["rate"] == WAD // 1000


def test_settle__too_early__reverts(fresh):
    with brownie.reverts("ch: funding period not elapsed"):
        fresh.settle_funding(0, {"from": fresh.owner()})


def test_settle__unknown_market__reverts(house):
    with brownie.reverts("ch: unknown market"):
        house.settle_funding(9, {"from": house.owner()})


def test_settle__permissionless(fresh, advance, keeper):
    advance(HOUR)
    fresh.settle_funding(0, {"from": keeper})


def test_settle__missed_periods_charged_for_real_elapsed_time(fresh, eth, advance, funded, trader):
    house = fresh
    actions.trade(house, eth, trader, 0, 3 * WAD, 2_000 * WAD)
    advance(3 * HOUR)
    ev, _ = settle(house)
    assert ev["charged_seconds"] == ev["elapsed"] >= 3 * HOUR
    _, _, per_unit = expected_settlement(house, ev)
    assert ev["long_funding"] == per_unit


def test_settle__missed_periods_capped_at_max_interval(fresh, eth, advance, funded, trader):
    house = fresh
    actions.trade(house, eth, trader, 0, 3 * WAD, 2_000 * WAD)
    advance(10 * HOUR, step=1800)
    ev, _ = settle(house)
    assert ev["elapsed"] >= 10 * HOUR
    assert ev["charged_seconds"] == 8 * HOUR


def test_settle__invalid_index_in_interval__charges_nothing(
    fresh, eth, feeds, funded, trader, owner
):
    house = fresh
    actions.trade(house, eth, trader, 0, 3 * WAD, 2_000 * WAD)
    before = house.market(0)
    chain.sleep(2 * HOUR)  # nobody pokes: the feed's answer outlives its 1 h heartbeat
    feeds[0].set_answer(2000 * 10**8, {"from": owner})
    ev, _ = settle(house)
    assert ev["charged_seconds"] == 0 and ev["rate"] == 0 and ev["long_funding"] == 0
    after = house.market(0)
    assert after["cumulative_long_funding"] == before["cumulative_long_funding"]
    assert after["last_funding_time"] > before["last_funding_time"]  # the interval is consumed


def test_settle__invalid_index_now__charges_nothing(
    fresh, eth, feeds, advance, funded, trader, owner
):
    house = fresh
    actions.trade(house, eth, trader, 0, 3 * WAD, 2_000 * WAD)
    advance(HOUR)
    feeds[0].set_answer(0, {"from": owner})
    ev, _ = settle(house)
    assert ev["charged_seconds"] == 0 and ev["long_funding"] == 0


def test_settle__one_block_spike_moves_rate_by_at_most_spike_times_block_over_period(
    fresh, eth, advance, funded, trader
):
    """The mark jumps for one block and comes back: it enters the TWAP for that block only."""
    house = fresh
    index = 2000 * WAD
    base_mark = eth.mark_price()
    assert base_mark == index
    up = actions.trade(house, eth, trader, 0, 400 * WAD, 90_000 * WAD)
    spike = eth.mark_price() - base_mark
    chain.sleep(12)  # a 12 s block
    down = actions.close(house, eth, trader, 0, slippage=0.2)
    assert eth.mark_price() == base_mark
    block_time = down.timestamp - up.timestamp
    advance(HOUR)
    ev, _ = settle(house)
    twap_move = ev["mark_twap"] - base_mark
    assert twap_move == spike * block_time // ev["elapsed"]
    # rate = premium / 24 per hour; bound: spike/index × block time / period, per payoff day
    bound = Fraction(spike, index) * block_time / HOUR / 24
    assert Fraction(ev["rate"], WAD) <= bound
    assert ev["rate"] > 0


def test_funding__conservation_within_rounding_bound(
    fresh, eth, token, vault, advance, funded, trader, other_trader, accounts
):
    """Σ paid − Σ received = insurance-fund funding delta, up to one wei per position (each
    position's charge rounds against it, the fund's delta rounds down)."""
    house = fresh
    crowd = [trader, other_trader, accounts[6], accounts[7]]
    for who in crowd[2:]:
        actions.fund(token, vault, who, 10_000 * 10**6)
    sizes = [3 * WAD + 7, -WAD - 3, 2 * WAD + 1, -(WAD // 3) - 11]
    for who, size in zip(crowd, sizes, strict=True):
        actions.trade(house, eth, who, 0, size, 2_000 * WAD)
    advance(HOUR)
    ev, _ = settle(house)
    assert ev["long_funding"] != 0
    paid = received = 0
    for who in crowd:
        owed = house.add_margin(0, 1, {"from": who}).events["MarginChanged"]["funding_paid"]
        paid += max(owed, 0)
        received += max(-owed, 0)
    gap = paid - received - ev["insurance_delta"]
    assert 0 <= gap <= len(crowd), gap


def test_funding__fund_cannot_pay__receiving_side_capped(
    fresh, eth, vault, feeds, advance, funded, trader, other_trader, owner
):
    house = fresh
    house.set_risk_params(
        0, WAD // 10, WAD // 16, WAD // 1000, 0, {"from": owner}
    )  # fees skip the fund
    assert vault.insurance_fund() == 0
    actions.trade(house, eth, trader, 0, WAD, 1_000 * WAD)
    actions.trade(house, eth, other_trader, 0, -20 * WAD, 10_000 * WAD)
    # the index falls below the mark: longs pay, the much larger short side should receive
    feeds[0].set_answer(1900 * 10**8, {"from": owner})
    advance(HOUR)
    ev, _ = settle(house)
    assert ev["long_funding"] > 0
    assert ev["short_funding"] < ev["long_funding"]  # capped
    assert ev["insurance_delta"] >= 0  # the empty fund paid nothing
    assert vault.insurance_fund() == ev["insurance_delta"]
    # shorts receive exactly what the single long pays, rounded down
    long_pays = model.position_funding(WAD, ev["long_funding"])
    shorts_get = -model.position_funding(-20 * WAD, ev["short_funding"])
    assert shorts_get <= long_pays


def test_pending_funding__equals_what_the_next_touch_charges(fresh, eth, advance, funded, trader):
    house = fresh
    actions.trade(house, eth, trader, 0, 3 * WAD, 2_000 * WAD)
    advance(HOUR)
    settle(house)
    pending = house.pending_funding(trader, 0)
    margin = house.position(trader, 0)["margin"]
    tx = actions.trade(house, eth, trader, 0, WAD, 500 * WAD)
    assert tx.events["PositionChanged"]["funding_paid"] == pending > 0
    assert house.position(trader, 0)["margin"] == margin - pending + 500 * WAD
    assert house.pending_funding(trader, 0) == 0


def test_funding__charge_above_margin_clamps_and_close_still_works(
    fresh, eth, feeds, advance, funded, trader, owner
):
    house = fresh
    actions.trade(house, eth, trader, 0, 100 * WAD, 21_000 * WAD)
    house.set_funding_params(0, HOUR, WAD // 100, 16 * HOUR, {"from": owner})  # clamp at 1 %/h
    feeds[0].set_answer(1500 * 10**8, {"from": owner})  # index far below the mark: longs pay 1 %/h
    advance(16 * HOUR, step=3000)
    settle(house)
    pending = house.pending_funding(trader, 0)
    assert pending > house.position(trader, 0)["margin"]  # funding exceeds what is left
    tx = actions.close(house, eth, trader, 0, slippage=0.5)
    changed = tx.events["PositionChanged"]
    assert changed["funding_paid"] == pending
    assert changed["bad_debt"] > 0
    assert house.position(trader, 0)["size"] == 0


def test_settle__after_the_feed_is_replaced__keeps_working(
    fresh, eth, oracle, advance, funded, trader, owner
):
    """Replacing a market's feed mid-interval keeps the index accumulator running."""
    from brownie import MockAggregator

    house = fresh
    actions.trade(house, eth, trader, 0, 3 * WAD, 2_000 * WAD)
    advance(HOUR // 2)
    replacement = MockAggregator.deploy(18, "ETH-USD v2", 2000 * WAD, {"from": owner})
    oracle.set_feed(0, replacement, 3600, WAD, 10**6 * WAD, {"from": owner})
    advance(HOUR // 2)
    replacement.set_answer(2000 * WAD, {"from": owner})
    ev, _ = settle(house)
    assert ev["index_twap"] == 2000 * WAD
    assert ev["charged_seconds"] == ev["elapsed"] and ev["long_funding"] > 0
