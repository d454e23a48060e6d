"""Opening, increasing, reducing, flipping: accounting, fees, rounding and every bad input."""

from math import isqrt

import brownie
import pytest
from brownie import chain

from tests.conftest import USDC, WAD
from vperp import actions


def snapshot(house, vault, eth, trader, market=0):
    """Everything a failed call must leave unchanged."""
    return (
        tuple(house.position(trader, market)),
        vault.free_collateral(trader),
        vault.insurance_fund(),
        vault.fee_pool(),
        vault.counterparty_balance(),
        tuple(eth.reserves()),
        tuple(house.market(market)),
    )


def test_open_long__records_position_and_moves_margin_and_fee(house, vault, eth, funded, trader):
    quote = eth.quote_for(WAD)
    tx = actions.trade(house, eth, trader, 0, WAD, 300 * WAD)
    fee = -(-quote // 1000)  # 0.1 %, rounded up
    p = house.position(trader, 0)
    assert p["size"] == WAD and p["open_notional"] == quote and p["margin"] == 300 * WAD
    assert vault.free_collateral(trader) == 100_000 * WAD - 300 * WAD - fee
    assert vault.total_margin() == 300 * WAD
    assert vault.insurance_fund() + vault.fee_pool() == fee
    assert vault.insurance_fund() == fee // 2  # the insurance share rounds down inside the fee
    ev = tx.events["PositionChanged"]
    assert (ev["trader"], ev["market"], ev["size"], ev["margin"], ev["fee"]) == (
        trader,
        0,
        WAD,
        300 * WAD,
        fee,
    )


def test_open_short__negative_size(house, eth, funded, trader):
    quote = eth.quote_for(-WAD)
    actions.trade(house, eth, trader, 0, -WAD, 300 * WAD)
    p = house.position(trader, 0)
    assert p["size"] == -WAD and p["open_notional"] == quote


def test_increase__adds_size_notional_and_margin(house, eth, funded, trader):
    actions.trade(house, eth, trader, 0, WAD, 300 * WAD)
    first = house.position(trader, 0)["open_notional"]
    quote = eth.quote_for(WAD)
    actions.trade(house, eth, trader, 0, WAD, 300 * WAD)
    p = house.position(trader, 0)
    assert p["size"] == 2 * WAD and p["open_notional"] == first + quote and p["margin"] == 600 * WAD


def test_reduce__realises_pnl_into_margin_and_keeps_the_rest_open(
    house, vault, eth, funded, trader, other_trader
):
    actions.trade(house, eth, trader, 0, 2 * WAD, 500 * WAD)
    actions.trade(house, eth, other_trader, 0, 3 * WAD, 1000 * WAD)  # pushes the price up
    p0 = house.position(trader, 0)
    quote = eth.quote_for(-WAD)
    tx = actions.trade(house, eth, trader, 0, -WAD)
    released = -(-p0["open_notional"] // 2)  # a long's released cost rounds up
    pnl = quote - released
    fee = -(-quote // 1000)
    p = house.position(trader, 0)
    assert pnl > 0
    assert p["size"] == WAD
    assert p["open_notional"] == p0["open_notional"] - released
    assert p["margin"] == 500 * WAD + pnl - fee
    assert tx.events["PositionChanged"]["realised_pnl"] == pnl


def test_reduce__with_margin__reverts(house, eth, funded, trader):
    actions.trade(house, eth, trader, 0, WAD, 300 * WAD)
    limit = actions.quote_limit(eth, -WAD // 2)
    with brownie.reverts("ch: margin only with an opening trade"):
        house.open_position(0, -WAD // 2, WAD, limit, actions.deadline(), {"from": trader})


def test_flip__closes_then_opens_the_other_side(house, vault, eth, funded, trader):
    actions.trade(house, eth, trader, 0, WAD, 300 * WAD)
    free_before = vault.free_collateral(trader)
    actions.trade(house, eth, trader, 0, -3 * WAD, 700 * WAD)
    p = house.position(trader, 0)
    assert p["size"] == -2 * WAD
    assert p["margin"] == 700 * WAD
    # the old margin (minus loss and fees) came back, the new margin left
    assert (
        free_before - 700 * WAD
        < vault.free_collateral(trader)
        < free_before - 700 * WAD + 300 * WAD
    )


def test_round_trip__returns_at_most_deposit_minus_fees(house, vault, eth, funded, trader):
    before = vault.free_collateral(trader)
    open_quote = eth.quote_for(5 * WAD)
    actions.trade(house, eth, trader, 0, 5 * WAD, 2_000 * WAD)
    close_quote = eth.quote_for(-5 * WAD)
    actions.close(house, eth, trader, 0)
    fees = -(-open_quote // 1000) + -(-close_quote // 1000)
    assert vault.free_collateral(trader) <= before - fees
    assert house.position(trader, 0)["size"] == 0


def test_close__returns_margin_plus_pnl_minus_fee(house, vault, eth, funded, trader, other_trader):
    actions.trade(house, eth, trader, 0, -2 * WAD, 500 * WAD)
    actions.trade(house, eth, other_trader, 0, -3 * WAD, 1000 * WAD)  # price down: short wins
    p = house.position(trader, 0)
    free = vault.free_collateral(trader)
    cost = eth.quote_for(2 * WAD)
    actions.close(house, eth, trader, 0)
    pnl = p["open_notional"] - cost
    assert pnl > 0
    assert vault.free_collateral(trader) == free + 500 * WAD + pnl - (-(-cost // 1000))
    assert tuple(house.position(trader, 0)) == (0,) * 7


def test_two_markets__share_one_vault(house, vault, eth, btc, funded, trader):
    actions.trade(house, eth, trader, 0, WAD, 300 * WAD)
    actions.trade(house, btc, trader, 1, WAD // 10, 500 * WAD)
    assert house.position(trader, 1)["size"] == WAD // 10
    assert vault.total_margin() == 800 * WAD


def test_open_interest__tracked_per_side(house, eth, funded, trader, other_trader):
    actions.trade(house, eth, trader, 0, 3 * WAD, 1_000 * WAD)
    actions.trade(house, eth, other_trader, 0, -WAD, 1_000 * WAD)
    m = house.market(0)
    assert (m["long_open_interest"], m["short_open_interest"]) == (3 * WAD, WAD)
    actions.close(house, eth, trader, 0)
    assert house.market(0)["long_open_interest"] == 0


BAD_OPENS = [
    # (description, kwargs override, expected revert)
    ("zero size", {"base_delta": 0}, "ch: zero size"),
    ("expired deadline", {"deadline": -1}, "ch: expired"),
    ("unknown market", {"market": 7}, "ch: unknown market"),
    ("leverage above max", {"margin": 190 * WAD}, "ch: margin below initial requirement"),
    (
        "more margin than free collateral",
        {"margin": 200_000 * WAD},
        "vault: insufficient free collateral",
    ),
    ("slippage on a buy", {"quote_limit": 1}, "ch: slippage, quote in above limit"),
    (
        "dust position",
        {"base_delta": 10**15, "margin": 10 * WAD},
        "ch: position below minimum notional",
    ),
    ("position above max size", {"base_delta": 501 * WAD, "margin": 200_000 * WAD}, None),
]


@pytest.mark.parametrize("description,override,message", BAD_OPENS, ids=[b[0] for b in BAD_OPENS])
def test_open__bad_input__reverts_and_changes_nothing(
    house, vault, eth, funded, trader, description, override, message
):
    args = {
        "market": 0,
        "base_delta": WAD,
        "margin": 300 * WAD,
        "quote_limit": None,
        "deadline": None,
    }
    args.update(override)
    if args["quote_limit"] is None:
        args["quote_limit"] = (
            actions.quote_limit(eth, args["base_delta"]) if args["base_delta"] else 0
        )
    if args["deadline"] is None:
        args["deadline"] = actions.deadline()
    elif args["deadline"] < 0:
        args["deadline"] = chain[-1].timestamp - 10
    before = snapshot(house, vault, eth, trader)
    if message is None:  # 501 base also exceeds the per-block price move; either check protects
        with brownie.reverts():
            house.open_position(*args.values(), {"from": trader})
    else:
        with brownie.reverts(message):
            house.open_position(*args.values(), {"from": trader})
    assert snapshot(house, vault, eth, trader) == before


def test_open__slippage_on_a_sell__reverts(house, eth, funded, trader):
    quote = eth.quote_for(-WAD)
    with brownie.reverts("ch: slippage, quote out below limit"):
        house.open_position(0, -WAD, 300 * WAD, quote + 1, actions.deadline(), {"from": trader})


def test_open__max_position_size__reverts(house, eth, funded, trader, owner):
    house.set_caps(0, 2000 * WAD, 2 * WAD, 10 * WAD, {"from": owner})
    with brownie.reverts("ch: position too large"):
        actions.trade(house, eth, trader, 0, 3 * WAD, 1_000 * WAD)


def test_open__open_interest_cap__reverts(house, eth, funded, trader, other_trader, owner):
    house.set_caps(0, 3 * WAD, 2 * WAD, 10 * WAD, {"from": owner})
    actions.trade(house, eth, trader, 0, 2 * WAD, 1_000 * WAD)
    with brownie.reverts("ch: open interest cap"):
        actions.trade(house, eth, other_trader, 0, 2 * WAD, 1_000 * WAD)
    actions.trade(house, eth, other_trader, 0, -2 * WAD, 1_000 * WAD)  # the other side is free


def test_open_interest_cap__a_trade_that_shrinks_the_larger_sides_lead__passes(
    house, eth, token, vault, accounts, funded, trader, other_trader, owner
):
    """Longs hold 600 ETH when the cap is lowered to 500: a new short of 100 (its side stays
    under the cap, and the imbalance shrinks) passes; one more long does not."""
    house.set_caps(0, 2000 * WAD, 500 * WAD, 10 * WAD, {"from": owner})
    house.set_oracle_band(0, WAD // 2, {"from": owner})  # room to move the mark
    for who in accounts[6:8]:
        actions.fund(token, vault, who, 300_000 * USDC)
        actions.trade(house, eth, who, 0, 300 * WAD, 150_000 * WAD, slippage=0.3)
        chain.mine()
    house.set_caps(0, 500 * WAD, 500 * WAD, 10 * WAD, {"from": owner})
    assert house.market(0)["long_open_interest"] == 600 * WAD
    actions.trade(house, eth, trader, 0, -100 * WAD, 40_000 * WAD, slippage=0.3)
    with brownie.reverts("ch: open interest cap"):
        actions.trade(house, eth, other_trader, 0, WAD, 1_000 * WAD)


def test_close_and_add_margin__unknown_market__say_so(house, funded, trader):
    with brownie.reverts("ch: unknown market"):
        house.close_position(7, 0, actions.deadline(), {"from": trader})
    with brownie.reverts("ch: unknown market"):
        house.add_margin(7, WAD, {"from": trader})


def test_reduce__below_min_notional__reverts(house, eth, funded, trader):
    actions.trade(house, eth, trader, 0, WAD // 100 * 2, 10 * WAD)  # 0.02 ETH ≈ 40 USD
    with brownie.reverts("ch: position below minimum notional"):
        actions.trade(house, eth, trader, 0, -(WAD // 100 * 2 - 10**15))


def test_close__no_position__reverts(house, funded, trader):
    with brownie.reverts("ch: no position"):
        house.close_position(0, 0, actions.deadline(), {"from": trader})


def test_close__expired__reverts(house, eth, funded, trader):
    actions.trade(house, eth, trader, 0, WAD, 300 * WAD)
    with brownie.reverts("ch: expired"):
        house.close_position(0, 0, chain[-1].timestamp - 10, {"from": trader})


def test_close__slippage__reverts(house, eth, funded, trader):
    actions.trade(house, eth, trader, 0, WAD, 300 * WAD)
    with brownie.reverts("ch: slippage, quote out below limit"):
        house.close_position(0, 10**30, actions.deadline(), {"from": trader})


def test_oracle_band__opening_may_not_take_the_mark_beyond_it(
    house, eth, token, vault, feeds, funded, trader, other_trader, owner
):
    """The index stays at 2,000 with a 10 % band: a long that would take the mark above 2,200
    reverts, one that stops below passes; once the mark is beyond the band (closing is free),
    opening trades toward the index still pass and closing always does."""
    house.set_caps(0, 2000 * WAD, 500 * WAD, 10 * WAD, {"from": owner})
    eth.set_limits(WAD // 5, WAD // 10, {"from": owner})  # the band binds, not the block limit
    actions.fund(token, vault, trader, 500_000 * USDC)
    base, _ = eth.reserves()
    k = eth.k()
    # the largest buy that keeps the mark at most 2,200: base' ≥ √(k / 2,200)
    most = base - (isqrt(k * WAD // (2200 * WAD)) + 1)
    with brownie.reverts("ch: mark would leave the oracle band"):
        actions.trade(house, eth, trader, 0, most + WAD // 10, 150_000 * WAD, slippage=0.5)
    actions.trade(house, eth, trader, 0, most, 150_000 * WAD, slippage=0.5)
    assert eth.mark_price() <= 2200 * WAD
    chain.mine()
    with brownie.reverts("ch: mark would leave the oracle band"):
        actions.trade(house, eth, other_trader, 0, WAD, 1_000 * WAD)
    actions.trade(house, eth, other_trader, 0, -WAD, 1_000 * WAD)  # toward the index
    actions.close(house, eth, trader, 0, slippage=0.5)
