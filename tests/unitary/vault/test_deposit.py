import brownie
import pytest
from brownie import FeeOnTransferToken, MockERC20, Vault

from tests.conftest import USDC


def test_deposit__credits_balance_delta_in_18_decimals(vault, token, trader):
    token.faucet(5 * USDC, {"from": trader})
    token.approve(vault, 5 * USDC, {"from": trader})
    tx = vault.deposit(5 * USDC, {"from": trader})
    assert vault.free_collateral(trader) == 5 * 10**18
    assert token.balanceOf(vault) == 5 * USDC
    assert tx.events["Deposit"]["credited"] == 5 * 10**18


def test_deposit__zero__reverts(vault, trader):
    with brownie.reverts("vault: zero amount"):
        vault.deposit(0, {"from": trader})


def test_deposit__dust_one_unit__credited_exactly(vault, token, trader):
    token.faucet(1, {"from": trader})
    token.approve(vault, 1, {"from": trader})
    vault.deposit(1, {"from": trader})
    assert vault.free_collateral(trader) == 10**12


def test_deposit__without_allowance__reverts_and_changes_nothing(vault, token, trader):
    token.faucet(USDC, {"from": trader})
    with brownie.reverts("erc20: insufficient allowance"):
        vault.deposit(USDC, {"from": trader})
    assert vault.free_collateral(trader) == 0
    assert token.balanceOf(trader) == USDC


def test_deposit__fee_on_transfer_token__rejected(owner, trader):
    fot = FeeOnTransferToken.deploy({"from": owner})
    fot_vault = Vault.deploy(fot, owner, {"from": owner})
    fot.faucet(100 * USDC, {"from": trader})
    fot.approve(fot_vault, 100 * USDC, {"from": trader})
    with brownie.reverts("vault: fee-on-transfer token"):
        fot_vault.deposit(100 * USDC, {"from": trader})
    assert fot_vault.free_collateral(trader) == 0
    assert fot.balanceOf(trader) == 100 * USDC


@pytest.mark.parametrize("decimals,scale", [(18, 1), (6, 10**12), (0, 10**18)])
def test_deposit__token_decimals__scaled_to_18(owner, trader, decimals, scale):
    tok = MockERC20.deploy("T", "T", decimals, {"from": owner})
    v = Vault.deploy(tok, owner, {"from": owner})
    assert v.scale() == scale
    tok.faucet(1234, {"from": trader})
    tok.approve(v, 1234, {"from": trader})
    v.deposit(1234, {"from": trader})
    assert v.free_collateral(trader) == 1234 * scale


def test_constructor__more_than_18_decimals__reverts(owner):
    tok = MockERC20.deploy("T", "T", 19, {"from": owner})
    with brownie.reverts("vault: more than 18 decimals"):
        Vault.deploy(tok, owner, {"from": owner})


def test_constructor__token_not_a_contract__reverts(owner, trader):
    with brownie.reverts("vault: token is not a contract"):
        Vault.deploy(trader, owner, {"from": owner})
