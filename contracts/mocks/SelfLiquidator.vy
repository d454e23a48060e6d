# pragma version 0.4.3
"""
@title SelfLiquidator
@notice Test-only attacker: in one transaction it deposits, opens a leveraged position and tries
        to liquidate itself to collect the keeper reward.
"""

from ethereum.ercs import IERC20
from interfaces import IClearingHouse
from interfaces import IVault


@external
def attack(
    token: address,
    vault: address,
    house: address,
    market_id: uint256,
    amount: uint256,
    base_delta: int256,
    margin: uint256,
    quote_limit: uint256,
) -> uint256:
    """
    @notice Deposit `amount` token units, open `base_delta` with `margin`, liquidate itself.
    @return The reward the liquidation paid.
    """
    extcall IERC20(token).approve(vault, amount)
    extcall IVault(vault).deposit(amount)
    extcall IClearingHouse(house).open_position(
        market_id, base_delta, margin, quote_limit, block.timestamp
    )
    return extcall IClearingHouse(house).liquidate(self, market_id)
