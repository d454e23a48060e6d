"""End to end on whichever chain runs the suite; `make test` runs this file on Ganache too."""

from brownie import network

from tests.conftest import USDC, WAD
from vperp import actions


def test_deploy_deposit_open_close_withdraw(deployment, trader):
    token, vault, house, eth = (
        deployment.token,
        deployment.vault,
        deployment.clearing_house,
        deployment.vamms[0],
    )
    actions.fund(token, vault, trader, 1_000 * USDC)
    opened = actions.trade(house, eth, trader, 0, WAD // 10, 50 * WAD)
    assert house.position(trader, 0)["size"] == WAD // 10
    closed = actions.close(house, eth, trader, 0)
    assert house.position(trader, 0)["size"] == 0
    units = vault.free_collateral(trader) // vault.scale()
    vault.withdraw(units, {"from": trader})
    # a round trip costs the two fees, plus under one token unit of dust left credited
    fees = opened.events["PositionChanged"]["fee"] + closed.events["PositionChanged"]["fee"]
    assert closed.events["PositionChanged"]["realised_pnl"] == 0
    assert 1_000 * USDC - units == -(-fees // vault.scale())
    assert token.balanceOf(trader) == units
    print(f"\nend to end on {network.show_active()}: withdrew {units / USDC} of 1000 USDC")
