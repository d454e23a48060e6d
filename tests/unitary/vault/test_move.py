import brownie


def test_move__only_clearing_house(vault, attacker):
    with brownie.reverts("vault: caller is not the clearing house"):
        vault.move(attacker, 10**18, 0, 0, 0, {"from": attacker})


def test_move__conserves_ledgers(owner, trader):
    """Deltas that do not sum to zero are absorbed by the counterparty ledger."""
    from brownie import MockERC20, Vault

    tok = MockERC20.deploy("T", "T", 6, {"from": owner})
    v = Vault.deploy(tok, owner, {"from": owner})  # owner plays the clearing house
    tok.faucet(10**6, {"from": trader})
    tok.approve(v, 10**6, {"from": trader})
    v.deposit(10**6, {"from": trader})
    v.move(trader, -(3 * 10**17), 2 * 10**17, 5 * 10**16, 5 * 10**16, {"from": owner})
    assert v.free_collateral(trader) == 7 * 10**17
    assert v.total_margin() == 2 * 10**17
    assert v.insurance_fund() == 5 * 10**16
    assert v.fee_pool() == 5 * 10**16
    assert v.counterparty_balance() == 0
    # the trader realises a 0.1 profit out of margin: the counterparty pays it
    v.move(trader, 3 * 10**17, -(2 * 10**17), 0, 0, {"from": owner})
    assert v.counterparty_balance() == -(10**17)
    total = (
        v.free_collateral(trader)
        + v.total_margin()
        + v.insurance_fund()
        + v.fee_pool()
        + v.counterparty_balance()
    )
    assert total == tok.balanceOf(v) * v.scale()


def test_move__negative_ledgers__revert(owner, trader):
    from brownie import MockERC20, Vault

    tok = MockERC20.deploy("T", "T", 6, {"from": owner})
    v = Vault.deploy(tok, owner, {"from": owner})
    with brownie.reverts("vault: insufficient free collateral"):
        v.move(trader, -1, 1, 0, 0, {"from": owner})
    with brownie.reverts("vault: margin ledger underflow"):
        v.move(trader, 0, -1, 0, 0, {"from": owner})
    with brownie.reverts("vault: insurance fund underflow"):
        v.move(trader, 0, 0, -1, 0, {"from": owner})
    with brownie.reverts("vault: fee pool underflow"):
        v.move(trader, 0, 0, 0, -1, {"from": owner})
