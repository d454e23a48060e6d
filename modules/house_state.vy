# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title house_state
@notice The ClearingHouse's storage. HouseAdmin runs the administration functions by
        delegatecall in the ClearingHouse's storage, so both contracts initialise this module
        at the same place (right after snekmate's `ownable` and `ownable_2step`): their storage
        layouts are the same by construction, and a test compares them. The vault and the
        oracle adapter are immutables here, so every mechanism module reaches them.
"""

from interfaces import IClearingHouse

MASK64: constant(uint256) = 2**64 - 1
FLAG_PAUSED: constant(uint256) = 1
FLAG_REDUCE_ONLY: constant(uint256) = 2
FLOOR_UNIT: constant(uint256) = 10**9  # the keeper reward floor is kept in units of 1e-9 quote
MASK128: constant(uint256) = 2**128 - 1
MASK96: constant(uint256) = 2**96 - 1
MASK32: constant(uint256) = 2**32 - 1
HALF96: constant(int256) = 2**95


struct Market:
    vamm: address
    # initial margin ratio | maintenance margin ratio | fee rate | insurance share, 64 bits each
    risk: uint256
    # max open interest per side (low 128) | max position size (high 128), base units
    caps: uint256
    # min position notional (low 128) | flags (next 64) | oracle band, WAD (high 64)
    state: uint256
    # long open interest (low 128) | short open interest (high 128), base units
    open_interest: uint256
    # bad debt the insurance fund could not pay: recorded in total (low 128) | outstanding, i.e.
    # not socialised and not yet repaid (high 128)
    shortfall: uint256
    # cumulative funding per unit: paid by longs (low 128, signed) | received by shorts (high)
    funding: uint256
    # last funding settlement (low 64) | vAMM Σ mark · seconds at that moment (high 192)
    funding_clock: uint256
    # oracle Σ index · seconds (low 192) | oracle Σ valid seconds (high 64), at that moment
    index_clock: uint256
    # funding period (low 64) | max rate per hour, WAD (next 64) | max charged interval (next 64)
    funding_params: uint256
    # penalty (low 64) | liquidator share (next 64) | partial buffer (next 64), WAD |
    # keeper reward floor (high 64, units of 1e-9 quote)
    liquidation: uint256
    # funding per unit of base per hour at the rate in force, signed quote WAD (low 128) |
    # oracle Σ valid seconds when funding was last accrued (next 64) | Σ valid seconds up to
    # which the rate in force is charged at most (high 64)
    funding_rate: uint256


struct Position:
    # size, signed base (low 128) | open notional (high 128)
    base: uint256
    # margin (low 128) | funding index of the position's side when last settled (next 96,
    # signed) | stamp of the block it was last liquidated in (high 32, see `_stamp`)
    collateral: uint256


vault: public(immutable(address))
oracle: public(immutable(address))

guardian: public(address)
market_count: public(uint256)
# the governance withdrawal never takes the insurance fund below this
insurance_floor: public(uint256)
# Σ outstanding shortfall over all markets
total_shortfall: public(uint256)
_markets: HashMap[uint256, Market]
_positions: HashMap[address, HashMap[uint256, Position]]


@deploy
def __init__(vault_: address, oracle_: address):
    vault = vault_
    oracle = oracle_


@internal
@view
def _flags(market_id: uint256) -> uint256:
    return (self._markets[market_id].state >> 128) & MASK64


@internal
@view
def _oracle_band(market_id: uint256) -> uint256:
    return self._markets[market_id].state >> 192


@internal
def _set_flag(market_id: uint256, flag: uint256, on: bool, by: address):
    """
    @dev Turn a market flag (pause, reduce-only) on or off, with its event.
    """
    state: uint256 = self._markets[market_id].state
    flags: uint256 = (state >> 128) & MASK64
    if on:
        flags = flags | flag
    else:
        flags = flags & ~flag
    self._markets[market_id].state = (state & ~(MASK64 << 128)) | (flags << 128)
    log IClearingHouse.MarketFlagsSet(
        market=market_id,
        paused=flags & FLAG_PAUSED != 0,
        reduce_only=flags & FLAG_REDUCE_ONLY != 0,
        by=by,
    )


@internal
@view
def _stamp() -> uint256:
    """
    @dev The current block as a nonzero 32-bit stamp (0 means "never liquidated").
    """
    return block.number % MASK32 + 1


@internal
@pure
def _collateral(margin: uint256, index: int256, stamp: uint256) -> uint256:
    """
    @dev Pack a position's margin, funding index (signed 96 bits) and liquidation stamp.
    """
    assert margin <= MASK128, "ch: margin overflow"
    assert index >= -HALF96 and index < HALF96, "ch: funding index overflow"
    return margin | ((convert(convert(index, bytes32), uint256) & MASK96) << 128) | (stamp << 224)


@internal
@pure
def _collateral_index(word: uint256) -> int256:
    """
    @dev The funding index stored in a position's collateral word.
    """
    bits: uint256 = (word >> 128) & MASK96
    if bits >= convert(HALF96, uint256):
        return convert(bits, int256) - 2 * HALF96
    return convert(bits, int256)
