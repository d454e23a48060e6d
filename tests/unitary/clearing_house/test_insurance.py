"""Insurance-fund governance and liquidation parameters (HouseAdmin, through the house)."""

import json
import subprocess
import sys
import sysconfig
from pathlib import Path

import brownie
import pytest
from brownie import HouseAdmin

from tests.conftest import WAD
from vperp import actions

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def with_fund(house, eth, funded, trader):
    """A round trip of 200 ETH pays fees: half of them feed the insurance fund."""
    for _ in range(2):
        actions.trade(house, eth, trader, 0, 200 * WAD, 50_000 * WAD)
        actions.close(house, eth, trader, 0)


def test_withdraw_insurance__down_to_the_floor(house, vault, with_fund, owner, guardian):
    fund = vault.insurance_fund()
    house.set_insurance_floor(fund // 2, {"from": owner})
    with brownie.reverts("ch: insurance fund would fall below floor plus outstanding shortfall"):
        house.withdraw_insurance(fund - fund // 2 + 1, guardian, {"from": owner})
    tx = house.withdraw_insurance(fund - fund // 2, guardian, {"from": owner})
    assert vault.insurance_fund() == fund // 2
    assert vault.free_collateral(guardian) == fund - fund // 2
    ev = tx.events["InsuranceWithdrawn"]
    assert (ev["to"], ev["amount"], ev["insurance_fund"]) == (
        guardian,
        fund - fund // 2,
        fund // 2,
    )
    assert tx.events["LedgersMoved"]["insurance_delta"] == -(fund - fund // 2)


def test_withdraw_insurance__non_owner__reverts(house, with_fund, attacker):
    with brownie.reverts("ownable: caller is not the owner"):
        house.withdraw_insurance(1, attacker, {"from": attacker})


def test_withdraw_insurance__zero_or_no_recipient__reverts(house, with_fund, owner):
    with brownie.reverts("ch: zero amount"):
        house.withdraw_insurance(0, owner, {"from": owner})
    with brownie.reverts("ch: zero recipient"):
        house.withdraw_insurance(1, "0x" + "00" * 20, {"from": owner})


def test_set_insurance_floor__owner_only_and_logged(house, owner, attacker):
    with brownie.reverts("ownable: caller is not the owner"):
        house.set_insurance_floor(WAD, {"from": attacker})
    tx = house.set_insurance_floor(5 * WAD, {"from": owner})
    assert house.insurance_floor() == 5 * WAD
    assert tx.events["InsuranceFloorSet"]["floor"] == 5 * WAD


def test_repay_shortfall__none__reverts(house, attacker):
    with brownie.reverts("ch: no shortfall"):
        house.repay_shortfall(0, {"from": attacker})
    with brownie.reverts("ch: unknown market"):
        house.repay_shortfall(9, {"from": attacker})


def test_set_liquidation_params__owner_sets_and_logs(house, owner):
    tx = house.set_liquidation_params(0, WAD // 50, WAD // 4, WAD // 100, 2 * WAD, {"from": owner})
    m = house.market(0)
    assert (
        m["liquidation_penalty"],
        m["liquidator_share"],
        m["liquidation_buffer"],
        m["keeper_reward_floor"],
    ) == (WAD // 50, WAD // 4, WAD // 100, 2 * WAD)
    assert tx.events["LiquidationParamsSet"]["keeper_reward_floor"] == 2 * WAD


@pytest.mark.parametrize(
    "values,message",
    [
        ((0, WAD // 2, WAD // 50, WAD), "ch: liquidation penalty out of bounds"),
        ((WAD // 16, WAD // 2, WAD // 50, WAD), "ch: liquidation penalty out of bounds"),
        ((WAD // 40, WAD + 1, WAD // 50, WAD), "ch: liquidator share out of bounds"),
        ((WAD // 40, WAD // 2, 0, WAD), "ch: liquidation buffer out of bounds"),
        ((WAD // 40, WAD // 2, WAD // 9, WAD), "ch: liquidation buffer out of bounds"),
        ((WAD // 40, WAD // 2, WAD // 50, 1001 * WAD), "ch: keeper reward floor out of bounds"),
        ((WAD // 40, WAD // 2, WAD // 50, WAD + 1), "ch: keeper reward floor out of bounds"),
    ],
)
def test_set_liquidation_params__out_of_bounds__reverts(house, owner, values, message):
    with brownie.reverts(message):
        house.set_liquidation_params(0, *values, {"from": owner})


def test_set_liquidation_params__non_owner_or_unknown_market__reverts(house, owner, attacker):
    with brownie.reverts("ownable: caller is not the owner"):
        house.set_liquidation_params(0, WAD // 40, WAD // 2, WAD // 50, WAD, {"from": attacker})
    with brownie.reverts("ch: unknown market"):
        house.set_liquidation_params(5, WAD // 40, WAD // 2, WAD // 50, WAD, {"from": owner})


def test_set_risk_params__maintenance_must_stay_above_the_penalty(house, owner):
    """The penalty is 2.5 %: maintenance cannot go down to it (full liquidations below the
    penalty ratio need maintenance above it)."""
    with brownie.reverts("ch: maintenance margin ratio out of bounds"):
        house.set_risk_params(0, WAD // 10, WAD // 40, WAD // 1000, WAD // 2, {"from": owner})


def test_house_admin__direct_call__reverts(house, owner):
    """HouseAdmin only runs inside the house (delegatecall): called directly it refuses."""
    admin = HouseAdmin.at(house.admin())
    with brownie.reverts("admin: call through the clearing house"):
        admin.set_insurance_floor(1, {"from": owner})


def test_house_admin__storage_layout_matches_the_house():
    """The delegatecall writes the house's storage: both layouts must be identical."""
    purelib = sysconfig.get_paths()["purelib"]

    def layout(name):
        out = subprocess.run(
            [
                str(Path(sys.executable).parent / "vyper"),
                "--evm-version",
                "shanghai",
                "-p",
                str(ROOT),
                "-p",
                purelib,
                "-f",
                "layout",
            ]
            + [str(ROOT / "contracts" / f"{name}.vy")],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return json.loads(out)["storage_layout"]

    assert layout("ClearingHouse") == layout("HouseAdmin")
