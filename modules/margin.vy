# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title margin
@notice Adding margin to and removing margin from an open position (isolated margin).
@dev Adding is always allowed (also paused, reduce-only, after a liquidation): funding owed is
     netted against the added amount first, and only what is still unpaid is bad debt.
     Removing lets value leave, so the margin left must meet the initial requirement under both
     valuations (the vAMM exit value — now or at the block's reference, whichever is worse — and
     the oracle price), positive unrealised PnL never counting; it needs a valid oracle price and
     an unpaused market. Amounts are 18-decimal quote.
"""

from interfaces import IClearingHouse
from interfaces import IOracleAdapter
from interfaces import IVamm
from interfaces import IVault
from modules import bad_debt
from modules import funding
from modules import health
from modules import house_state
from modules import packed

uses: house_state
uses: funding
uses: bad_debt

MASK64: constant(uint256) = house_state.MASK64
FLAG_PAUSED: constant(uint256) = house_state.FLAG_PAUSED


@internal
def _add(trader: address, market_id: uint256, amount: uint256):
    """
    @dev Move `amount` of `trader`'s free collateral into the position.
    """
    assert amount != 0, "ch: zero amount"
    assert house_state._markets[market_id].vamm != empty(address), "ch: unknown market"
    position: house_state.Position = house_state._positions[trader][market_id]
    size: int256 = packed._signed(packed._lo(position.base))
    assert size != 0, "ch: no position"
    insurance_delta: int256 = funding._accrue(market_id)
    word: uint256 = house_state._markets[market_id].funding
    old_margin: uint256 = packed._lo(position.collateral)
    equity: int256 = 0
    owed: int256 = 0
    index: int256 = 0
    equity, owed, index = funding._apply(
        size, old_margin, house_state._collateral_index(position.collateral), word
    )
    equity += convert(amount, int256)
    debt: uint256 = 0
    if equity < 0:
        debt = convert(-equity, uint256)
        equity = 0
    margin: uint256 = convert(equity, uint256)
    house_state._positions[trader][market_id].collateral = house_state._collateral(
        margin, index, position.collateral >> 224
    )
    if debt != 0:
        insurance_delta -= convert(
            bad_debt._cover(trader, market_id, debt, insurance_delta), int256
        )
    amount_: int256 = convert(amount, int256)
    extcall IVault(house_state.vault).move(
        trader, -amount_, convert(margin, int256) - convert(old_margin, int256), insurance_delta, 0
    )
    log IClearingHouse.MarginChanged(
        trader=trader, market=market_id, amount=amount_, margin=margin, funding_paid=owed
    )


@internal
def _remove(trader: address, market_id: uint256, amount: uint256):
    """
    @dev Move `amount` of the position's margin back to `trader`'s free collateral.
    """
    assert amount != 0, "ch: zero amount"
    vamm: address = house_state._markets[market_id].vamm
    assert vamm != empty(address), "ch: unknown market"
    assert house_state._flags(market_id) & FLAG_PAUSED == 0, "ch: market paused"
    position: house_state.Position = house_state._positions[trader][market_id]
    size: int256 = packed._signed(packed._lo(position.base))
    assert size != 0, "ch: no position"
    index_price: uint256 = extcall IOracleAdapter(house_state.oracle).touch_valid(market_id)
    insurance_delta: int256 = funding._accrue(market_id)
    word: uint256 = house_state._markets[market_id].funding
    old_margin: uint256 = packed._lo(position.collateral)
    equity: int256 = 0
    owed: int256 = 0
    index: int256 = 0
    equity, owed, index = funding._apply(
        size, old_margin, house_state._collateral_index(position.collateral), word
    )
    equity -= convert(amount, int256)
    assert equity >= 0, "ch: amount exceeds margin"
    open_notional: uint256 = packed._hi(position.base)
    # the vAMM exit value now or at the block's reference, whichever is worse for the trader:
    # trades earlier in this block (someone closing, say) cannot lift it
    exit_now: uint256 = 0
    exit_reference: uint256 = 0
    exit_now, exit_reference = staticcall IVamm(vamm).exit_values(-size)
    vamm_exit: uint256 = max(exit_now, exit_reference)  # a short buys back: more is worse
    if size > 0:
        vamm_exit = min(exit_now, exit_reference)  # a long sells: less is worse
    # ... and the oracle valuation too; positive PnL never counts
    assert health._meets_initial(
        equity,
        size,
        open_notional,
        vamm_exit,
        index_price,
        house_state._markets[market_id].risk & MASK64,
    ), "ch: margin below initial requirement"
    margin: uint256 = convert(equity, uint256)
    house_state._positions[trader][market_id].collateral = house_state._collateral(
        margin, index, position.collateral >> 224
    )
    amount_: int256 = convert(amount, int256)
    extcall IVault(house_state.vault).move(
        trader, amount_, convert(margin, int256) - convert(old_margin, int256), insurance_delta, 0
    )
    log IClearingHouse.MarginChanged(
        trader=trader, market=market_id, amount=-amount_, margin=margin, funding_paid=owed
    )
