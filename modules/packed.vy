# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title packed
@notice Two 128-bit halves in one storage word, so that the hot trading paths touch one slot
        instead of two. Signed halves are stored as 128-bit two's complement.
@dev Every 18-decimal amount vperp stores fits 128 bits with a wide margin (3.4e20 whole units
     unsigned, 1.7e20 signed); `_pack` and `_signed_bits` revert instead of truncating.
"""

MASK128: constant(uint256) = 2**128 - 1
HALF128: constant(uint256) = 2**127


@internal
@pure
def _lo(word: uint256) -> uint256:
    return word & MASK128


@internal
@pure
def _hi(word: uint256) -> uint256:
    return word >> 128


@internal
@pure
def _pack(lo: uint256, hi: uint256) -> uint256:
    assert lo <= MASK128 and hi <= MASK128, "packed: overflow"
    return lo | (hi << 128)


@internal
@pure
def _signed_bits(x: int256) -> uint256:
    """
    @dev The 128-bit two's complement of x, for `_pack`.
    """
    assert x >= convert(min_value(int128), int256), "packed: overflow"
    assert x <= convert(max_value(int128), int256), "packed: overflow"
    return convert(convert(x, bytes32), uint256) & MASK128


@internal
@pure
def _signed(bits: uint256) -> int256:
    """
    @dev Inverse of `_signed_bits`.
    """
    if bits >= HALF128:
        # bits < 2**128 here, so the result lies in [-2**127, 0)
        return convert(bits, int256) - convert(2 * HALF128, int256)
    return convert(bits, int256)
