# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title fixed_point
@notice One source for vperp's 18-decimal constants and rounding-explicit arithmetic.
@dev Rounding rule of the protocol: what a trader owes (fees, funding paid, losses, margin
     requirements) rounds up, what a trader receives rounds down. The signed helpers round toward
     -inf (`roundup=False`) or +inf (`roundup=True`), never toward zero like Vyper's `//` on
     negative numbers, so callers pick the direction that favours the protocol.
"""

from snekmate.utils import math

WAD: constant(uint256) = 10**18
IWAD: constant(int256) = 10**18


@internal
@pure
def _mul_div(x: uint256, y: uint256, denominator: uint256, roundup: bool) -> uint256:
    """
    @dev x·y/denominator with full 512-bit intermediate precision, rounded down or up.
    """
    return math._mul_div(x, y, denominator, roundup)


@internal
@pure
def _mul_div_signed(x: int256, y: uint256, denominator: uint256, roundup: bool) -> int256:
    """
    @dev x·y/denominator for a signed x, rounded toward +inf (`roundup`) or -inf.
         Reverts (checked negation) for x = min_value(int256), which no amount reaches.
    """
    if x >= 0:
        return convert(math._mul_div(convert(x, uint256), y, denominator, roundup), int256)
    return -convert(math._mul_div(convert(-x, uint256), y, denominator, not roundup), int256)


@internal
@pure
def _abs(x: int256) -> uint256:
    """
    @dev |x| as uint256 (checked negation: min_value(int256) reverts).
    """
    if x >= 0:
        return convert(x, uint256)
    return convert(-x, uint256)
