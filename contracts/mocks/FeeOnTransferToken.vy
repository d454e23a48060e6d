# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title FeeOnTransferToken
@notice Hostile test token: burns 1 % of every transfer, so the receiver gets less than sent.
"""

from ethereum.ercs import IERC20

implements: IERC20

name: public(immutable(String[8]))
symbol: public(immutable(String[3]))
decimals: public(immutable(uint8))
totalSupply: public(uint256)
balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])


@deploy
def __init__():
    name = "Fee Coin"
    symbol = "FEE"
    decimals = 6


@external
def faucet(amount: uint256):
    self.balanceOf[msg.sender] += amount
    self.totalSupply += amount
    log IERC20.Transfer(sender=empty(address), receiver=msg.sender, value=amount)


@external
def approve(spender: address, amount: uint256) -> bool:
    self.allowance[msg.sender][spender] = amount
    log IERC20.Approval(owner=msg.sender, spender=spender, value=amount)
    return True


@external
def transfer(receiver: address, amount: uint256) -> bool:
    self._transfer(msg.sender, receiver, amount)
    return True


@external
def transferFrom(sender: address, receiver: address, amount: uint256) -> bool:
    self.allowance[sender][msg.sender] -= amount
    self._transfer(sender, receiver, amount)
    return True


@internal
def _transfer(sender: address, receiver: address, amount: uint256):
    burned: uint256 = amount // 100
    self.balanceOf[sender] -= amount
    self.balanceOf[receiver] += amount - burned
    self.totalSupply -= burned
    log IERC20.Transfer(sender=sender, receiver=receiver, value=amount - burned)
