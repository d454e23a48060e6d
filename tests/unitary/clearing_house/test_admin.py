"""Owner-only parameters: bounds, events, two-step ownership, market listing."""

import brownie
import pytest
from brownie import MockAggregator, Vamm

from tests.conftest import WAD

RISK_OK = (WAD // 10, WAD // 16, WAD // 1000, WAD // 2)


def test_set_risk_params__owner_sets_and_logs(house, owner):
    tx = house.set_risk_params(0, WAD // 5, WAD // 10, WAD // 500, WAD, {"from": owner})
    m = house.market(0)
    assert (
        m["initial_margin_ratio"],
        m["maintenance_margin_ratio"],
        m["fee_rate"],
        m["insurance_fee_share"],
    ) == (
        WAD // 5,
        WAD // 10,
        WAD // 500,
        WAD,
    )
    assert tx.events["RiskParamsSet"]["initial_margin_ratio"] == WAD // 5


@pytest.mark.parametrize(
    "risk,message",
    [
        ((WAD // 101, WAD // 200, 0, 0), "ch: initial margin ratio out of bounds"),
        ((WAD + 1, WAD // 16, 0, 0), "ch: initial margin ratio out of bounds"),
        ((WAD // 10, WAD // 201, 0, 0), "ch: maintenance margin ratio out of bounds"),
        ((WAD // 10, WAD // 10, 0, 0), "ch: maintenance margin ratio out of bounds"),
        ((WAD // 10, WAD // 16, WAD // 100 + 1, 0), "ch: fee rate out of bounds"),
        ((WAD // 10, WAD // 16, 0, WAD + 1), "ch: insurance share out of bounds"),
    ],
)
def test_set_risk_params__out_of_bounds__reverts(house, owner, risk, message):
    before = tuple(house.market(0))
    with brownie.reverts(message):
        house.set_risk_params(0, *risk, {"from": owner})
    assert tuple(house.market(0)) == before


def test_set_risk_params__non_owner__reverts(house, attacker):
    with brownie.reverts("ownable: caller is not the owner"):
        house.set_risk_params(0, *RISK_OK, {"from": attacker})


def test_set_risk_params__unknown_market__reverts(house, owner):
    with brownie.reverts("ch: unknown market"):
        house.set_risk_params(2, *RISK_OK, {"from": owner})


@pytest.mark.parametrize(
    "caps,message",
    [
        ((10 * WAD, 0, WAD), "ch: zero max position size"),
        ((10 * WAD, 11 * WAD, WAD), "ch: max position above open interest cap"),
        ((10 * WAD, 5 * WAD, 0), "ch: min position notional out of bounds"),
        ((10 * WAD, 5 * WAD, 10**6 * WAD + 1), "ch: min position notional out of bounds"),
        # the ETH-USD vAMM starts with 10,000 base: a short as large could never be bought back
        (
            (10_000 * WAD, 5 * WAD, WAD),
            "ch: open interest cap must stay below the vAMM's base reserve",
        ),
    ],
)
def test_set_caps__out_of_bounds__reverts(house, owner, caps, message):
    with brownie.reverts(message):
        house.set_caps(0, *caps, {"from": owner})


def test_set_caps__owner_sets_and_logs(house, owner):
    tx = house.set_caps(0, 10 * WAD, 5 * WAD, 20 * WAD, {"from": owner})
    m = house.market(0)
    assert (m["max_open_interest"], m["max_position_size"], m["min_position_notional"]) == (
        10 * WAD,
        5 * WAD,
        20 * WAD,
    )
    assert tx.events["CapsSet"]["max_position_size"] == 5 * WAD


def test_set_caps__non_owner__reverts(house, attacker):
    with brownie.reverts("ownable: caller is not the owner"):
        house.set_caps(0, 10 * WAD, 5 * WAD, 20 * WAD, {"from": attacker})


@pytest.mark.parametrize(
    "funding,message",
    [
        ((59, WAD // 1000, 3600), "ch: funding period out of bounds"),
        ((86401, WAD // 1000, 86401), "ch: funding period out of bounds"),
        ((3600, 0, 3600), "ch: max funding rate out of bounds"),
        ((3600, WAD // 100 + 1, 3600), "ch: max funding rate out of bounds"),
        ((3600, WAD // 1000, 3599), "ch: max funding interval out of bounds"),
        ((3600, WAD // 1000, 7 * 86400 + 1), "ch: max funding interval out of bounds"),
    ],
)
def test_set_funding_params__out_of_bounds__reverts(house, owner, funding, message):
    with brownie.reverts(message):
        house.set_funding_params(0, *funding, {"from": owner})


def test_set_funding_params__owner_sets_and_logs(house, owner, attacker):
    with brownie.reverts("ownable: caller is not the owner"):
        house.set_funding_params(0, 1800, WAD // 500, 7200, {"from": attacker})
    tx = house.set_funding_params(0, 1800, WAD // 500, 7200, {"from": owner})
    m = house.market(0)
    assert (m["funding_period"], m["max_funding_rate"], m["max_funding_interval"]) == (
        1800,
        WAD // 500,
        7200,
    )
    assert tx.events["FundingParamsSet"]["period"] == 1800


def test_set_guardian__owner_only(house, owner, attacker):
    with brownie.reverts("ownable: caller is not the owner"):
        house.set_guardian(attacker, {"from": attacker})
    tx = house.set_guardian(attacker, {"from": owner})
    assert house.guardian() == attacker
    assert tx.events["GuardianSet"]["guardian"] == attacker


def test_add_market__without_oracle_price__reverts(house, owner):
    vamm = Vamm.deploy(house, 1000 * WAD, 1000 * WAD, WAD // 10, WAD // 10, {"from": owner})
    with brownie.reverts("ch: market has no valid oracle price"):
        house.add_market(vamm, *RISK_OK, 100 * WAD, 10 * WAD, 10 * WAD, {"from": owner})


def test_add_market__lists_a_third_market(house, oracle, owner):
    feed = MockAggregator.deploy(8, "X", 10**8, {"from": owner})
    oracle.set_feed(2, feed, 3600, WAD // 10, 10 * WAD, {"from": owner})
    vamm = Vamm.deploy(house, 1000 * WAD, 1000 * WAD, WAD // 10, WAD // 10, {"from": owner})
    tx = house.add_market(vamm, *RISK_OK, 100 * WAD, 10 * WAD, 10 * WAD, {"from": owner})
    assert tx.return_value == 2 and house.market_count() == 3
    assert house.market(2)["vamm"] == vamm


def test_add_market__non_owner__reverts(house, owner, attacker):
    vamm = Vamm.deploy(house, 1000 * WAD, 1000 * WAD, WAD // 10, WAD // 10, {"from": owner})
    with brownie.reverts("ownable: caller is not the owner"):
        house.add_market(vamm, *RISK_OK, 100 * WAD, 10 * WAD, 10 * WAD, {"from": attacker})


def test_add_market__vamm_of_another_house__reverts(house, owner):
    vamm = Vamm.deploy(owner, 1000 * WAD, 1000 * WAD, WAD // 10, WAD // 10, {"from": owner})
    with brownie.reverts("ch: vamm bound to another house"):
        house.add_market(vamm, *RISK_OK, 100 * WAD, 10 * WAD, 10 * WAD, {"from": owner})


def test_add_market__not_a_contract__reverts(house, owner, attacker):
    with brownie.reverts("ch: vamm is not a contract"):
        house.add_market(attacker, *RISK_OK, 100 * WAD, 10 * WAD, 10 * WAD, {"from": owner})


def test_market__unknown__reverts(house):
    with brownie.reverts("ch: unknown market"):
        house.market(42)


def test_ownership__two_step(house, owner, attacker):
    house.transfer_ownership(attacker, {"from": owner})
    assert house.pending_owner() == attacker and house.owner() == owner
    with brownie.reverts("ownable_2step: caller is not the new owner"):
        house.accept_ownership({"from": owner})
    house.accept_ownership({"from": attacker})
    assert house.owner() == attacker


@pytest.mark.parametrize("band", [WAD // 200 - 1, WAD // 2 + 1, 0])
def test_set_oracle_band__out_of_bounds__reverts(house, owner, band):
    with brownie.reverts("ch: oracle band out of bounds"):
        house.set_oracle_band(0, band, {"from": owner})


def test_set_oracle_band__owner_sets_and_logs(house, owner, attacker):
    assert house.market(0)["oracle_band"] == WAD // 10  # config/local.yaml
    tx = house.set_oracle_band(0, WAD // 20, {"from": owner})
    assert house.market(0)["oracle_band"] == WAD // 20
    assert tx.events["OracleBandSet"]["band"] == WAD // 20
    with brownie.reverts("ownable: caller is not the owner"):
        house.set_oracle_band(0, WAD // 20, {"from": attacker})
    with brownie.reverts("ch: unknown market"):
        house.set_oracle_band(9, WAD // 20, {"from": owner})
