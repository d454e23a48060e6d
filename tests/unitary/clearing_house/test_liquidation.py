"""liquidate: who can be liquidated, how much is closed, who gets what, and bad debt."""

import brownie
import pytest
from brownie import chain

from tests.conftest import USDC, WAD
from tests.liquidation_helpers import crash, market_model, push_mark, set_index
from vperp import actions, model
from vperp.chain_tools import send_in_one_block

SIZE = 10 * WAD  # the trader's long: 10 ETH at ~2,000 with 2,100 margin (9.5x)
MARGIN = 2100 * WAD
# with it: below maintenance under ~1,909, below the penalty ratio under ~1,836, bankrupt ~1,790


@pytest.fixture
def pusher(house, token, vault, other_trader, owner):
    """`other_trader`, funded and allowed to hold the large short that moves the vAMM."""
    house.set_caps(0, 9_999 * WAD, 9_999 * WAD, 10 * WAD, {"from": owner})
    actions.fund(token, vault, other_trader, 1_000_000 * USDC)
    return other_trader


@pytest.fixture
def long10(house, eth, funded, trader, pusher):
    actions.trade(house, eth, trader, 0, SIZE, MARGIN)
    return trader


def _liquidate_as_model(house, eth, oracle, vault, trader, pusher, liquidator):
    """Liquidate on chain and in the model; both must agree to the wei."""
    m = market_model(house, eth, 0, [trader, pusher])
    expected = model.liquidate(m, str(trader), oracle.price(0)[0], vault.insurance_fund())
    tx = house.liquidate(trader, 0, {"from": liquidator})
    ev = tx.events["Liquidated"]
    assert (ev["base_closed"], ev["quote_amount"], ev["realised_pnl"]) == (
        expected.closed,
        expected.quote,
        expected.realised,
    )
    assert (ev["penalty"], ev["reward"], ev["bad_debt"]) == (
        expected.penalty,
        expected.reward,
        expected.bad_debt,
    )
    p = house.position(trader, 0)
    mp = m.position(str(trader))
    assert (p["size"], p["open_notional"], p["margin"]) == (mp.size, mp.open_notional, mp.margin)
    return tx, expected, m


def test_liquidate__healthy__reverts(house, long10, liquidator):
    with brownie.reverts("ch: position is not liquidatable"):
        house.liquidate(long10, 0, {"from": liquidator})


def test_liquidate__no_position__reverts(house, funded, trader, liquidator):
    with brownie.reverts("ch: no position"):
        house.liquidate(trader, 0, {"from": liquidator})


def test_liquidate__unknown_market__reverts(house, trader, liquidator):
    with brownie.reverts("ch: unknown market"):
        house.liquidate(trader, 7, {"from": liquidator})


def test_liquidate__oracle_drop_alone__reverts(house, publishers, long10, liquidator):
    """The vAMM still values the long well: the valuation more favourable to the trader counts."""
    set_index(publishers[0], 1500 * WAD)
    with brownie.reverts("ch: position is not liquidatable"):
        house.liquidate(long10, 0, {"from": liquidator})


def test_liquidate__vamm_push_alone__reverts(house, eth, long10, other_trader, liquidator):
    push_mark(house, eth, other_trader, 0, 1850 * WAD)
    with brownie.reverts("ch: position is not liquidatable"):
        house.liquidate(long10, 0, {"from": liquidator})


def test_liquidate__invalid_oracle__reverts(
    house, eth, feeds, publishers, long10, other_trader, liquidator
):
    crash(house, eth, publishers[0], other_trader, 0, 1850 * WAD)
    feeds[0].set_broken(True, {"from": other_trader})
    with brownie.reverts("oracle: feed call failed"):
        house.liquidate(long10, 0, {"from": liquidator})
    feeds[0].set_broken(False, {"from": other_trader})
    house.liquidate(long10, 0, {"from": liquidator})


def test_liquidate__exactly_at_maintenance__not_liquidatable_one_tick_lower_is(
    house, eth, publishers, vault, long10, other_trader, liquidator, advance
):
    """Oracle valuation exactly at 6.25 % (the vAMM's is lower): not liquidatable. One feed tick
    (1e-8) lower: liquidatable, once the feed publishes it (a tick is far below the deviation
    threshold: at the next heartbeat)."""
    push_mark(house, eth, other_trader, 0, 1880 * WAD)
    index = 1900 * WAD
    set_index(publishers[0], index)
    p = house.position(long10, 0)
    notional = SIZE * index // WAD
    # margin + notional − open notional = 6.25 % · notional
    target_margin = notional // 16 + p["open_notional"] - notional
    assert target_margin > p["margin"]
    house.add_margin(0, target_margin - p["margin"], {"from": long10})
    with brownie.reverts("ch: position is not liquidatable"):
        house.liquidate(long10, 0, {"from": liquidator})
    publisher = publishers[0]
    assert publisher.set_price(index - 10**10) is None
    with brownie.reverts("ch: position is not liquidatable"):
        house.liquidate(long10, 0, {"from": liquidator})
    advance(publisher.heartbeat)
    assert publisher.last_round().answer == (index - 10**10) // 10**10
    tx = house.liquidate(long10, 0, {"from": liquidator})
    assert tx.events["Liquidated"]["size"] > 0  # far above the penalty ratio: partial


def test_liquidate__partial__back_above_maintenance(
    house, eth, publishers, vault, oracle, lens, long10, other_trader, liquidator
):
    crash(house, eth, publishers[0], other_trader, 0, 1900 * WAD)
    assert lens.positions(0, [long10])[0]["liquidatable"]
    insurance = vault.insurance_fund()
    tx, expected, m = _liquidate_as_model(
        house, eth, oracle, vault, long10, other_trader, liquidator
    )
    ev = tx.events["Liquidated"]
    assert 0 < ev["size"] < SIZE  # partial
    assert ev["bad_debt"] == 0
    # the caller gets half the penalty (rounded down), the insurance fund the rest
    assert ev["reward"] == ev["penalty"] // 2
    assert vault.free_collateral(liquidator) == ev["reward"]
    assert vault.insurance_fund() == insurance + ev["penalty"] - ev["reward"]
    # the rest of the position is back above maintenance and no longer liquidatable
    row = lens.positions(0, [long10])[0]
    assert not row["liquidatable"]
    assert not model.is_liquidatable(m, m.position(str(long10)), oracle.price(0)[0])
    with brownie.reverts("ch: position is not liquidatable"):
        house.liquidate(long10, 0, {"from": liquidator})


def test_liquidate__partial_that_would_leave_the_rest_below_target__is_full(
    house, eth, publishers, vault, oracle, lens, token, trader, pusher, liquidator
):
    """A 0.01 ETH long (~20 quote) just under maintenance: closing the slice the ratio calls
    for would cost the 1-quote keeper floor, far more than 2.5 % of it, and leave the rest below
    maintenance + buffer (it would be liquidated again next block, floor again). A partial
    liquidation must leave the rest at or above maintenance + buffer at both valuations, or be
    full: here it is full, with one floor reward."""
    actions.fund(token, vault, trader, 100 * USDC)
    size = WAD // 100
    paid = eth.quote_for(size)
    actions.trade(house, eth, trader, 0, size, paid // 9)
    price = 2000 * WAD
    while not lens.positions(0, [trader])[0]["liquidatable"]:
        price = price * 99 // 100
        crash(house, eth, publishers[0], pusher, 0, price)
        chain.mine()
    row = lens.positions(0, [trader])[0]
    assert row["margin_ratio"] > WAD * 25 // 1000  # above the penalty ratio: a partial case
    tx, expected, _ = _liquidate_as_model(house, eth, oracle, vault, trader, pusher, liquidator)
    ev = tx.events["Liquidated"]
    assert ev["size"] == 0 and -ev["base_closed"] == size  # full
    assert ev["reward"] == house.market(0)["keeper_reward_floor"]
    chain.mine()
    with brownie.reverts("ch: no position"):
        house.liquidate(trader, 0, {"from": liquidator})


def test_liquidate__below_penalty_ratio__full(
    house, eth, publishers, vault, oracle, long10, other_trader, liquidator
):
    crash(house, eth, publishers[0], other_trader, 0, 1820 * WAD)
    free = vault.free_collateral(long10)
    tx, expected, _ = _liquidate_as_model(
        house, eth, oracle, vault, long10, other_trader, liquidator
    )
    assert tx.events["Liquidated"]["size"] == 0
    assert house.position(long10, 0)["margin"] == 0
    # whatever the penalty leaves of the margin goes back to the trader (below the penalty
    # ratio the penalty usually takes it all)
    assert vault.free_collateral(long10) == free + expected.free_delta
    assert expected.penalty > 0
    assert house.market(0)["long_open_interest"] == 0


def test_liquidate__reward_floor__dust_position(
    house, eth, publishers, vault, oracle, token, trader, other_trader, pusher, liquidator
):
    """A position at the minimum notional: its penalty is below the keeper reward floor, which
    the trader's margin pays as far as it can and the insurance fund tops up."""
    actions.fund(token, vault, trader, 10 * USDC)
    actions.trade(house, eth, trader, 0, 6 * WAD // 1000, 13 * WAD // 10)  # ~12 quote
    crash(house, eth, publishers[0], other_trader, 0, 1750 * WAD)
    floor = house.market(0)["keeper_reward_floor"]
    assert floor == WAD
    insurance = vault.insurance_fund()
    tx, expected, _ = _liquidate_as_model(
        house, eth, oracle, vault, trader, other_trader, liquidator
    )
    ev = tx.events["Liquidated"]
    assert ev["reward"] == floor and ev["penalty"] < floor
    assert vault.free_collateral(liquidator) == floor
    assert vault.insurance_fund() == insurance - (floor - ev["penalty"]) - expected.covered


def test_liquidate__bad_debt__paid_by_the_insurance_fund(
    house, eth, publishers, vault, oracle, long10, other_trader, liquidator
):
    crash(house, eth, publishers[0], other_trader, 0, 1770 * WAD)
    insurance = vault.insurance_fund()
    tx, expected, _ = _liquidate_as_model(
        house, eth, oracle, vault, long10, other_trader, liquidator
    )
    debt = tx.events["BadDebt"]
    assert 0 < debt["amount"] == expected.bad_debt == debt["covered_by_insurance"]
    assert debt["socialised"] == debt["shortfall"] == 0
    assert vault.insurance_fund() == insurance + expected.insurance_delta
    assert house.market(0)["reduce_only"] is False


def test_liquidate__fund_exhausted__reduce_only_recorded_and_socialised(
    house, eth, publishers, vault, oracle, long10, other_trader, liquidator
):
    """Bad debt beyond the fund: the fund pays what it holds, the market turns reduce-only, the
    rest is recorded and socialised over the open positions through both funding indices."""
    crash(house, eth, publishers[0], other_trader, 0, 1600 * WAD)
    insurance = vault.insurance_fund()
    before = house.market(0)
    tx, expected, m = _liquidate_as_model(
        house, eth, oracle, vault, long10, other_trader, liquidator
    )
    debt = tx.events["BadDebt"]
    uncovered = debt["amount"] - debt["covered_by_insurance"]
    # the fund first tops the keeper up to its reward, then pays what it has left
    assert debt["covered_by_insurance"] == expected.covered == insurance - expected.reward
    assert uncovered > 0 and debt["socialised"] == uncovered and debt["shortfall"] == 0
    assert vault.insurance_fund() == 0
    after = house.market(0)
    assert after["reduce_only"] is True
    assert after["shortfall"] == uncovered and after["outstanding_shortfall"] == 0
    per_unit = after["cumulative_long_funding"] - before["cumulative_long_funding"]
    assert before["cumulative_short_funding"] - after["cumulative_short_funding"] == per_unit
    assert per_unit == model.mul_div(uncovered, WAD, after["short_open_interest"], True)
    # the open short pays its share when next touched; at least the whole uncovered amount
    owed = house.pending_funding(other_trader, 0)
    assert owed == model.mul_div(per_unit, after["short_open_interest"], WAD, True) >= uncovered
    with brownie.reverts("ch: market is reduce-only"):
        actions.trade(house, eth, other_trader, 0, -WAD, 500 * WAD)
    actions.close(house, eth, other_trader, 0, slippage=0.3)


def test_liquidate__paused_market__still_liquidates(
    house, eth, publishers, vault, long10, other_trader, liquidator, guardian
):
    crash(house, eth, publishers[0], other_trader, 0, 1850 * WAD)
    house.set_paused(0, True, {"from": guardian})
    house.add_margin(0, WAD, {"from": long10})  # add-margin is never blocked
    house.liquidate(long10, 0, {"from": liquidator})
    assert 0 < house.position(long10, 0)["size"] < SIZE


def test_liquidate__same_block__trader_cannot_trade_that_market(
    house, eth, btc, publishers, long10, other_trader, liquidator
):
    """After a liquidation the trader cannot open or close in that market in the same block (its
    other markets, and add-margin, stay open); the next block it can."""
    crash(house, eth, publishers[0], other_trader, 0, 1900 * WAD)
    limit = actions.quote_limit(eth, -WAD, 0.3)
    pending = {"required_confs": 0, "gas_limit": 1_000_000}
    liq, close, margin = send_in_one_block(
        lambda: house.liquidate(long10, 0, {"from": liquidator, **pending}),
        lambda: house.open_position(
            0, -WAD, 0, limit, actions.deadline(), {"from": long10, **pending}
        ),
        lambda: house.add_margin(0, WAD, {"from": long10, **pending}),
    )
    assert liq.status == 1 and margin.status == 1
    assert close.status == 0 and close.revert_msg == "ch: liquidated in this block"
    assert liq.block_number == close.block_number == margin.block_number
    chain.mine()
    actions.close(house, eth, long10, 0, slippage=0.3)


def test_liquidate__crosses_the_price_move_limit_once_per_block(
    house, eth, publishers, token, vault, accounts, pusher, liquidator
):
    """Two big longs liquidated in one block: the first may push the price beyond the per-block
    limit, the second may not go further (it would also fill too far from the oracle price): a
    keeper retries in the next block, once spot has followed."""
    victims = accounts[6:8]
    for v in victims:
        actions.fund(token, vault, v, 200_000 * 10**6)
        publishers[0].set_price(eth.mark_price())  # spot is where the vAMM is
        actions.trade(house, eth, v, 0, 200 * WAD, 55_000 * WAD, slippage=0.3)
        chain.mine()
    crash(house, eth, publishers[0], pusher, 0, 1750 * WAD)
    eth.set_limits(WAD // 100, WAD // 10, {"from": accounts[0]})
    pending = {"from": liquidator, "required_confs": 0, "gas_limit": 1_000_000}
    first, second = send_in_one_block(
        lambda: house.liquidate(victims[0], 0, pending),
        lambda: house.liquidate(victims[1], 0, pending),
    )
    assert first.status == 1
    assert second.status == 0
    assert second.revert_msg in (
        "vamm: price move limit already crossed by a liquidation in this block",
        "ch: liquidation would fill too far from the oracle price",
    )
    chain.mine()
    publishers[0].set_price(eth.mark_price())
    house.liquidate(victims[1], 0, {"from": liquidator})


def test_liquidate__rest_below_minimum_notional__closes_everything(
    house, eth, publishers, vault, oracle, token, trader, pusher, liquidator
):
    """A position of ~15 quote (the minimum is 10) in the partial range: a partial liquidation
    would leave dust, so the whole position closes."""
    actions.fund(token, vault, trader, 10 * USDC)
    actions.trade(house, eth, trader, 0, 75 * WAD // 10_000, 16 * WAD // 10)
    crash(house, eth, publishers[0], pusher, 0, 1890 * WAD)
    tx, expected, _ = _liquidate_as_model(house, eth, oracle, vault, trader, pusher, liquidator)
    assert tx.events["Liquidated"]["size"] == 0


def test_liquidation_math__rounds_in_the_protocols_favour():
    """Each liquidation formula's rounding, on numbers that do not divide evenly (the contract
    computes the same integers: every liquidation above is compared with the model)."""
    # the base closed rounds up: more is closed, the rest is safer
    size_abs, value, notional = 7 * WAD + 1, 500 * WAD, 10_000 * WAD
    target, penalty = 83 * WAD // 1000, WAD // 40
    num, den = target * notional - value * WAD, (target - penalty) * notional
    amount = model.partial_amount(size_abs, value, notional, target, penalty)
    assert size_abs * num % den != 0
    assert (amount - 1) * den < size_abs * num <= amount * den
    # the penalty rounds up, the caller's share down
    assert model.mul_div(1001, WAD // 40, WAD, True) == 26  # 25.025 → 26
    assert model.mul_div(25, WAD // 2, WAD, False) == 12  # 12.5 → 12
    # socialised bad debt: per unit rounds up, each position's share rounds up
    m = model.MarketModel(
        vamm=model.VammModel(100 * WAD, 200_000 * WAD), imr=0, mmr=0, fee_rate=0, insurance_share=0
    )
    m.positions["a"] = model.PositionModel(size=3 * WAD)
    covered, socialised = model.cover_bad_debt(m, 10, 0)
    assert (covered, m.cum_long, m.cum_short) == (0, 4, -4)  # ⌈10 / 3⌉ per unit (of 1e18)
    assert model.position_funding(3 * WAD, m.cum_long) >= 10
    # the oracle notional of a long rounds down, of a short up
    assert model.valuations(0, 3, 0, 0, WAD // 2)[2] == 1
    assert model.valuations(0, -3, 0, 0, WAD // 2)[2] == 2
