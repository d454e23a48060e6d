# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title liquidation
@notice Permissionless liquidation of a position below maintenance, partial when possible.
@dev Who: below the maintenance ratio at both valuations (vAMM exit value and oracle price),
     i.e. at the one more favourable to the trader, with a valid oracle price.
     How much: above the penalty ratio (at the vAMM exit value), just enough to bring the rest
     back to maintenance + buffer: the larger of the sizes each valuation calls for, rounded up;
     the rest is then checked, with the real fill and penalty, to be at or above maintenance +
     buffer at both valuations and above the minimum notional, otherwise the whole position
     closes. Below the penalty ratio (at either valuation), the whole position.
     Where: the vAMM (see `Vamm.swap`, mode 2): the first liquidation of a block needs the price
     not to have moved against the position earlier in the block (beyond a 0.2 % slack), and
     nobody trades after it in that block; and it closes at most what fills, on average, within
     the liquidation penalty of the oracle price (the rest is liquidated in later blocks). So a
     push, in the same block or before, can neither enlarge what is sold nor worsen its price
     beyond that bound, and nobody trades before and after a liquidation in one block.
     Who gets what: penalty = max(⌈penalty × quote closed⌉, keeper floor), paid by the margin as
     far as it goes; the caller gets max(⌊share × paid⌋, floor) (the insurance fund tops it up
     to the floor as far as it holds), the fund the rest; a full liquidation returns what is
     left of the margin to the trader; what the margin cannot pay is bad debt (`bad_debt`).
     Amounts are 18-decimal quote, sizes 18-decimal base, ratios WAD.
"""

from interfaces import IClearingHouse
from interfaces import IOracleAdapter
from interfaces import IVamm
from interfaces import IVault
from modules import bad_debt
from modules import fixed_point
from modules import funding
from modules import health
from modules import house_state
from modules import packed

uses: house_state
uses: funding
uses: bad_debt

WAD: constant(uint256) = fixed_point.WAD
MASK64: constant(uint256) = house_state.MASK64
FLOOR_UNIT: constant(uint256) = house_state.FLOOR_UNIT
SWAP_LIQUIDATION: constant(uint256) = 2


struct Book:
    # what a liquidation needs to know about the position and the market
    size: int256
    open_notional: uint256
    equity: int256
    vamm_exit: uint256
    index_price: uint256
    params: uint256
    target: uint256


@internal
def _liquidate(trader: address, market_id: uint256, caller: address) -> uint256:
    """
    @dev Liquidate `trader`'s position; returns the caller's reward.
    """
    vamm: address = house_state._markets[market_id].vamm
    assert vamm != empty(address), "ch: unknown market"
    position: house_state.Position = house_state._positions[trader][market_id]
    size: int256 = packed._signed(packed._lo(position.base))
    assert size != 0, "ch: no position"
    # a validated read; the accumulator is left to pokes and trades (gas)
    index_price: uint256 = 0
    status: uint256 = 0
    index_price, status = staticcall IOracleAdapter(house_state.oracle).price(market_id)
    if status != 0:
        extcall IOracleAdapter(house_state.oracle).touch_valid(market_id)  # reverts: the reason
    accrued: int256 = funding._accrue(market_id)
    word: uint256 = house_state._markets[market_id].funding
    old_margin: uint256 = packed._lo(position.collateral)
    book: Book = empty(Book)
    book.size = size
    book.open_notional = packed._hi(position.base)
    book.index_price = index_price
    funding_paid: int256 = 0
    index: int256 = 0
    book.equity, funding_paid, index = funding._apply(
        size, old_margin, house_state._collateral_index(position.collateral), word
    )
    book.vamm_exit = staticcall IVamm(vamm).quote_for(-size)
    vamm_value: int256 = 0
    oracle_value: int256 = 0
    oracle_exit: uint256 = 0
    vamm_value, oracle_value, oracle_exit = health._valuations(
        book.equity, size, book.open_notional, book.vamm_exit, index_price
    )
    mmr: uint256 = (house_state._markets[market_id].risk >> 64) & MASK64
    # below maintenance at both valuations, i.e. at the one more favourable to the trader
    assert health._below(vamm_value, book.vamm_exit, mmr) and health._below(
        oracle_value, oracle_exit, mmr
    ), "ch: position is not liquidatable"

    book.params = house_state._markets[market_id].liquidation
    penalty_rate: uint256 = book.params & MASK64
    book.target = mmr + ((book.params >> 128) & MASK64)
    size_abs: uint256 = fixed_point._abs(size)
    amount: uint256 = size_abs
    if not (
        health._below(vamm_value, book.vamm_exit, penalty_rate)
        or health._below(oracle_value, oracle_exit, penalty_rate)
    ):
        amount = max(
            health._partial_amount(size_abs, vamm_value, book.vamm_exit, book.target, penalty_rate),
            health._partial_amount(size_abs, oracle_value, oracle_exit, book.target, penalty_rate),
        )
        if amount < size_abs and not self._rest_is_safe(vamm, market_id, book, amount):
            amount = size_abs
        # the fill is bounded by the oracle: at most what fills within the penalty of the oracle
        # price (the rest waits for a later block)


    amount = min(amount, self._fill_cap(vamm, size, index_price, penalty_rate))
    assert amount != 0, "ch: liquidation would fill too far from the oracle price"
    base_delta: int256 = convert(amount, int256)
    if size > 0:
        base_delta = -base_delta
    quote: uint256 = 0
    mark_after: uint256 = 0
    quote, mark_after = extcall IVamm(vamm).swap(base_delta, SWAP_LIQUIDATION)

    released: uint256 = fixed_point._mul_div(book.open_notional, amount, size_abs, size > 0)
    realised: int256 = health._pnl(size, released, quote)
    available: int256 = book.equity + realised
    floor_: uint256 = (book.params >> 192) * FLOOR_UNIT
    collected: uint256 = min(
        max(fixed_point._mul_div(quote, penalty_rate, WAD, True), floor_),
        convert(max(available, 0), uint256),
    )
    reward: uint256 = max(
        fixed_point._mul_div(collected, (book.params >> 64) & MASK64, WAD, False), floor_
    )
    available -= convert(collected, int256)
    penalty_delta: int256 = convert(collected, int256) - convert(reward, int256)
    new_size: int256 = size + base_delta
    debt: uint256 = 0
    left: uint256 = 0
    if available < 0:
        debt = convert(-available, uint256)
    else:
        left = convert(available, uint256)
    free_delta: int256 = 0
    if new_size == 0:
        free_delta = convert(left, int256)  # what is left of a fully liquidated margin
        left = 0

    oi: uint256 = house_state._markets[market_id].open_interest
    if size > 0:
        oi -= amount
    else:
        oi -= amount << 128
    house_state._markets[market_id].open_interest = oi
    house_state._positions[trader][market_id] = house_state.Position(
        base=packed._pack(packed._signed_bits(new_size), book.open_notional - released),
        collateral=house_state._collateral(left, index, house_state._stamp()),
    )
    if penalty_delta < 0 or debt != 0:
        fund: int256 = (
            convert(staticcall IVault(house_state.vault).insurance_fund(), int256) + accrued
        )
        if fund + penalty_delta < 0:
            # the fund tops the caller up to the floor only as far as it can
            reward = convert(convert(collected, int256) + fund, uint256)
            penalty_delta = -fund
        if debt != 0:
            penalty_delta -= convert(
                bad_debt._cover(trader, market_id, debt, accrued + penalty_delta), int256
            )
    extcall IVault(house_state.vault).move_with_reward(
        trader,
        free_delta,
        convert(left, int256) - convert(old_margin, int256),
        accrued + penalty_delta,
        caller,
        reward,
    )
    log IClearingHouse.Liquidated(
        trader=trader,
        market=market_id,
        liquidator=caller,
        base_closed=base_delta,
        quote_amount=quote,
        size=new_size,
        margin=left,
        realised_pnl=realised,
        penalty=collected,
        reward=reward,
        funding_paid=funding_paid,
        bad_debt=debt,
    )
    return reward


@internal
@view
def _fill_cap(vamm: address, size: int256, index_price: uint256, tolerance: uint256) -> uint256:
    """
    @dev The most base a liquidation of `size` may close so that its average fill lies within
         `tolerance` (WAD) of the oracle price. On x·y = k the average price of selling a from
         reserves (B, Q) is Q / (B + a), of buying a is Q / (B − a), so a long may sell up to
         Q / (P·(1 − tolerance)) − B and a short buy up to B − Q / (P·(1 + tolerance)), both
         rounded toward the smaller amount; 0 when the vAMM already is beyond the tolerance.
    """
    base: uint256 = 0
    quote: uint256 = 0
    base, quote = staticcall IVamm(vamm).reserves()
    if size > 0:
        most: uint256 = fixed_point._mul_div(
            quote, WAD * WAD, index_price * (WAD - tolerance), False
        )
        if most <= base:
            return 0
        return most - base
    least: uint256 = fixed_point._mul_div(quote, WAD * WAD, index_price * (WAD + tolerance), True)
    if least >= base:
        return 0
    return base - least


@internal
@view
def _rest_is_safe(vamm: address, market_id: uint256, book: Book, amount: uint256) -> bool:
    """
    @dev Whether closing `amount` leaves a rest at or above maintenance + buffer at both
         valuations, with the real fill and penalty, and above the minimum notional. By path
         independence the rest's vAMM exit value after the swap is the whole exit value minus
         the slice's quote.
    """
    size_abs: uint256 = fixed_point._abs(book.size)
    slice_: int256 = convert(amount, int256)
    rest: int256 = book.size + slice_
    if book.size > 0:
        slice_ = -slice_
        rest = book.size - convert(amount, int256)
    quote: uint256 = staticcall IVamm(vamm).quote_for(slice_)
    released: uint256 = fixed_point._mul_div(book.open_notional, amount, size_abs, book.size > 0)
    rest_notional: uint256 = book.open_notional - released
    if rest_notional < packed._lo(house_state._markets[market_id].state):
        return False
    penalty: uint256 = max(
        fixed_point._mul_div(quote, book.params & MASK64, WAD, True),
        (book.params >> 192) * FLOOR_UNIT,
    )
    margin_left: int256 = (
        book.equity + health._pnl(book.size, released, quote) - convert(penalty, int256)
    )
    rest_exit: uint256 = book.vamm_exit - quote
    vamm_value: int256 = 0
    oracle_value: int256 = 0
    oracle_exit: uint256 = 0
    vamm_value, oracle_value, oracle_exit = health._valuations(
        margin_left, rest, rest_notional, rest_exit, book.index_price
    )
    return not (
        health._below(vamm_value, rest_exit, book.target)
        or health._below(oracle_value, oracle_exit, book.target)
    )
