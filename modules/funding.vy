# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title funding
@notice Funding between longs and shorts: continuous accrual at the rate in force, the
        settlement that measures the next rate, and the settlement of each position.
@dev Rule. A settlement (at most once per funding period) measures, over exactly the interval
     since the previous one, TWAP mark (Σ mark · s / elapsed, from the vAMM) and TWAP index (the
     average over the seconds the index was valid, from the oracle adapter):
     premium = (TWAP mark − TWAP index) / TWAP index, rate per hour = clamp(premium / 24,
     ±max rate), and sets funding per unit of base per hour = rate × TWAP index. That amount is
     then charged continuously, per valid index second, until the next settlement, for at most
     `max_interval` valid seconds (a late settlement charges the real time up to that cap). Both
     cumulative indices (longs pay, shorts receive) move on every touch of the market (trade,
     margin change, liquidation, settlement), so a position pays or earns funding exactly for
     the valid seconds it was open, whenever the settlement comes; a second in which the index
     was invalid is never charged and never measured. The vAMM is the counterparty of the
     long/short imbalance: the insurance fund takes paid − received; when it cannot pay, the
     receiving side's index moves less (as Drift does), so funding never drives it negative.
     Units: indices and per-unit amounts are 18-decimal quote per unit of base (signed); rates
     are WAD per hour; times are seconds.
"""

from interfaces import IClearingHouse
from interfaces import IOracleAdapter
from interfaces import IVamm
from interfaces import IVault
from modules import fixed_point
from modules import house_state
from modules import packed

uses: house_state

WAD: constant(uint256) = fixed_point.WAD
HOUR: constant(uint256) = 3600
PREMIUM_PAYOFF_HOURS: constant(int256) = 24  # a premium would be paid off in one day
MASK64: constant(uint256) = 2**64 - 1
MASK192: constant(uint256) = 2**192 - 1


@internal
def _accrue(market_id: uint256) -> int256:
    """
    @dev Charge the rate in force up to now; returns the insurance fund's delta (to book).
         Costs one storage read when no rate is in force.
    """
    word: uint256 = house_state._markets[market_id].funding_rate
    if packed._lo(word) == 0:
        return 0
    cum: uint256 = 0
    valid: uint256 = 0
    now_: uint256 = 0
    cum, valid, now_ = staticcall IOracleAdapter(house_state.oracle).cumulative(market_id)
    return self._accrue_to(market_id, word, valid)


@internal
def _accrue_to(market_id: uint256, word: uint256, valid: uint256) -> int256:
    """
    @dev Charge the rate of `word` for the valid seconds between its last accrual and `valid`
         (capped). Funding per unit = per-hour amount × seconds / 3600, rounded toward −∞.
    """
    last: uint256 = (word >> 128) & MASK64
    upto: uint256 = min(valid, word >> 192)
    if upto <= last:
        return 0
    house_state._markets[market_id].funding_rate = (word & ~(MASK64 << 128)) | (upto << 128)
    per_unit: int256 = fixed_point._mul_div_signed(
        packed._signed(packed._lo(word)), upto - last, HOUR, False
    )
    if per_unit == 0:
        return 0
    long_funding: int256 = 0
    short_funding: int256 = 0
    insurance_delta: int256 = 0
    long_funding, short_funding, insurance_delta = self._split(market_id, per_unit)
    self._move_indices(market_id, long_funding, -short_funding)
    return insurance_delta


@internal
def _move_indices(market_id: uint256, long_delta: int256, short_delta: int256):
    """
    @dev Add to the cumulative index longs pay (low half) and the one shorts receive, negated
         (high half): a positive `short_delta` is more paid by shorts.
    """
    word: uint256 = house_state._markets[market_id].funding
    house_state._markets[market_id].funding = packed._pack(
        packed._signed_bits(packed._signed(packed._lo(word)) + long_delta),
        packed._signed_bits(packed._signed(packed._hi(word)) - short_delta),
    )


@internal
@view
def _split(market_id: uint256, per_unit: int256) -> (int256, int256, int256):
    """
    @dev (per unit paid by longs, per unit received by shorts, insurance fund delta).
         Longs pay per_unit × L, shorts receive per_unit × S, the fund takes the imbalance.
         What the fund would have to pay beyond its balance is cut from the receiving side.
         The fund's delta rounds toward −∞; each position's charge rounds against it.
    """
    oi: uint256 = house_state._markets[market_id].open_interest
    longs: uint256 = packed._lo(oi)
    shorts: uint256 = packed._hi(oi)
    long_funding: int256 = per_unit
    short_funding: int256 = per_unit
    paid: int256 = fixed_point._mul_div_signed(per_unit, longs, WAD, False)
    received: int256 = fixed_point._mul_div_signed(per_unit, shorts, WAD, True)
    if paid < received:
        fund: int256 = convert(staticcall IVault(house_state.vault).insurance_fund(), int256)
        if received - paid > fund:
            if per_unit > 0:
                # shorts receive what longs pay plus the whole fund
                short_funding = fixed_point._mul_div_signed(paid + fund, WAD, shorts, False)
                received = fixed_point._mul_div_signed(short_funding, shorts, WAD, True)
            else:
                # longs receive what shorts pay plus the whole fund (per unit, both negative)
                long_funding = -fixed_point._mul_div_signed(fund - received, WAD, longs, False)
                paid = fixed_point._mul_div_signed(long_funding, longs, WAD, False)
    return long_funding, short_funding, paid - received


@internal
def _settle(market_id: uint256) -> int256:
    """
    @dev The settlement: charge the old rate up to now, then measure the next one over the
         interval since the last settlement and start charging it. Returns the insurance
         fund's delta (to book).
    """
    vamm: address = house_state._markets[market_id].vamm
    assert vamm != empty(address), "ch: unknown market"
    clock: uint256 = house_state._markets[market_id].funding_clock
    params: uint256 = house_state._markets[market_id].funding_params
    last: uint256 = clock & MASK64
    assert block.timestamp >= last + (params & MASK64), "ch: funding period not elapsed"
    elapsed: uint256 = block.timestamp - last

    mark_cum: uint256 = 0
    now_: uint256 = 0
    mark_cum, now_ = staticcall IVamm(vamm).cumulative_mark()
    price_: uint256 = 0
    status: uint256 = 0
    index_cum: uint256 = 0
    valid: uint256 = 0
    price_, status, index_cum, valid = extcall IOracleAdapter(house_state.oracle).touch(market_id)
    word: uint256 = house_state._markets[market_id].funding_rate
    insurance_delta: int256 = 0
    if packed._lo(word) != 0:
        insurance_delta = self._accrue_to(market_id, word, valid)

    index_clock: uint256 = house_state._markets[market_id].index_clock
    valid_seconds: uint256 = valid - (index_clock >> 192)
    mark_twap: uint256 = (mark_cum - (clock >> 64)) // elapsed
    index_twap: uint256 = 0
    premium: int256 = 0
    rate: int256 = 0
    per_hour: int256 = 0
    if valid_seconds != 0:
        index_twap = (index_cum - (index_clock & MASK192)) // valid_seconds
    if index_twap != 0:
        premium = fixed_point._mul_div_signed(
            convert(mark_twap, int256) - convert(index_twap, int256), WAD, index_twap, False
        )
        max_rate: int256 = convert((params >> 64) & MASK64, int256)
        rate = max(min(premium // PREMIUM_PAYOFF_HOURS, max_rate), -max_rate)
        per_hour = fixed_point._mul_div_signed(rate, index_twap, WAD, False)
    # the new rate is charged from here, never again over seconds an earlier accrual charged
    start: uint256 = max(valid, (house_state._markets[market_id].funding_rate >> 128) & MASK64)
    house_state._markets[market_id].funding_rate = (
        packed._signed_bits(per_hour) | (start << 128) | ((valid + (params >> 128)) << 192)
    )
    house_state._markets[market_id].funding_clock = block.timestamp | (mark_cum << 64)
    house_state._markets[market_id].index_clock = index_cum | (valid << 192)
    log IClearingHouse.FundingSettled(
        market=market_id,
        rate=rate,
        premium=premium,
        mark_twap=mark_twap,
        index_twap=index_twap,
        elapsed=elapsed,
        charged_seconds=valid_seconds,
        funding_per_hour=per_hour,
        insurance_delta=insurance_delta,
    )
    return insurance_delta


# ---------------------------------------------------------------------------------------------
# positions


@internal
@pure
def _side_index(size: int256, word: uint256) -> int256:
    """
    @dev The cumulative funding index a position of `size` follows (`word`: the market's
         `funding`).
    """
    if size > 0:
        return packed._signed(packed._lo(word))
    if size < 0:
        return packed._signed(packed._hi(word))
    return 0


@internal
@pure
def _owed(size: int256, moved: int256) -> int256:
    """
    @dev Funding a position of `size` owes (> 0) or is owed (< 0) after its side's index moved
         by `moved`: a long pays ⌈size · moved⌉, a short receives ⌊|size| · moved⌋.
    """
    if size > 0:
        return fixed_point._mul_div_signed(moved, convert(size, uint256), WAD, True)
    if size < 0:
        return -fixed_point._mul_div_signed(moved, convert(-size, uint256), WAD, False)
    return 0


@internal
@pure
def _apply(
    size: int256, margin: uint256, position_index: int256, word: uint256
) -> (int256, int256, int256):
    """
    @dev Settle a position's funding: (equity = margin − funding owed, signed: negative when
         the funding exceeds the margin; funding paid (> 0) or received (< 0); the side's index
         now). Netting against realised PnL or added margin is the caller's, before anything is
         called bad debt.
    """
    if size == 0:
        return convert(margin, int256), 0, 0
    index: int256 = self._side_index(size, word)
    owed: int256 = self._owed(size, index - position_index)
    return convert(margin, int256) - owed, owed, index


@internal
@view
def _indices_now(market_id: uint256) -> uint256:
    """
    @dev The market's `funding` word as the next touch will see it (accrual included): for views.
    """
    word: uint256 = house_state._markets[market_id].funding
    rate_word: uint256 = house_state._markets[market_id].funding_rate
    if packed._lo(rate_word) == 0:
        return word
    cum: uint256 = 0
    valid: uint256 = 0
    now_: uint256 = 0
    cum, valid, now_ = staticcall IOracleAdapter(house_state.oracle).cumulative(market_id)
    last: uint256 = (rate_word >> 128) & MASK64
    upto: uint256 = min(valid, rate_word >> 192)
    if upto <= last:
        return word
    per_unit: int256 = fixed_point._mul_div_signed(
        packed._signed(packed._lo(rate_word)), upto - last, HOUR, False
    )
    long_funding: int256 = 0
    short_funding: int256 = 0
    delta: int256 = 0
    long_funding, short_funding, delta = self._split(market_id, per_unit)
    return packed._pack(
        packed._signed_bits(packed._signed(packed._lo(word)) + long_funding),
        packed._signed_bits(packed._signed(packed._hi(word)) + short_funding),
    )
