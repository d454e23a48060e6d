# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title bad_debt
@notice One path for every loss a margin cannot pay (a close, a funding charge, a liquidation).
@dev 1. The insurance fund pays as far as it can (its balance plus what the current transaction
        is about to book to it).
     2. The rest is recorded (`shortfall`, cumulative), the market turns reduce-only, and it is
        socialised over the market's open positions: both funding indices move by
        ⌈uncovered / (long + short open interest)⌉ per unit of base (at most the mark price per
        unit), so every open position pays the same amount per unit when next touched, as
        Drift v2 does.
     3. What cannot be socialised (no open interest, or the per-unit cap) stays outstanding
        (`outstanding_shortfall`, `total_shortfall`), repaid from the fund first.
     Nothing reverts on the way. Amounts are 18-decimal quote.
"""

from interfaces import IClearingHouse
from interfaces import IVamm
from interfaces import IVault
from modules import fixed_point
from modules import funding
from modules import house_state
from modules import packed

uses: house_state
uses: funding

WAD: constant(uint256) = fixed_point.WAD
FLAG_REDUCE_ONLY: constant(uint256) = house_state.FLAG_REDUCE_ONLY


@internal
def _cover(trader: address, market_id: uint256, amount: uint256, pending: int256) -> uint256:
    """
    @dev Handle `amount` of bad debt of `trader` in `market_id`; `pending` is the insurance
         delta the caller has not booked yet. Returns what the fund covers (for the caller to
         book as a negative insurance delta).
    """
    fund: int256 = convert(staticcall IVault(house_state.vault).insurance_fund(), int256) + pending
    covered: uint256 = min(amount, convert(max(fund, 0), uint256))
    uncovered: uint256 = amount - covered
    socialised: uint256 = 0
    if uncovered != 0:
        oi: uint256 = house_state._markets[market_id].open_interest
        total: uint256 = packed._lo(oi) + packed._hi(oi)
        if total != 0:
            per_unit: uint256 = min(
                fixed_point._mul_div(uncovered, WAD, total, True),
                staticcall IVamm(house_state._markets[market_id].vamm).mark_price(),
            )
            socialised = min(fixed_point._mul_div(per_unit, total, WAD, False), uncovered)
            charge: int256 = convert(per_unit, int256)
            funding._move_indices(market_id, charge, charge)
        # recorded: every uncovered amount (low 128) | outstanding: not socialised (high 128)
        outstanding: uint256 = uncovered - socialised
        word: uint256 = house_state._markets[market_id].shortfall
        house_state._markets[market_id].shortfall = packed._pack(
            packed._lo(word) + uncovered, packed._hi(word) + outstanding
        )
        if outstanding != 0:
            house_state.total_shortfall += outstanding
        house_state._set_flag(market_id, FLAG_REDUCE_ONLY, True, self)
    log IClearingHouse.BadDebt(
        trader=trader,
        market=market_id,
        amount=amount,
        covered_by_insurance=covered,
        socialised=socialised,
        shortfall=uncovered - socialised,
    )
    return covered
