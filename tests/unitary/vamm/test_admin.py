import brownie
import pytest
from brownie import Vamm

WAD = 10**18


@pytest.fixture(scope="module")
def amm(owner):
    return Vamm.deploy(owner, 100 * WAD, 200_000 * WAD, WAD // 10, WAD // 10, {"from": owner})


def test_set_limits__owner_sets_and_logs(amm, owner):
    tx = amm.set_limits(WAD // 20, WAD // 5, {"from": owner})
    assert (amm.price_move_limit(), amm.max_trade_ratio()) == (WAD // 20, WAD // 5)
    assert tx.events["LimitsSet"]["price_move_limit"] == WAD // 20


def test_set_limits__non_owner__reverts(amm, attacker):
    with brownie.reverts("ownable: caller is not the owner"):
        amm.set_limits(WAD // 20, WAD // 5, {"from": attacker})


@pytest.mark.parametrize(
    "limit,ratio,message",
    [
        (0, WAD // 10, "vamm: zero price move limit"),
        (WAD // 2 + 1, WAD // 10, "vamm: price move limit too high"),
        (WAD // 10, 0, "vamm: zero max trade ratio"),
        (WAD // 10, WAD // 2 + 1, "vamm: max trade ratio too high"),
    ],
)
def test_set_limits__out_of_bounds__reverts(amm, owner, limit, ratio, message):
    with brownie.reverts(message):
        amm.set_limits(limit, ratio, {"from": owner})


def test_constructor__tiny_reserves__revert(owner):
    with brownie.reverts("vamm: reserve too small"):
        Vamm.deploy(owner, WAD - 1, 200_000 * WAD, WAD // 10, WAD // 10, {"from": owner})


def test_ownership__two_step(amm, owner, attacker):
    amm.transfer_ownership(attacker, {"from": owner})
    assert amm.owner() == owner
    amm.accept_ownership({"from": attacker})
    assert amm.owner() == attacker
