# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title HostileToken
@notice Test-only 6-decimal ERC-20 that misbehaves on demand: re-enters a target contract during
        transfers, returns false instead of reverting, or refuses transfers to and from
        blacklisted accounts (as USDC can).
"""

from ethereum.ercs import IERC20

implements: IERC20

NORMAL: constant(uint256) = 0
REENTER: constant(uint256) = 1
RETURN_FALSE: constant(uint256) = 2

name: public(immutable(String[7]))
symbol: public(immutable(String[3]))
decimals: public(immutable(uint8))
totalSupply: public(uint256)
balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])
blacklisted: public(HashMap[address, bool])
mode: public(uint256)
target: public(address)
payload: public(Bytes[256])


@deploy
def __init__():
    name = "Hostile"
    symbol = "HST"
    decimals = 6


@external
def faucet(amount: uint256):
    self.balanceOf[msg.sender] += amount
    self.totalSupply += amount
    log IERC20.Transfer(sender=empty(address), receiver=msg.sender, value=amount)


@external
def set_mode(mode_: uint256, target_: address, payload_: Bytes[256]):
    """
    @notice REENTER: every transfer calls `target_` with `payload_` first (and bubbles its revert).
    """
    self.mode = mode_
    self.target = target_
    self.payload = payload_


@external
def set_blacklisted(account: address, flag: bool):
    self.blacklisted[account] = flag


@external
def approve(spender: address, amount: uint256) -> bool:
    self.allowance[msg.sender][spender] = amount
    log IERC20.Approval(owner=msg.sender, spender=spender, value=amount)
    return True


@external
def transfer(receiver: address, amount: uint256) -> bool:
    return self._transfer(msg.sender, receiver, amount)


@external
def transferFrom(sender: address, receiver: address, amount: uint256) -> bool:
    self.allowance[sender][msg.sender] -= amount
    return self._transfer(sender, receiver, amount)


@internal
def _transfer(sender: address, receiver: address, amount: uint256) -> bool:
    assert not self.blacklisted[sender] and not self.blacklisted[receiver], "token: blacklisted"
    if self.mode == RETURN_FALSE:
        return False
    if self.mode == REENTER:
        raw_call(self.target, self.payload)
    self.balanceOf[sender] -= amount
    self.balanceOf[receiver] += amount
    log IERC20.Transfer(sender=sender, receiver=receiver, value=amount)
    return True
