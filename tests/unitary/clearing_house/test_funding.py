"""Funding (modules/funding.vy): the settlement measures the rate, which is then charged per
valid index second until the next one; clamps, late settlements, invalid index stretches, the
one-block spike bound, conservation, the capped side when the insurance fund is small, and the
settlement of each position on its next touch.

Expected values come from the exact model (vperp.model) fed with chain inputs the ClearingHouse
does not compute: the TWAPs of the event, open interest, the oracle adapter's count of valid
seconds at a block, the insurance fund."""

from fractions import Fraction
from math import isqrt

import brownie
import pytest
from brownie import chain

from tests.conftest import WAD
from vperp import actions, chain_tools, model

HOUR = 3600


def settle(house, market_id=0, who=None):
    tx = house.settle_funding(market_id, {"from": who or house.owner()})
    return tx.events["FundingSettled"], tx


def valid_at(oracle, market_id, block):
    """The oracle adapter's Σ valid seconds at the end of `block`."""
    return oracle.cumulative(market_id, block_identifier=block)[1]


def market_model(house, eth, market_id=0):
    """The market's funding state as the model sees it (rate, clocks and indices)."""
    info = house.market(market_id)
    return model.MarketModel.from_chain(info, eth)


def expected_rate(house, ev, market_id=0):
    """(premium, rate, funding per hour) the settlement's TWAPs call for."""
    info = house.market(market_id)
    premium, rate = model.funding_rate(ev["mark_twap"], ev["index_twap"], info["max_funding_rate"])
    return premium, rate, model.mul_div_signed(rate, ev["index_twap"], WAD, False)


@pytest.fixture
def fresh(house, advance):
    """A settlement right now on both markets, so the next interval starts from a known clock."""
    advance(HOUR)
    settle(house)
    settle(house, 1)
    return house


@pytest.fixture
def charging(fresh, eth, advance, funded, trader, other_trader):
    """Longs 3 ETH, shorts 1 ETH, one hour measured: a positive rate is in force."""
    house = fresh
    actions.trade(house, eth, trader, 0, 3 * WAD, 2_000 * WAD)
    actions.trade(house, eth, other_trader, 0, -WAD, 1_000 * WAD)
    advance(HOUR)
    ev, tx = settle(house)
    assert ev["funding_per_hour"] > 0
    return house, ev, tx


def test_settle__measures_the_rate_over_the_interval(charging):
    house, ev, _ = charging
    premium, rate, per_hour = expected_rate(house, ev)
    assert ev["mark_twap"] > ev["index_twap"] == 2000 * WAD
    assert (ev["premium"], ev["rate"], ev["funding_per_hour"]) == (premium, rate, per_hour)
    assert ev["charged_seconds"] == ev["elapsed"]  # the index was valid all along
    assert house.market(0)["funding_per_hour"] == per_hour


def test_accrual__charges_the_rate_per_valid_second_and_the_fund_takes_the_imbalance(
    charging, eth, oracle, vault, advance, trader, other_trader
):
    house, first, first_tx = charging
    before = house.market(0)
    fund = vault.insurance_fund()
    advance(HOUR)
    ev, tx = settle(house)
    seconds = valid_at(oracle, 0, tx.block_number) - valid_at(oracle, 0, first_tx.block_number)
    assert seconds == ev["charged_seconds"] >= HOUR
    per_unit = model.mul_div_signed(first["funding_per_hour"], seconds, HOUR, False)
    long_f, short_f, delta = model.split_funding(per_unit, 3 * WAD, WAD, fund)
    after = house.market(0)
    assert after["cumulative_long_funding"] - before["cumulative_long_funding"] == long_f
    assert after["cumulative_short_funding"] - before["cumulative_short_funding"] == short_f
    assert ev["insurance_delta"] == delta > 0  # the vAMM is short the 2 ETH imbalance
    assert vault.insurance_fund() == fund + delta
    assert house.pending_funding(trader, 0) == model.position_funding(3 * WAD, long_f) > 0
    assert house.pending_funding(other_trader, 0) == model.position_funding(-WAD, short_f) < 0


def test_settle__negative_premium__shorts_pay(fresh, eth, advance, funded, trader):
    house = fresh
    actions.trade(house, eth, trader, 0, -3 * WAD, 2_000 * WAD)
    advance(HOUR)
    ev, _ = settle(house)
    assert ev["rate"] < 0 and ev["funding_per_hour"] < 0
    advance(HOUR)
    settle(house)
    assert house.pending_funding(trader, 0) > 0  # the short pays


def test_settle__clamped_at_max_rate(fresh, eth, advance, funded, trader):
    house = fresh
    actions.trade(house, eth, trader, 0, 150 * WAD, 50_000 * WAD)  # mark +3 %: premium/24 > 0.1 %
    advance(HOUR)
    ev, _ = settle(house)
    assert ev["premium"] // 24 > WAD // 1000
    assert ev["rate"] == WAD // 1000
    assert ev["funding_per_hour"] == ev["index_twap"] // 1000


def test_settle__too_early__reverts(fresh):
    with brownie.reverts("ch: funding period not elapsed"):
        fresh.settle_funding(0, {"from": fresh.owner()})


def test_settle__unknown_market__reverts(house):
    with brownie.reverts("ch: unknown market"):
        house.settle_funding(9, {"from": house.owner()})


def test_settle__permissionless(fresh, advance, keeper):
    advance(HOUR)
    fresh.settle_funding(0, {"from": keeper})


def test_late_settlement__charges_the_real_time_up_to_max_interval(
    charging, oracle, advance, vault
):
    house, first, first_tx = charging
    before = house.market(0)
    fund = vault.insurance_fund()
    advance(10 * HOUR, step=1800)
    ev, tx = settle(house)
    assert ev["elapsed"] >= 10 * HOUR
    seconds = valid_at(oracle, 0, tx.block_number) - valid_at(oracle, 0, first_tx.block_number)
    assert seconds >= 10 * HOUR
    per_unit = model.mul_div_signed(first["funding_per_hour"], 8 * HOUR, HOUR, False)  # the cap
    long_f, _, _ = model.split_funding(per_unit, 3 * WAD, WAD, fund)
    assert house.market(0)["cumulative_long_funding"] - before["cumulative_long_funding"] == long_f


def test_invalid_index__charges_nothing_while_invalid_and_resumes(
    charging, oracle, feeds, owner, vault
):
    """Nobody publishes for two hours: the 1 h heartbeat runs out, the stale stretch is neither
    charged nor measured, the rest is."""
    house, first, first_tx = charging
    before = house.market(0)
    fund = vault.insurance_fund()
    chain.sleep(2 * HOUR)
    feeds[0].set_answer(2000 * 10**8, {"from": owner})
    ev, tx = settle(house)
    seconds = valid_at(oracle, 0, tx.block_number) - valid_at(oracle, 0, first_tx.block_number)
    assert 0 < seconds < ev["elapsed"] - HOUR // 2  # at least the stale half hour is missing
    assert ev["charged_seconds"] == seconds
    per_unit = model.mul_div_signed(first["funding_per_hour"], seconds, HOUR, False)
    long_f, _, _ = model.split_funding(per_unit, 3 * WAD, WAD, fund)
    assert house.market(0)["cumulative_long_funding"] - before["cumulative_long_funding"] == long_f
    assert ev["index_twap"] == 2000 * WAD  # measured over the valid seconds only


def test_invalid_index_now__settlement_still_charges_the_valid_seconds(
    charging, eth, feeds, advance, owner
):
    house, first, _ = charging
    before = house.market(0)
    advance(HOUR)
    feeds[0].set_answer(0, {"from": owner})  # a broken round, published now
    ev, _ = settle(house)
    assert ev["charged_seconds"] > 0
    assert house.market(0)["cumulative_long_funding"] > before["cumulative_long_funding"]


def test_settle__one_block_spike_moves_rate_by_at_most_spike_times_block_over_period(
    fresh, eth, advance, funded, trader, owner
):
    """The mark jumps for one block and comes back: it enters the TWAP for that block only."""
    house = fresh
    index = 2000 * WAD
    base_mark = eth.mark_price()
    assert base_mark == index
    up = actions.trade(house, eth, trader, 0, 300 * WAD, 90_000 * WAD)
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
    """Σ paid − Σ received = insurance-fund funding deltas, up to one wei per position
    settlement (each position's charge rounds against it, the fund's delta rounds down)."""
    house = fresh
    crowd = [trader, other_trader, accounts[6], accounts[7]]
    for who in crowd[2:]:
        actions.fund(token, vault, who, 10_000 * 10**6)
    sizes = [3 * WAD + 7, -WAD - 3, 2 * WAD + 1, -(WAD // 3) - 11]
    for who, size in zip(crowd, sizes, strict=True):
        actions.trade(house, eth, who, 0, size, 2_000 * WAD)
    advance(HOUR)
    settle(house)
    fund = vault.insurance_fund()
    advance(HOUR)
    settle(house)
    paid = received = 0
    for who in crowd:
        owed = house.add_margin(0, 1, {"from": who}).events["MarginChanged"]["funding_paid"]
        paid += max(owed, 0)
        received += max(-owed, 0)
    assert paid > 0 and received > 0
    # every insurance movement since `fund` is funding: the add-margin touches accrue too
    gap = paid - received - (vault.insurance_fund() - fund)
    assert 0 <= gap <= len(crowd) + 2 * 6, gap  # positions + the accruals on the way


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
    settle(house)
    before = house.market(0)
    advance(HOUR)
    ev, _ = settle(house)
    after = house.market(0)
    long_f = after["cumulative_long_funding"] - before["cumulative_long_funding"]
    short_f = after["cumulative_short_funding"] - before["cumulative_short_funding"]
    assert long_f > 0
    assert short_f < long_f  # capped
    assert ev["insurance_delta"] >= 0  # the empty fund paid nothing
    assert vault.insurance_fund() == ev["insurance_delta"]
    # shorts receive at most what the single long pays
    long_pays = model.position_funding(WAD, long_f)
    shorts_get = -model.position_funding(-20 * WAD, short_f)
    assert shorts_get <= long_pays


def test_touch__charges_exactly_the_valid_seconds_since_the_last_accrual(
    charging, eth, oracle, vault, funded, trader
):
    """A trade settles the position's funding up to its own block: the model, fed with the
    adapter's valid seconds at that block, gives the same charge."""
    house, first, first_tx = charging
    # no rate was in force before: the position's index is the market's index now
    assert house.pending_funding(trader, 0) == 0
    index0 = house.market(0)["cumulative_long_funding"]
    margin = house.position(trader, 0)["margin"]
    fund = vault.insurance_fund()
    chain.sleep(600)
    chain.mine()  # the chain's clock (deadlines count from the latest block) moves on too
    tx = actions.trade(house, eth, trader, 0, WAD, 500 * WAD)
    seconds = valid_at(oracle, 0, tx.block_number) - valid_at(oracle, 0, first_tx.block_number)
    per_unit = model.mul_div_signed(first["funding_per_hour"], seconds, HOUR, False)
    long_f, _, _ = model.split_funding(per_unit, 3 * WAD, WAD, fund)
    owed = model.position_funding(3 * WAD, index0 + long_f - index0)
    assert tx.events["PositionChanged"]["funding_paid"] == owed > 0
    assert house.position(trader, 0)["margin"] == margin - owed + 500 * WAD
    assert house.pending_funding(trader, 0) == 0


def test_settle__after_the_feed_is_replaced__keeps_working(charging, eth, oracle, advance, owner):
    """Replacing a market's feed mid-interval keeps the index accumulator running."""
    from brownie import MockAggregator

    house, _, _ = charging
    advance(HOUR // 2)
    replacement = MockAggregator.deploy(18, "ETH-USD v2", 2000 * WAD, {"from": owner})
    oracle.set_feed(0, replacement, 3600, WAD, 10**6 * WAD, {"from": owner})
    advance(HOUR // 2)
    ev, _ = settle(house)
    assert ev["index_twap"] == 2000 * WAD
    assert ev["charged_seconds"] == ev["elapsed"] and ev["funding_per_hour"] > 0


@pytest.fixture
def indebted_long(fresh, eth, token, vault, advance, accounts, funded, trader, owner):
    """Case 4: a 10 ETH long with 2,100 margin; others long 990 ETH so the mark is ~23 % above
    an index that stays at 2,000; hourly settlements at a 1 %/h clamp until the long owes more
    funding than its margin."""
    house = fresh
    house.set_caps(0, 2000 * WAD, 1000 * WAD, 10 * WAD, {"from": owner})
    house.set_oracle_band(0, WAD // 2, {"from": owner})
    house.set_funding_params(0, HOUR, WAD // 100, 8 * HOUR, {"from": owner})
    actions.trade(house, eth, trader, 0, 10 * WAD, 2_100 * WAD)
    crowd = accounts[6]
    actions.fund(token, vault, crowd, 2_000_000 * 10**6)
    for _ in range(3):
        chain.mine()
        actions.trade(house, eth, crowd, 0, 330 * WAD, 600_000 * WAD, slippage=0.3)
    assert eth.mark_price() > 2400 * WAD
    index0 = house.market(0)["cumulative_long_funding"]
    while house.pending_funding(trader, 0) <= 2_100 * WAD:
        advance(HOUR, step=1800)
        settle(house)
    return house, index0


def _payout_of_a_close(eth, size, open_notional, fee_rate):
    """(quote received selling `size` now, fee) from x·y=k with quote = ⌈k / base⌉."""
    base, quote = eth.reserves()
    received = quote - -(-eth.k() // (base + size))
    return received, -(-received * fee_rate // WAD)


def test_close__funding_owed_beyond_the_margin_nets_against_realised_pnl(
    indebted_long, eth, vault, trader
):
    """The long owes more funding than its margin but its realised PnL covers it: the close
    pays margin + PnL − funding − fee, with no bad debt; the fund gets only its fee share."""
    house, index0 = indebted_long
    p = house.position(trader, 0)
    free, fund = vault.free_collateral(trader), vault.insurance_fund()
    received, fee = _payout_of_a_close(eth, 10 * WAD, p["open_notional"], WAD // 1000)
    tx = actions.close(house, eth, trader, 0, slippage=0.1)
    ev = tx.events["PositionChanged"]
    index = house.market(0)["cumulative_long_funding"]
    owed = model.position_funding(10 * WAD, index - index0)
    assert ev["funding_paid"] == owed > p["margin"]
    assert ev["bad_debt"] == 0 and "BadDebt" not in tx.events
    realised = received - p["open_notional"]
    print(
        f"\nclose with funding owed {owed / WAD:,.2f} > margin {p['margin'] / WAD:,.2f}: paid "
        f"{(vault.free_collateral(trader) - free) / WAD:,.2f}, no bad debt"
    )
    assert vault.free_collateral(trader) - free == p["margin"] + realised - owed - fee
    # the fund moved by the fee share and the funding accrued at this touch, nothing else
    accrued = tx.events["LedgersMoved"]["insurance_delta"] - fee // 2
    assert vault.insurance_fund() - fund == fee // 2 + accrued
    assert accrued >= 0


def test_add_margin__nets_the_funding_owed_first(indebted_long, vault, trader):
    house, index0 = indebted_long
    p = house.position(trader, 0)
    tx = house.add_margin(0, 1_000 * WAD, {"from": trader})
    index = house.market(0)["cumulative_long_funding"]
    owed = model.position_funding(10 * WAD, index - index0)
    assert tx.events["MarginChanged"]["funding_paid"] == owed
    assert house.position(trader, 0)["margin"] == p["margin"] + 1_000 * WAD - owed
    assert "BadDebt" not in tx.events


def test_funding__a_position_earns_only_for_the_time_it_was_open(
    fresh, eth, token, vault, advance, accounts, funded, trader, owner, oracle
):
    """Case 6: longs hold 800 ETH and the settlement is 8 h late. A short of 450 ETH opened 2 s
    before `settle_funding` and closed 2 s after receives only those seconds of funding, and
    loses its fees."""
    house = fresh
    house.set_caps(0, 2000 * WAD, 500 * WAD, 10 * WAD, {"from": owner})
    house.set_oracle_band(0, WAD // 2, {"from": owner})
    longs = accounts[6:8]
    for who in longs:
        actions.fund(token, vault, who, 1_000_000 * 10**6)
        chain.mine()
        actions.trade(house, eth, who, 0, 400 * WAD, 400_000 * WAD, slippage=0.3)
    advance(HOUR)
    first, _ = settle(house)
    assert first["funding_per_hour"] > 0
    advance(8 * HOUR - 2, step=1800)
    actions.fund(token, vault, trader, 900_000 * 10**6)
    before = vault.free_collateral(trader)
    opened = actions.trade(house, eth, trader, 0, -450 * WAD, 300_000 * WAD, slippage=0.3)
    chain.sleep(2)
    settle(house)
    chain.sleep(2)
    closed = actions.close(house, eth, trader, 0, slippage=0.3)
    received = -closed.events["PositionChanged"]["funding_paid"]
    seconds = valid_at(oracle, 0, closed.block_number) - valid_at(oracle, 0, opened.block_number)
    assert seconds <= closed.timestamp - opened.timestamp < 60
    # at most the rates in force over those seconds (the new one is no larger than the clamp)
    per_hour = max(first["funding_per_hour"], house.market(0)["funding_per_hour"])
    net = vault.free_collateral(trader) - before
    print(
        f"\nshort open {closed.timestamp - opened.timestamp} s around an 8 h late settlement: "
        f"funding received {received / WAD:,.4f}, net {net / WAD:,.2f}"
    )
    assert 0 <= received <= 450 * per_hour * seconds // HOUR + 1
    assert vault.free_collateral(trader) < before


def _pokes_after_rounds(deployment, keeper, seconds, after=300):
    """`seconds` pass; the feeds publish every heartbeat; the keeper pokes every 10 minutes,
    `after` seconds past each round (as a cron job offset from the feed would)."""
    last = deployment.publishers[0].last_round().updated_at
    offset = (last + after - chain_tools.now()) % 600
    chain_tools.advance(deployment, seconds, keeper, poke_every=600, poke_offset=offset)


@pytest.fixture
def mark_2170(deployment, house, eth, token, vault, trader, keeper):
    """Mark ~2,170 (a long of ~400 ETH) while the index stays at 2,000: the premium (8.5 %) /
    24 is above the 0.1 %/h clamp, so the rate in force is 0.1 % × 2,000 = 2.0 per ETH per hour.
    One settlement has measured it."""
    actions.fund(token, vault, trader, 200_000 * 10**6)
    base, _ = eth.reserves()
    size = base - isqrt(eth.k() * WAD // (2170 * WAD))
    actions.trade(house, eth, trader, 0, size, 150_000 * WAD, slippage=0.2)
    _pokes_after_rounds(deployment, keeper, HOUR)
    ev, _ = settle(house)
    assert ev["funding_per_hour"] == 2 * WAD  # 0.1 % of 2,000, exactly
    return size


def test_heartbeat_feed__each_hourly_settlement_charges_the_whole_hour(
    deployment, house, mark_2170, oracle, keeper
):
    """Case 5: the feed publishes exactly every 3,600 s, the keeper pokes every 600 s, 300 s
    after each round. Every second stays valid: each settlement measures over the whole
    interval and the longs pay 2.0 per ETH per hour, to the wei."""
    size = mark_2170
    for _ in range(3):
        before = house.market(0)["cumulative_long_funding"]
        _pokes_after_rounds(deployment, keeper, HOUR)
        ev, _ = settle(house)
        assert ev["charged_seconds"] == ev["elapsed"] >= HOUR
        assert ev["index_twap"] == 2000 * WAD and ev["funding_per_hour"] == 2 * WAD
        moved = house.market(0)["cumulative_long_funding"] - before
        # no shorts: the longs pay per unit exactly what the rate says, the fund receives it
        assert moved == 2 * WAD * ev["elapsed"] // HOUR
        assert ev["insurance_delta"] == moved * size // WAD


def test_heartbeat_feed__a_late_round_frees_only_its_own_gap(
    deployment, house, mark_2170, publishers, keeper, monkeypatch
):
    """A round published 10 minutes late inside a 3-hour unsettled interval: exactly those
    600 seconds are neither charged nor measured; the rest of the 3 hours is."""
    size = mark_2170
    before = house.market(0)["cumulative_long_funding"]
    due = publishers[0].next_heartbeat()
    # the oracle network misses its heartbeat: no rounds until 600 s after it was due
    from vperp.feeds import Publishers

    monkeypatch.setattr(deployment, "publishers", Publishers([]))
    chain_tools.advance(deployment, due + 600 - chain_tools.now(), keeper, poke_every=600)
    publishers[0].publish(chain_tools.now())
    monkeypatch.undo()
    _pokes_after_rounds(deployment, keeper, 3 * HOUR - (chain_tools.now() - due) - 600)
    ev, _ = settle(house)
    assert ev["elapsed"] >= 3 * HOUR
    assert ev["charged_seconds"] == ev["elapsed"] - 600
    assert ev["index_twap"] == 2000 * WAD
    moved = house.market(0)["cumulative_long_funding"] - before
    assert moved == 2 * WAD * (ev["elapsed"] - 600) // HOUR
    assert ev["insurance_delta"] == moved * size // WAD
