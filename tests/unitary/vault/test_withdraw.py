import brownie

from tests.conftest import USDC


def test_withdraw__sends_tokens_and_debits_exactly(vault, token, funded, trader):
    before = token.balanceOf(trader)
    vault.withdraw(40 * USDC, {"from": trader})
    assert token.balanceOf(trader) == before + 40 * USDC
    assert vault.free_collateral(trader) == (100_000 - 40) * 10**18


def test_withdraw__zero__reverts(vault, funded, trader):
    with brownie.reverts("vault: zero amount"):
        vault.withdraw(0, {"from": trader})


def test_withdraw__more_than_free__reverts_and_changes_nothing(vault, token, funded, trader):
    with brownie.reverts("vault: insufficient free collateral"):
        vault.withdraw(100_001 * USDC, {"from": trader})
    assert vault.free_collateral(trader) == 100_000 * 10**18
    assert token.balanceOf(vault) == 200_000 * USDC


def test_withdraw__sub_unit_dust_stays_credited_never_sent(
    vault, house, eth, token, funded, trader
):
    """A close leaves 18-decimal dust; only whole token units can leave, so the vault never pays
    more than it credited."""
    from vperp import actions

    actions.trade(house, eth, trader, 0, 10**17, 50 * 10**18)
    actions.close(house, eth, trader, 0)
    free = vault.free_collateral(trader)
    whole_units = free // vault.scale()
    assert free % vault.scale() != 0  # fees and rounding left dust
    vault.withdraw(whole_units, {"from": trader})
    assert vault.free_collateral(trader) == free - whole_units * vault.scale()
    with brownie.reverts("vault: insufficient free collateral"):
        vault.withdraw(1, {"from": trader})


def test_withdraw__other_traders_collateral__not_reachable(vault, funded, attacker):
    with brownie.reverts("vault: insufficient free collateral"):
        vault.withdraw(1, {"from": attacker})
