"""Pause (guardian) and reduce-only: what still works."""

import brownie
import pytest

from tests.conftest import WAD
from vperp import actions


@pytest.fixture
def paused(house, eth, funded, trader, guardian):
    actions.trade(house, eth, trader, 0, 2 * WAD, 600 * WAD)
    tx = house.set_paused(0, True, {"from": guardian})
    assert tx.events["MarketFlagsSet"]["paused"] is True
    return house


def test_paused__open_and_increase_revert(paused, eth, trader, other_trader):
    with brownie.reverts("ch: market paused"):
        actions.trade(paused, eth, other_trader, 0, WAD, 300 * WAD)
    with brownie.reverts("ch: market paused"):
        actions.trade(paused, eth, trader, 0, WAD, 300 * WAD)


def test_paused__remove_margin_reverts(paused, trader):
    with brownie.reverts("ch: market paused"):
        paused.remove_margin(0, WAD, {"from": trader})


def test_paused__add_margin_reduce_and_close_still_work(paused, eth, trader):
    paused.add_margin(0, 10 * WAD, {"from": trader})
    actions.trade(paused, eth, trader, 0, -WAD)
    actions.close(paused, eth, trader, 0)
    assert paused.position(trader, 0)["size"] == 0


def test_paused__flip_reverts(paused, eth, trader):
    with brownie.reverts("ch: market paused"):
        actions.trade(paused, eth, trader, 0, -3 * WAD, 600 * WAD)


def test_paused__other_market_unaffected(paused, btc, other_trader):
    actions.trade(paused, btc, other_trader, 1, WAD // 10, 500 * WAD)


def test_unpause__trading_resumes(paused, eth, other_trader, guardian):
    paused.set_paused(0, False, {"from": guardian})
    actions.trade(paused, eth, other_trader, 0, WAD, 300 * WAD)


def test_pause__non_guardian__reverts(house, attacker):
    with brownie.reverts("ch: not guardian"):
        house.set_paused(0, True, {"from": attacker})


def test_pause__owner_may_pause(house, owner):
    house.set_paused(0, True, {"from": owner})
    assert house.market(0)["paused"] is True


def test_pause__unknown_market__reverts(house, guardian):
    with brownie.reverts("ch: unknown market"):
        house.set_paused(5, True, {"from": guardian})


def test_reduce_only__blocks_opening_allows_closing(
    house, eth, funded, trader, other_trader, owner
):
    actions.trade(house, eth, trader, 0, WAD, 300 * WAD)
    house.set_reduce_only(0, True, {"from": owner})
    with brownie.reverts("ch: market is reduce-only"):
        actions.trade(house, eth, other_trader, 0, WAD, 300 * WAD)
    actions.close(house, eth, trader, 0)


def test_reduce_only__non_owner__reverts(house, guardian):
    with brownie.reverts("ownable: caller is not the owner"):
        house.set_reduce_only(0, True, {"from": guardian})
