"""Hostile collateral tokens: re-entrancy, false returns, blacklists. Each fails clearly and loses
nothing."""

import brownie
import pytest
from brownie import HostileToken, Vault
from eth_abi import encode

NORMAL, REENTER, RETURN_FALSE = 0, 1, 2


@pytest.fixture(scope="module")
def hostile(owner):
    return HostileToken.deploy({"from": owner})


@pytest.fixture(scope="module")
def hostile_vault(hostile, owner, trader):
    v = Vault.deploy(hostile, owner, {"from": owner})
    hostile.faucet(1_000 * 10**6, {"from": trader})
    hostile.approve(v, 2**256 - 1, {"from": trader})
    v.deposit(500 * 10**6, {"from": trader})
    return v


def withdraw_call(amount):
    return bytes.fromhex("2e1a7d4d") + encode(["uint256"], [amount])  # withdraw(uint256)


def test_reentering_token__deposit_cannot_reenter_the_vault(hostile, hostile_vault, trader):
    hostile.set_mode(REENTER, hostile_vault, withdraw_call(10**6), {"from": trader})
    # the vault's reentrancy lock rejects the nested withdraw, which fails the whole deposit
    with brownie.reverts():
        hostile_vault.deposit(10**6, {"from": trader})
    assert hostile_vault.free_collateral(trader) == 500 * 10**18
    assert hostile.balanceOf(hostile_vault) == 500 * 10**6
    # control: the same deposit goes through once the token behaves
    hostile.set_mode(NORMAL, trader, b"", {"from": trader})
    hostile_vault.deposit(10**6, {"from": trader})
    assert hostile_vault.free_collateral(trader) == 501 * 10**18


def test_reentering_token__withdraw_cannot_reenter_the_vault(hostile, hostile_vault, trader):
    hostile.set_mode(REENTER, hostile_vault, withdraw_call(10**6), {"from": trader})
    with brownie.reverts():
        hostile_vault.withdraw(10**6, {"from": trader})
    assert hostile_vault.free_collateral(trader) == 500 * 10**18


def test_false_returning_token__deposit_reverts_clearly(hostile, hostile_vault, trader):
    hostile.set_mode(RETURN_FALSE, trader, b"", {"from": trader})
    with brownie.reverts("vault: transfer failed"):
        hostile_vault.deposit(10**6, {"from": trader})
    assert hostile_vault.free_collateral(trader) == 500 * 10**18


def test_false_returning_token__withdraw_reverts_clearly(hostile, hostile_vault, trader):
    hostile.set_mode(RETURN_FALSE, trader, b"", {"from": trader})
    with brownie.reverts("vault: transfer failed"):
        hostile_vault.withdraw(10**6, {"from": trader})
    assert hostile_vault.free_collateral(trader) == 500 * 10**18


def test_blacklisted_trader__withdraw_reverts_and_keeps_the_credit(hostile, hostile_vault, trader):
    hostile.set_blacklisted(trader, True, {"from": trader})
    with brownie.reverts("token: blacklisted"):
        hostile_vault.withdraw(10**6, {"from": trader})
    assert hostile_vault.free_collateral(trader) == 500 * 10**18
    hostile.set_blacklisted(trader, False, {"from": trader})
    hostile_vault.withdraw(10**6, {"from": trader})
    assert hostile_vault.free_collateral(trader) == 499 * 10**18
