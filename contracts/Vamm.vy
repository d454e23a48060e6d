# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title Vamm
@notice The virtual constant-product AMM of one market: reserves (base, quote) with
        base · quote ≥ k, k fixed for the life of the market. No tokens are held here; the
        ClearingHouse is the only caller of `swap`, and the quote it reports is what positions
        are opened and closed at.
@dev Quote reserve is always ceil(k / base reserve), so the price is a function of the base
     reserve alone: trading is path-independent, a round trip returns exactly what it paid, and
     the vAMM's net base position equals base reserve − initial base reserve = −Σ trader sizes.
     Rounding favours the protocol both ways (quote paid in rounds up, quote paid out rounds
     down). Protections: a per-block price-move limit (an opening trade may not take the price
     further than `price_move_limit` from the block's reference price, the price before the
     block's first trade) and a maximum trade size against the base reserve. After a
     liquidation only liquidations trade in that block, so nobody trades before and after a
     liquidation in the same block (the ClearingHouse bounds a liquidation's fill by the oracle
     price, so a push before it cannot worsen it beyond that bound either). An O(1) cumulative mark price (Σ price · seconds) serves
     TWAPs. The owner (two-step) can only tune the two limits, within bounds; there is nothing
     to pause here.
"""

from interfaces import IVamm
from modules import fixed_point
from modules import packed
from snekmate.auth import ownable
from snekmate.auth import ownable_2step

implements: IVamm

initializes: ownable
initializes: ownable_2step[ownable := ownable]

exports: (
    ownable_2step.owner,
    ownable_2step.pending_owner,
    ownable_2step.transfer_ownership,
    ownable_2step.accept_ownership,
)

WAD: constant(uint256) = fixed_point.WAD
MAX_PRICE_MOVE_LIMIT: constant(uint256) = WAD // 2  # 50 % per block
MAX_TRADE_RATIO: constant(uint256) = WAD // 2  # half the base reserve
MIN_RESERVE: constant(uint256) = 10**18  # at least one whole unit of each reserve

clearing_house: public(immutable(address))
k: public(immutable(uint256))
_initial_base: immutable(uint256)

# base reserve (low 128 bits) | quote reserve (high 128 bits)
_reserves: uint256
# price-move limit (low 128 bits) | maximum trade / base reserve (high 128 bits), both WAD
_limits: uint256
# block number (low 128 bits) | base reserve before the block's first trade (high 128 bits)
_block_reference: uint256
# timestamp of the last accrual (low 128 bits) | Σ mark price · seconds (high 128 bits)
_accumulator: uint256
# the block of the last liquidation (low 128 bits) | 1 when a liquidation crossed the
# price-move limit in that block (high 128 bits)
_liquidation: uint256

# swap modes
FREE: constant(uint256) = 0  # reduce and close: no limits
OPENING: constant(uint256) = 1  # open and increase: size and price-move limits
LIQUIDATION: constant(uint256) = 2  # may cross the price-move limit, once per block


@deploy
def __init__(
    clearing_house_: address,
    base_reserve: uint256,
    quote_reserve: uint256,
    price_move_limit_: uint256,
    max_trade_ratio_: uint256,
):
    """
    @param clearing_house_ The only address allowed to swap.
    @param base_reserve Initial virtual base reserve, 18 decimals.
    @param quote_reserve Initial virtual quote reserve, 18 decimals; the initial mark price is
           quote_reserve / base_reserve.
    @param price_move_limit_ Maximum price move of an opening trade from the block's first
           price, WAD (e.g. 0.1e18 = 10 %).
    @param max_trade_ratio_ Maximum |base| of an opening trade as a fraction of the base
           reserve, WAD.
    """
    ownable.__init__()
    ownable_2step.__init__()
    assert clearing_house_ != empty(address), "vamm: zero clearing house"
    assert base_reserve >= MIN_RESERVE and quote_reserve >= MIN_RESERVE, "vamm: reserve too small"
    clearing_house = clearing_house_
    k = base_reserve * quote_reserve
    _initial_base = base_reserve
    self._reserves = packed._pack(base_reserve, quote_reserve)
    self._set_limits(price_move_limit_, max_trade_ratio_)
    self._accumulator = packed._pack(block.timestamp, 0)


@external
@view
@reentrant
def reserves() -> (uint256, uint256):
    """
    @notice (base reserve, quote reserve), 18 decimals.
    """
    word: uint256 = self._reserves
    return packed._lo(word), packed._hi(word)


@external
@view
@reentrant
def mark_price() -> uint256:
    """
    @notice Quote per base, 18 decimals, rounded down.
    """
    word: uint256 = self._reserves
    return packed._hi(word) * WAD // packed._lo(word)


@external
@view
@reentrant
def net_base() -> int256:
    """
    @notice The vAMM's own base position: base reserve − initial base reserve = −Σ trader sizes.
    """
    return convert(packed._lo(self._reserves), int256) - convert(_initial_base, int256)


@external
@view
@reentrant
def initial_base() -> uint256:
    """
    @notice The base reserve at deployment, 18 decimals. A short can always be closed while the
            open interest of each side stays below it.
    """
    return _initial_base


@external
@view
@reentrant
def liquidated_in_block() -> bool:
    """
    @notice True when a liquidation traded in the current block: only liquidations may trade
            until the next block.
    """
    return packed._lo(self._liquidation) == block.number


@external
@view
@reentrant
def cumulative_mark() -> (uint256, uint256):
    """
    @notice (Σ mark price · seconds up to now, now). TWAP over [t0, t1] = Δcumulative / Δt.
    """
    return self._cumulative(self._reserves), block.timestamp


@external
@view
@reentrant
def quote_for(base_delta: int256) -> uint256:
    """
    @notice The quote a swap of `base_delta` would take in (> 0: trader buys base) or pay out
            (< 0: trader sells base) now, without limits. Used to value positions at exit.
    """
    return self._quote(self._reserves, base_delta)[0]


@external
@view
@reentrant
def exit_values(base_delta: int256) -> (uint256, uint256):
    """
    @notice The quote a swap of `base_delta` would take in or pay out now, and what it would
            from the reserves before the current block's first trade (the block's reference;
            the same when nothing traded in this block yet). A check that lets value leave uses
            the one less favourable to the trader, so trades earlier in the same block cannot
            help it.
    """
    reserves_: uint256 = self._reserves
    now_: uint256 = self._quote(reserves_, base_delta)[0]
    block_reference: uint256 = self._block_reference
    if packed._lo(block_reference) != block.number:
        return now_, now_
    base: uint256 = packed._hi(block_reference)
    reference: uint256 = packed._pack(base, fixed_point._mul_div(k, 1, base, True))
    return now_, self._quote(reference, base_delta)[0]


@external
@view
@reentrant
def price_move_limit() -> uint256:
    """
    @notice Maximum price move of an opening trade within one block, WAD.
    """
    return packed._lo(self._limits)


@external
@view
@reentrant
def max_trade_ratio() -> uint256:
    """
    @notice Maximum |base| of an opening trade as a fraction of the base reserve, WAD.
    """
    return packed._hi(self._limits)


@external
def swap(base_delta: int256, mode: uint256) -> (uint256, uint256):
    """
    @notice Trade `base_delta` base against the vAMM (ClearingHouse only).
    @param base_delta > 0: the trader buys base (goes long); < 0: sells base.
    @param mode 0: a reduce or close, no limits. 1: a trade that opens or increases exposure: at
           most `max_trade_ratio` of the base reserve, and it may not take the price further
           than `price_move_limit` from the block's reference price (a trade back toward it
           passes). 2: a liquidation: it may end beyond the price-move limit, but only one
           liquidation per block may take the price further beyond it. Modes 0 and 1 revert in
           a block in which a liquidation traded.
    @return (quote taken in (buy, rounded up) or paid out (sell, rounded down), 18 decimals;
            mark price after the trade, 18 decimals, rounded down).
    @dev Reverts: "vamm: caller is not the clearing house", "vamm: zero trade",
         "vamm: trade too large", "vamm: price move limit", "vamm: no trades after a
         liquidation in this block",
         "vamm: price move limit already crossed by a liquidation in this block",
         "vamm: not enough base liquidity".
    """
    assert msg.sender == clearing_house, "vamm: caller is not the clearing house"
    assert base_delta != 0, "vamm: zero trade"
    reserves_: uint256 = self._reserves
    base: uint256 = packed._lo(reserves_)
    quote: uint256 = packed._hi(reserves_)
    before: uint256 = quote * WAD // base

    # accrue the accumulator at the price that held since the last accrual
    if block.timestamp > packed._lo(self._accumulator):
        self._accumulator = packed._pack(block.timestamp, self._cumulative(reserves_))
    # the block's reference price is the price before its first trade
    reference: uint256 = before
    block_reference: uint256 = self._block_reference
    if packed._lo(block_reference) == block.number:
        reference_base: uint256 = packed._hi(block_reference)
        reference = fixed_point._mul_div(k, 1, reference_base, True) * WAD // reference_base
    else:
        self._block_reference = packed._pack(block.number, base)

    liquidation: uint256 = self._liquidation
    liquidated_here: bool = packed._lo(liquidation) == block.number
    if mode != LIQUIDATION:
        assert not liquidated_here, "vamm: no trades after a liquidation in this block"

    amount: uint256 = 0
    new_base: uint256 = 0
    new_quote: uint256 = 0
    amount, new_base, new_quote = self._quote(reserves_, base_delta)
    price: uint256 = new_quote * WAD // new_base

    crossed: uint256 = 0
    if liquidated_here:
        crossed = packed._hi(liquidation)
    if mode != FREE:
        limits: uint256 = self._limits
        if mode == OPENING:
            size: uint256 = fixed_point._abs(base_delta)
            assert size * WAD <= base * packed._hi(limits), "vamm: trade too large"
        move: uint256 = self._distance(price, reference)
        # beyond the limit and further from the reference than before the trade
        if move * WAD > reference * packed._lo(limits) and move > self._distance(before, reference):
            assert mode == LIQUIDATION, "vamm: price move limit"
            assert crossed == 0, (
                "vamm: price move limit already crossed by a liquidation in this block"
            )
            crossed = 1
    if mode == LIQUIDATION:
        self._liquidation = packed._pack(block.number, crossed)
    self._reserves = packed._pack(new_base, new_quote)
    log IVamm.Swap(
        base_delta=base_delta, quote_amount=amount, base_reserve=new_base, quote_reserve=new_quote
    )
    return amount, price


@external
def set_limits(price_move_limit_: uint256, max_trade_ratio_: uint256):
    """
    @notice Set the per-block price-move limit and the maximum trade ratio (owner only).
    @param price_move_limit_ WAD, in (0, 0.5].
    @param max_trade_ratio_ WAD, in (0, 0.5].
    """
    ownable._check_owner()
    self._set_limits(price_move_limit_, max_trade_ratio_)


@internal
def _set_limits(price_move_limit_: uint256, max_trade_ratio_: uint256):
    assert price_move_limit_ != 0, "vamm: zero price move limit"
    assert price_move_limit_ <= MAX_PRICE_MOVE_LIMIT, "vamm: price move limit too high"
    assert max_trade_ratio_ != 0, "vamm: zero max trade ratio"
    assert max_trade_ratio_ <= MAX_TRADE_RATIO, "vamm: max trade ratio too high"
    self._limits = packed._pack(price_move_limit_, max_trade_ratio_)
    log IVamm.LimitsSet(price_move_limit=price_move_limit_, max_trade_ratio=max_trade_ratio_)


@internal
@pure
def _distance(a: uint256, b: uint256) -> uint256:
    if a > b:
        return a - b
    return b - a


@internal
@view
def _cumulative(reserves_: uint256) -> uint256:
    acc: uint256 = self._accumulator
    elapsed: uint256 = block.timestamp - packed._lo(acc)
    return packed._hi(acc) + packed._hi(reserves_) * WAD // packed._lo(reserves_) * elapsed


@internal
@view
def _quote(reserves_: uint256, base_delta: int256) -> (uint256, uint256, uint256):
    """
    @dev (quote amount, new base reserve, new quote reserve) for a trade of `base_delta`.
    """
    base: uint256 = packed._lo(reserves_)
    quote: uint256 = packed._hi(reserves_)
    new_base: uint256 = 0
    if base_delta > 0:
        assert convert(base_delta, uint256) < base, "vamm: not enough base liquidity"
        new_base = base - convert(base_delta, uint256)
    else:
        new_base = base + convert(-base_delta, uint256)
    new_quote: uint256 = fixed_point._mul_div(k, 1, new_base, True)
    if base_delta > 0:
        return new_quote - quote, new_base, new_quote
    return quote - new_quote, new_base, new_quote
