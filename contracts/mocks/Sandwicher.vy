# pragma version 0.4.3
"""
@title Sandwicher
@notice Test-only attacker: in one transaction it trades, liquidates someone, and trades back,
        to profit from the price the liquidation fills at.
"""

from ethereum.ercs import IERC20
from interfaces import IClearingHouse
from interfaces import IVault


@external
def deposit(token: address, vault: address, amount: uint256):
    """
    @notice Deposit `amount` token units held by this contract into the vault.
    """
    extcall IERC20(token).approve(vault, amount)
    extcall IVault(vault).deposit(amount)


@external
def trade(house: address, market_id: uint256, base_delta: int256, margin: uint256, limit: uint256):
    """
    @notice One trade of this contract's own position.
    """
    extcall IClearingHouse(house).open_position(
        market_id, base_delta, margin, limit, block.timestamp
    )


@external
def sandwich(
    house: address,
    market_id: uint256,
    victim: address,
    before: int256,
    margin: uint256,
    before_limit: uint256,
    after_margin: uint256,
    after_limit: uint256,
):
    """
    @notice Trade `before` (with `margin` when it opens exposure), liquidate `victim`, trade
            `-before` back (with `after_margin` when that opens exposure), all in this
            transaction.
    """
    extcall IClearingHouse(house).open_position(
        market_id, before, margin, before_limit, block.timestamp
    )
    extcall IClearingHouse(house).liquidate(victim, market_id)
    extcall IClearingHouse(house).open_position(
        market_id, -before, after_margin, after_limit, block.timestamp
    )
