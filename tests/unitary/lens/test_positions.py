"""Lens batch reads."""

from fractions import Fraction

from tests.conftest import WAD
from vperp import actions


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
