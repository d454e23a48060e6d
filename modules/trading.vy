# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title trading
@notice Open, increase, reduce, close and flip a position against its market's vAMM.
@dev One function, `_trade`, splits a trade into the part that reduces the current position
     (a free vAMM swap: reducing and closing are always allowed) and the part that opens
     exposure (limits, caps, the oracle guard band and the initial margin under both
     valuations apply). Funding is accrued and the position's funding settled first; funding
     owed is netted against realised PnL before anything is called bad debt.
     Rounding: fees ⌈quote × rate⌉; the open notional released on a reduce rounds against the
     trader (up for a long, down for a short); the vAMM rounds quote in up, quote out down.
     Amounts are 18-decimal quote, sizes 18-decimal base.
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
FLAG_PAUSED: constant(uint256) = house_state.FLAG_PAUSED
FLAG_REDUCE_ONLY: constant(uint256) = house_state.FLAG_REDUCE_ONLY
SWAP_FREE: constant(uint256) = 0
SWAP_OPENING: constant(uint256) = 1


@internal
def _trade(
    trader: address,
    market_id: uint256,
    base_delta: int256,
    margin_in: uint256,
    quote_limit: uint256,
):
    """
    @dev Trade `base_delta` for `trader`; see `ClearingHouse.open_position`.
    """
    # field by field: a trade needs neither the shortfall nor the funding clocks
    vamm: address = house_state._markets[market_id].vamm
    assert vamm != empty(address), "ch: unknown market"
    risk: uint256 = house_state._markets[market_id].risk
    state: uint256 = house_state._markets[market_id].state
    position: house_state.Position = house_state._positions[trader][market_id]
    assert position.collateral >> 224 != house_state._stamp(), "ch: liquidated in this block"
    old_size: int256 = packed._signed(packed._lo(position.base))
    size: int256 = old_size
    open_notional: uint256 = packed._hi(position.base)
    old_margin: uint256 = packed._lo(position.collateral)

    # how much of the trade reduces the current position, and how much opens exposure
    delta_abs: uint256 = fixed_point._abs(base_delta)
    reducing: uint256 = 0
    if size != 0 and (size > 0) != (base_delta > 0):
        reducing = min(delta_abs, fixed_point._abs(size))
    opening: uint256 = delta_abs - reducing
    index_price: uint256 = 0
    if opening != 0:
        flags: uint256 = (state >> 128) & MASK64
        assert flags & FLAG_PAUSED == 0, "ch: market paused"
        assert flags & FLAG_REDUCE_ONLY == 0, "ch: market is reduce-only"
        index_price = extcall IOracleAdapter(house_state.oracle).touch_valid(market_id)
    else:
        assert margin_in == 0, "ch: margin only with an opening trade"
    # funding first: accrue the market, then settle what the position owes or is owed
    insurance_delta: int256 = funding._accrue(market_id)
    word: uint256 = house_state._markets[market_id].funding
    equity: int256 = 0
    funding_paid: int256 = 0
    index: int256 = 0
    equity, funding_paid, index = funding._apply(
        old_size, old_margin, house_state._collateral_index(position.collateral), word
    )
    fee_rate: uint256 = (risk >> 128) & MASK64
    quote_total: uint256 = 0
    fee_total: uint256 = 0
    realised: int256 = 0
    free_delta: int256 = 0
    debt: uint256 = 0

    if reducing != 0:
        part: int256 = convert(reducing, int256)
        if base_delta < 0:
            part = -part
        quote: uint256 = 0
        mark_after: uint256 = 0
        quote, mark_after = extcall IVamm(vamm).swap(part, SWAP_FREE)
        quote_total = quote
        size_abs: uint256 = fixed_point._abs(size)
        released: uint256 = fixed_point._mul_div(open_notional, reducing, size_abs, size > 0)
        realised = health._pnl(size, released, quote)
        fee: uint256 = fixed_point._mul_div(quote, fee_rate, WAD, True)
        size += part
        open_notional -= released
        # funding owed nets against the realised PnL
        available: int256 = equity + realised
        if size == 0:
            # full close: everything left goes back to free collateral
            if available >= convert(fee, int256):
                free_delta = available - convert(fee, int256)
            elif available >= 0:
                fee = convert(available, uint256)  # the fee takes what is left
            else:
                fee = 0
                debt = convert(-available, uint256)
            equity = 0
        else:
            equity = available - convert(fee, int256)
            assert equity >= 0, "ch: reduce leaves negative margin, close instead"
        fee_total = fee

    if opening != 0:
        part: int256 = convert(opening, int256)
        if base_delta < 0:
            part = -part
        quote: uint256 = 0
        mark_after: uint256 = 0
        quote, mark_after = extcall IVamm(vamm).swap(part, SWAP_OPENING)
        # guard rail: an opening trade may not take the mark further than the band from the index
        band: uint256 = state >> 192
        if part > 0:
            assert mark_after * WAD <= index_price * (WAD + band), (
                "ch: mark would leave the oracle band"
            )
        else:
            assert mark_after * WAD >= index_price * (WAD - band), (
                "ch: mark would leave the oracle band"
            )
        quote_total += quote
        fee: uint256 = fixed_point._mul_div(quote, fee_rate, WAD, True)
        size += part
        open_notional += quote
        equity += convert(margin_in, int256)
        free_delta -= convert(margin_in + fee, int256)
        fee_total += fee
        assert fixed_point._abs(size) <= packed._hi(house_state._markets[market_id].caps), (
            "ch: position too large"
        )
        assert health._meets_initial(
            equity,
            size,
            open_notional,
            staticcall IVamm(vamm).quote_for(-size),
            index_price,
            risk & MASK64,
        ), "ch: margin below initial requirement"

    if base_delta > 0:
        assert quote_total <= quote_limit, "ch: slippage, quote in above limit"
    else:
        assert quote_total >= quote_limit, "ch: slippage, quote out below limit"
    if size != 0:
        assert open_notional >= packed._lo(state), "ch: position below minimum notional"

    self._update_open_interest(market_id, old_size, size, opening != 0)
    margin: uint256 = convert(equity, uint256)  # ≥ 0: checked above on every path
    house_state._positions[trader][market_id] = house_state.Position(
        base=packed._pack(packed._signed_bits(size), open_notional),
        collateral=house_state._collateral(margin, funding._side_index(size, word), 0),
    )

    fee_share: int256 = convert(fixed_point._mul_div(fee_total, risk >> 192, WAD, False), int256)
    insurance_delta += fee_share
    if debt != 0:
        insurance_delta -= convert(
            bad_debt._cover(trader, market_id, debt, insurance_delta), int256
        )
    extcall IVault(house_state.vault).move(
        trader,
        free_delta,
        convert(margin, int256) - convert(old_margin, int256),
        insurance_delta,
        convert(fee_total, int256) - fee_share,
    )
    log IClearingHouse.PositionChanged(
        trader=trader,
        market=market_id,
        base_delta=base_delta,
        quote_amount=quote_total,
        size=size,
        open_notional=open_notional,
        margin=margin,
        realised_pnl=realised,
        fee=fee_total,
        funding_paid=funding_paid,
        bad_debt=debt,
    )


@internal
def _update_open_interest(market_id: uint256, old_size: int256, new_size: int256, opening: bool):
    """
    @dev Open interest per side in base. An opening trade may not take its own side above the
         cap (a trade that only shrinks a side, or the other side's lead, always passes).
    """
    word: uint256 = house_state._markets[market_id].open_interest
    longs: uint256 = packed._lo(word)
    shorts: uint256 = packed._hi(word)
    if old_size > 0:
        longs -= convert(old_size, uint256)
    elif old_size < 0:
        shorts -= convert(-old_size, uint256)
    if new_size > 0:
        longs += convert(new_size, uint256)
    elif new_size < 0:
        shorts += convert(-new_size, uint256)
    if opening:
        cap: uint256 = packed._lo(house_state._markets[market_id].caps)
        if new_size > 0:
            assert longs <= cap, "ch: open interest cap"
        else:
            assert shorts <= cap, "ch: open interest cap"
    house_state._markets[market_id].open_interest = packed._pack(longs, shorts)
