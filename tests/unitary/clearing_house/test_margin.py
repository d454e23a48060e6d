"""add_margin / remove_margin."""

import brownie

from tests.conftest import WAD
from vperp import actions


def test_add_margin__moves_free_collateral_into_position(house, vault, eth, funded, trader):
    actions.trade(house, eth, trader, 0, WAD, 300 * WAD)
    free = vault.free_collateral(trader)
    tx = house.add_margin(0, 50 * WAD, {"from": trader})
    assert house.position(trader, 0)["margin"] == 350 * WAD
    assert vault.free_collateral(trader) == free - 50 * WAD
    assert tx.events["MarginChanged"]["amount"] == 50 * WAD


def test_add_margin__zero__reverts(house, funded, trader):
    with brownie.reverts("ch: zero amount"):
        house.add_margin(0, 0, {"from": trader})


def test_add_margin__no_position__reverts(house, funded, trader):
    with brownie.reverts("ch: no position"):
        house.add_margin(0, WAD, {"from": trader})


def test_add_margin__more_than_free__reverts(house, eth, funded, trader):
    actions.trade(house, eth, trader, 0, WAD, 300 * WAD)
    with brownie.reverts("vault: insufficient free collateral"):
        house.add_margin(0, 10**6 * WAD, {"from": trader})


def removable_under_both(p, index):
    """The most a long can take out: margin + min(PnL, 0) − ⌈10 % × notional⌉ at the vAMM exit
    value and at the oracle price (its notional rounded down), whichever is less."""
    oracle_notional = p["size"] * index // WAD
    at_vamm = p["margin"] + min(p["unrealised_pnl"], 0) - -(-p["exit_notional"] // 10)
    at_oracle = (
        p["margin"] + min(oracle_notional - p["open_notional"], 0) - -(-oracle_notional // 10)
    )
    return min(at_vamm, at_oracle)


def test_remove_margin__down_to_initial_requirement(house, vault, eth, funded, trader):
    actions.trade(house, eth, trader, 0, WAD, 400 * WAD)
    p = house.position(trader, 0)
    removable = removable_under_both(p, 2000 * WAD)  # the feed answers 2,000
    with brownie.reverts("ch: margin below initial requirement"):
        house.remove_margin(0, removable + 1, {"from": trader})
    free = vault.free_collateral(trader)
    house.remove_margin(0, removable, {"from": trader})
    assert vault.free_collateral(trader) == free + removable


def test_remove_margin__positive_pnl_does_not_count(house, eth, funded, trader, other_trader):
    actions.trade(house, eth, trader, 0, WAD, 250 * WAD)
    actions.trade(house, eth, other_trader, 0, 50 * WAD, 20_000 * WAD)  # price up: trader in profit
    p = house.position(trader, 0)
    assert p["unrealised_pnl"] > 0
    # with the profit counted the trader could take out far more; without it, only this much
    removable = removable_under_both(p, 2000 * WAD)
    assert removable <= p["margin"] - -(-p["exit_notional"] // 10)
    with brownie.reverts("ch: margin below initial requirement"):
        house.remove_margin(0, removable + 1, {"from": trader})
    house.remove_margin(0, removable, {"from": trader})


def test_remove_margin__zero__reverts(house, eth, funded, trader):
    actions.trade(house, eth, trader, 0, WAD, 300 * WAD)
    with brownie.reverts("ch: zero amount"):
        house.remove_margin(0, 0, {"from": trader})


def test_remove_margin__more_than_margin__reverts(house, eth, funded, trader):
    actions.trade(house, eth, trader, 0, WAD, 300 * WAD)
    with brownie.reverts("ch: amount exceeds margin"):
        house.remove_margin(0, 301 * WAD, {"from": trader})


def test_remove_margin__unknown_market__reverts(house, funded, trader):
    with brownie.reverts("ch: unknown market"):
        house.remove_margin(9, WAD, {"from": trader})


def test_remove_margin__no_position__reverts(house, funded, trader):
    with brownie.reverts("ch: no position"):
        house.remove_margin(0, WAD, {"from": trader})
