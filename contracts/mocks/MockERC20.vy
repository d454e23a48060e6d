# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title MockERC20
@notice Local/test collateral: a snekmate ERC-20 with any decimals and a public faucet.
        Never deploy it to a live network.
"""

from snekmate.auth import ownable
from snekmate.tokens import erc20

initializes: ownable
initializes: erc20[ownable := ownable]

exports: (
    erc20.name,
    erc20.symbol,
    erc20.decimals,
    erc20.totalSupply,
    erc20.balanceOf,
    erc20.allowance,
    erc20.transfer,
    erc20.transferFrom,
    erc20.approve,
)

MAX_FAUCET: constant(uint256) = 10**30


@deploy
def __init__(name_: String[25], symbol_: String[5], decimals_: uint8):
    ownable.__init__()
    erc20.__init__(name_, symbol_, decimals_, name_, "1")


@external
def faucet(amount: uint256):
    """
    @notice Mint `amount` token units to the caller (local chains only).
    """
    assert amount <= MAX_FAUCET, "token: faucet amount too large"
    erc20._mint(msg.sender, amount)
