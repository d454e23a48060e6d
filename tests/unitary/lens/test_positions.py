"""Lens batch reads."""

from fractions import Fraction

import brownie

from tests.conftest import USDC, WAD
from tests.liquidation_helpers import crash, market_model
from vperp import actions, model


def test_positions__batch_matches_single_reads(
    house, lens, eth, funded, trader, other_trader, attacker
):
    actions.trade(house, eth, trader, 0, 2 * WAD, 600 * WAD)
    actions.trade(house, eth, other_trader, 0, -WAD, 400 * WAD)
    rows = lens.positions(0, [trader, other_trader, attacker])
    assert len(rows) == 3
    for row, who in zip(rows, (trader, other_trader, attacker), strict=True):
        single = house.position(who, 0)
        assert row["trader"] == who
        assert (row["size"], row["margin"], row["unrealised_pnl"], row["margin_ratio"]) == (
            single["size"],
            single["margin"],
            single["unrealised_pnl"],
            single["margin_ratio"],
        )
    assert rows[2]["size"] == 0 and rows[2]["liquidation_price"] == 0


def test_positions__liquidation_price_puts_margin_ratio_at_maintenance(
    house, lens, eth, funded, trader, other_trader
):
    actions.trade(house, eth, trader, 0, 2 * WAD, 600 * WAD)
    actions.trade(house, eth, other_trader, 0, -WAD, 400 * WAD)
    mmr = Fraction(house.market(0)["maintenance_margin_ratio"], WAD)
    long_row, short_row = lens.positions(0, [trader, other_trader])
    for row in (long_row, short_row):
        price = Fraction(row["liquidation_price"], WAD)
        size = Fraction(row["size"], WAD)
        notional = abs(size) * price
        pnl = size * price - Fraction(row["open_notional"], WAD) * (1 if size > 0 else -1)
        ratio = (Fraction(row["margin"], WAD) + pnl) / notional
        assert abs(ratio - mmr) < Fraction(1, 10**12)
    assert long_row["liquidation_price"] < eth.mark_price() < short_row["liquidation_price"]


def test_positions__liquidatable_flags_match_what_liquidate_does(
    house, lens, eth, feeds, publishers, oracle, token, vault, accounts, owner, liquidator
):
    """Four longs of rising leverage, then a crash of both prices: the Lens flags exactly those
    the model calls liquidatable, liquidate succeeds on each flagged one and reverts on the rest;
    an invalid oracle price flags nobody (liquidate needs it)."""
    house.set_caps(0, 9_999 * WAD, 9_999 * WAD, 10 * WAD, {"from": owner})
    traders = accounts[5:9]
    pusher = accounts[3]
    actions.fund(token, vault, pusher, 1_000_000 * USDC)
    for i, who in enumerate(traders):
        actions.fund(token, vault, who, 10_000 * USDC)
        actions.trade(house, eth, who, 0, 10 * WAD, (4000 - 600 * i) * WAD)
    crash(house, eth, publishers[0], pusher, 0, 1850 * WAD)
    rows = lens.positions(0, traders)
    m = market_model(house, eth, 0, [*traders, pusher])
    index = oracle.price(0)[0]
    flags = [r["liquidatable"] for r in rows]
    assert flags == [model.is_liquidatable(m, m.position(str(w)), index) for w in traders]
    assert True in flags and False in flags
    feeds[0].set_broken(True, {"from": owner})
    assert not any(r["liquidatable"] for r in lens.positions(0, traders))
    feeds[0].set_broken(False, {"from": owner})
    for who, flagged in zip(traders, flags, strict=True):
        if flagged:
            house.liquidate(who, 0, {"from": liquidator})
        else:
            with brownie.reverts("ch: position is not liquidatable"):
                house.liquidate(who, 0, {"from": liquidator})
