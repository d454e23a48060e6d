# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title ClearingHouse
@notice Positions per (trader, market) with isolated margin: open, increase, reduce, close and
        flip against each market's vAMM, with a slippage limit and a deadline; add and remove
        margin; fees split between the fee pool and the insurance fund; per-market risk
        parameters and caps. Money never leaves here: every balance change is one `Vault.move`.
@dev Rounding always favours the protocol: fees and margin requirements round up, the open
     notional released on a reduce rounds against the trader, and the vAMM rounds quote in up and
     quote out down.
     Pause: the guardian (or the owner) can pause a market, which blocks opening, increasing and
     removing margin while still allowing add-margin, reduce and close. A market whose bad debt
     the insurance fund could not cover turns reduce-only. Ownership is two-step (snekmate).
"""

from interfaces import IClearingHouse
from interfaces import IOracleAdapter
from interfaces import IVamm
from interfaces import IVault
from modules import fixed_point
from modules import packed
from snekmate.auth import ownable
from snekmate.auth import ownable_2step

implements: IClearingHouse

initializes: ownable
initializes: ownable_2step[ownable := ownable]

exports: (
    ownable_2step.owner,
    ownable_2step.pending_owner,
    ownable_2step.transfer_ownership,
    ownable_2step.accept_ownership,
)

WAD: constant(uint256) = fixed_point.WAD
MASK64: constant(uint256) = 2**64 - 1
FLAG_PAUSED: constant(uint256) = 1
FLAG_REDUCE_ONLY: constant(uint256) = 2
# parameter bounds
MIN_INITIAL_MARGIN_RATIO: constant(uint256) = WAD // 100  # 100x at most
MIN_MAINTENANCE_MARGIN_RATIO: constant(uint256) = WAD // 200  # 0.5 %
MAX_FEE_RATE: constant(uint256) = WAD // 100  # 1 %
MAX_MIN_POSITION_NOTIONAL: constant(uint256) = 10**6 * WAD
HOUR: constant(uint256) = 3600
PREMIUM_PAYOFF_HOURS: constant(int256) = 24  # a premium would be paid off in one day
DEFAULT_FUNDING_PERIOD: constant(uint256) = HOUR
DEFAULT_MAX_FUNDING_RATE: constant(uint256) = WAD // 1000  # 0.1 % per hour
DEFAULT_MAX_FUNDING_INTERVAL: constant(uint256) = 8 * HOUR
MIN_FUNDING_PERIOD: constant(uint256) = 60
MAX_FUNDING_PERIOD: constant(uint256) = 24 * HOUR
MAX_FUNDING_RATE: constant(uint256) = WAD // 100  # 1 % per hour
MAX_FUNDING_INTERVAL: constant(uint256) = 7 * 24 * HOUR
MASK192: constant(uint256) = 2**192 - 1


struct Market:
    vamm: address
    # initial margin ratio | maintenance margin ratio | fee rate | insurance share, 64 bits each
    risk: uint256
    # max open interest per side (low 128) | max position size (high 128), base units
    caps: uint256
    # min position notional (low 128) | flags (high 128)
    state: uint256
    # long open interest (low 128) | short open interest (high 128), base units
    open_interest: uint256
    # bad debt the insurance fund could not cover
    shortfall: uint256
    # cumulative funding per unit: paid by longs (low 128, signed) | received by shorts (high)
    funding: uint256
    # last funding settlement (low 64) | vAMM Σ mark · seconds at that moment (high 192)
    funding_clock: uint256
    # oracle Σ index · seconds (low 192) | oracle Σ valid seconds (high 64), at that moment
    index_clock: uint256
    # funding period (low 64) | max rate per hour, WAD (next 64) | max charged interval (next 64)
    funding_params: uint256


struct Position:
    # size, signed base (low 128) | open notional (high 128)
    base: uint256
    # margin (low 128) | funding index of the position's side when last settled (high, signed)
    collateral: uint256


vault: public(immutable(address))
oracle: public(immutable(address))
guardian: public(address)
market_count: public(uint256)
_markets: HashMap[uint256, Market]
_positions: HashMap[address, HashMap[uint256, Position]]


@deploy
def __init__(vault_: address, oracle_: address, guardian_: address):
    """
    @param vault_ The collateral vault (deployed with this contract's address).
    @param oracle_ The OracleAdapter giving each market's index price.
    @param guardian_ May pause and unpause markets.
    """
    ownable.__init__()
    ownable_2step.__init__()
    assert vault_ != empty(address), "ch: zero vault"
    assert oracle_ != empty(address), "ch: zero oracle"
    vault = vault_
    oracle = oracle_
    self.guardian = guardian_
    log IClearingHouse.GuardianSet(guardian=guardian_)


# ---------------------------------------------------------------------------------------------
# trading


@external
def open_position(
    market_id: uint256, base_delta: int256, margin: uint256, quote_limit: uint256, deadline: uint256
):
    """
    @notice Trade `base_delta` base in `market_id`: opens, increases, reduces, closes or flips the
            caller's position depending on its current side.
    @param market_id The market.
    @param base_delta > 0 buys base (long), < 0 sells base (short), 18 decimals.
    @param margin Free collateral moved into the position, 18 decimals. Only with a trade that
           opens exposure (open, increase, or the new side of a flip); must be 0 for a reduce.
    @param quote_limit Slippage limit: the most quote paid when buying, the least quote received
           when selling, 18 decimals.
    @param deadline The trade reverts after this timestamp.
    """
    assert block.timestamp <= deadline, "ch: expired"
    assert base_delta != 0, "ch: zero size"
    self._trade(msg.sender, market_id, base_delta, margin, quote_limit)


@external
def close_position(market_id: uint256, quote_limit: uint256, deadline: uint256):
    """
    @notice Close the caller's whole position; margin plus realised PnL minus fee returns to free
            collateral. Always allowed, also in paused and reduce-only markets.
    @param quote_limit The least quote received closing a long, the most paid closing a short.
    @param deadline The trade reverts after this timestamp.
    """
    assert block.timestamp <= deadline, "ch: expired"
    size: int256 = packed._signed(packed._lo(self._positions[msg.sender][market_id].base))
    assert size != 0, "ch: no position"
    self._trade(msg.sender, market_id, -size, 0, quote_limit)


@external
def add_margin(market_id: uint256, amount: uint256):
    """
    @notice Move `amount` of the caller's free collateral into their position. Always allowed.
    """
    assert amount != 0, "ch: zero amount"
    position: Position = self._positions[msg.sender][market_id]
    size: int256 = packed._signed(packed._lo(position.base))
    assert size != 0, "ch: no position"
    margin: uint256 = 0
    owed: int256 = 0
    index: int256 = 0
    bad_debt: uint256 = 0
    margin, owed, index, bad_debt = self._settle_funding_of(market_id, size, position.collateral)
    margin_delta: int256 = convert(margin + amount, int256) - convert(
        packed._lo(position.collateral), int256
    )
    margin += amount
    self._positions[msg.sender][market_id].collateral = packed._pack(
        margin, packed._signed_bits(index)
    )
    insurance_delta: int256 = 0
    if bad_debt != 0:
        insurance_delta = -convert(self._cover_bad_debt(msg.sender, market_id, bad_debt), int256)
    amount_: int256 = convert(amount, int256)
    extcall IVault(vault).move(msg.sender, -amount_, margin_delta, insurance_delta, 0)
    log IClearingHouse.MarginChanged(
        trader=msg.sender, market=market_id, amount=amount_, margin=margin, funding_paid=owed
    )


@external
def remove_margin(market_id: uint256, amount: uint256):
    """
    @notice Move `amount` of margin back to free collateral.
    @dev The margin left, counting unrealised losses but never unrealised profit, must cover the
         initial margin requirement on the position's exit notional. Blocked while paused.
    """
    assert amount != 0, "ch: zero amount"
    vamm: address = self._markets[market_id].vamm
    assert vamm != empty(address), "ch: unknown market"
    assert packed._hi(self._markets[market_id].state) & FLAG_PAUSED == 0, "ch: market paused"
    position: Position = self._positions[msg.sender][market_id]
    size: int256 = packed._signed(packed._lo(position.base))
    assert size != 0, "ch: no position"
    index_price: uint256 = extcall IOracleAdapter(oracle).touch_valid(market_id)
    margin: uint256 = 0
    owed: int256 = 0
    index: int256 = 0
    bad_debt: uint256 = 0
    margin, owed, index, bad_debt = self._settle_funding_of(market_id, size, position.collateral)
    assert amount <= margin, "ch: amount exceeds margin"
    margin_delta: int256 = convert(margin - amount, int256) - convert(
        packed._lo(position.collateral), int256
    )
    margin = unsafe_sub(margin, amount)  # checked just above
    open_notional: uint256 = packed._hi(position.base)
    exit_notional: uint256 = 0
    pnl: int256 = 0
    exit_notional, pnl = self._value(vamm, size, open_notional)
    # the valuation more favourable to the trader counts; positive PnL never does
    oracle_pnl: int256 = fixed_point._mul_div_signed(size, index_price, WAD, False) - (
        convert(open_notional, int256) if size > 0 else -convert(open_notional, int256)
    )
    self._check_initial_margin(
        margin, min(max(pnl, oracle_pnl), 0), exit_notional, self._markets[market_id].risk
    )
    self._positions[msg.sender][market_id].collateral = packed._pack(
        margin, packed._signed_bits(index)
    )
    amount_: int256 = convert(amount, int256)
    extcall IVault(vault).move(msg.sender, amount_, margin_delta, 0, 0)
    log IClearingHouse.MarginChanged(
        trader=msg.sender, market=market_id, amount=-amount_, margin=margin, funding_paid=owed
    )


@internal
def _trade(
    trader: address,
    market_id: uint256,
    base_delta: int256,
    margin_in: uint256,
    quote_limit: uint256,
):
    # field by field: a trade needs neither the shortfall nor the funding clocks
    market: Market = empty(Market)
    market.vamm = self._markets[market_id].vamm
    assert market.vamm != empty(address), "ch: unknown market"
    market.risk = self._markets[market_id].risk
    market.caps = self._markets[market_id].caps
    market.state = self._markets[market_id].state
    market.open_interest = self._markets[market_id].open_interest
    market.funding = self._markets[market_id].funding
    position: Position = self._positions[trader][market_id]
    old_size: int256 = packed._signed(packed._lo(position.base))
    size: int256 = old_size
    open_notional: uint256 = packed._hi(position.base)
    # funding first: every touch settles what the position owes or is owed
    margin: uint256 = 0
    funding_paid: int256 = 0
    index: int256 = 0
    bad_debt: uint256 = 0
    margin, funding_paid, index, bad_debt = self._apply_funding(
        old_size, position.collateral, market.funding
    )
    margin_delta: int256 = convert(margin, int256) - convert(
        packed._lo(position.collateral), int256
    )
    fee_rate: uint256 = (market.risk >> 128) & MASK64

    # how much of the trade reduces the current position, and how much opens exposure
    delta_abs: uint256 = fixed_point._abs(base_delta)
    reducing: uint256 = 0
    if size != 0 and (size > 0) != (base_delta > 0):
        reducing = min(delta_abs, fixed_point._abs(size))
    opening: uint256 = delta_abs - reducing
    if opening != 0:
        flags: uint256 = packed._hi(market.state)
        assert flags & FLAG_PAUSED == 0, "ch: market paused"
        assert flags & FLAG_REDUCE_ONLY == 0, "ch: market is reduce-only"
        extcall IOracleAdapter(oracle).touch_valid(market_id)
    else:
        assert margin_in == 0, "ch: margin only with an opening trade"

    quote_total: uint256 = 0
    fee_total: uint256 = 0
    realised: int256 = 0
    free_delta: int256 = 0

    if reducing != 0:
        part: int256 = convert(reducing, int256)
        if base_delta < 0:
            part = -part
        quote: uint256 = extcall IVamm(market.vamm).swap(part, False)
        quote_total = quote
        size_abs: uint256 = fixed_point._abs(size)
        released: uint256 = 0
        if size > 0:
            # long: proceeds minus cost; the cost released rounds up
            released = fixed_point._mul_div(open_notional, reducing, size_abs, True)
            realised = convert(quote, int256) - convert(released, int256)
        else:
            # short: proceeds (released notional) minus the cost of buying back; rounds down
            released = fixed_point._mul_div(open_notional, reducing, size_abs, False)
            realised = convert(released, int256) - convert(quote, int256)
        fee: uint256 = fixed_point._mul_div(quote, fee_rate, WAD, True)
        size += part
        open_notional -= released
        available: int256 = convert(margin, int256) + realised
        if size == 0:
            # full close: everything left goes back to free collateral
            payout: uint256 = 0
            if available >= convert(fee, int256):
                payout = convert(available, uint256) - fee
            elif available >= 0:
                fee = convert(available, uint256)  # the fee takes what is left
            else:
                fee = 0
                bad_debt += convert(-available, uint256)
            free_delta = convert(payout, int256)
            margin_delta -= convert(margin, int256)
            margin = 0
        else:
            left: int256 = available - convert(fee, int256)
            assert left >= 0, "ch: reduce leaves negative margin, close instead"
            margin_delta += left - convert(margin, int256)
            margin = convert(left, uint256)
        fee_total = fee

    if opening != 0:
        part: int256 = convert(opening, int256)
        if base_delta < 0:
            part = -part
        quote: uint256 = extcall IVamm(market.vamm).swap(part, True)
        quote_total += quote
        fee: uint256 = fixed_point._mul_div(quote, fee_rate, WAD, True)
        size += part
        open_notional += quote
        margin += margin_in
        free_delta -= convert(margin_in + fee, int256)
        margin_delta += convert(margin_in, int256)
        fee_total += fee
        caps: uint256 = market.caps
        assert fixed_point._abs(size) <= packed._hi(caps), "ch: position too large"
        exit_notional: uint256 = 0
        pnl: int256 = 0
        exit_notional, pnl = self._value(market.vamm, size, open_notional)
        self._check_initial_margin(margin, min(pnl, 0), exit_notional, market.risk)

    if base_delta > 0:
        assert quote_total <= quote_limit, "ch: slippage, quote in above limit"
    else:
        assert quote_total >= quote_limit, "ch: slippage, quote out below limit"
    if size != 0:
        assert open_notional >= packed._lo(market.state), "ch: position below minimum notional"

    self._update_open_interest(market_id, market, old_size, size, opening != 0)
    self._positions[trader][market_id] = Position(
        base=packed._pack(packed._signed_bits(size), open_notional),
        collateral=packed._pack(
            margin, packed._signed_bits(self._side_index(size, market.funding))
        ),
    )

    insurance_delta: int256 = convert(
        fixed_point._mul_div(fee_total, market.risk >> 192, WAD, False), int256
    )
    fee_delta: int256 = convert(fee_total, int256) - insurance_delta
    if bad_debt != 0:
        insurance_delta -= convert(self._cover_bad_debt(trader, market_id, bad_debt), int256)
    extcall IVault(vault).move(trader, free_delta, margin_delta, insurance_delta, fee_delta)
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
        bad_debt=bad_debt,
    )


# ---------------------------------------------------------------------------------------------
# funding


@external
def settle_funding(market_id: uint256):
    """
    @notice Settle the market's funding for the time since the last settlement (permissionless,
            at most once per funding period).
    @dev premium = (TWAP mark − TWAP index) / TWAP index, both over exactly the elapsed interval;
         rate per hour = clamp(premium / 24, ±max rate); funding per unit of base =
         rate × min(elapsed, max interval) / 1 h × TWAP index. Longs pay it, shorts receive it
         (negative: the reverse); the vAMM's share of the long/short imbalance goes to or comes
         from the insurance fund. When the fund cannot pay, the receiving side gets less (its
         own index moves less). When the index was invalid at any moment of the interval, or is
         now, nothing is charged and the interval is consumed.
    """
    vamm: address = self._markets[market_id].vamm
    assert vamm != empty(address), "ch: unknown market"
    clock: uint256 = self._markets[market_id].funding_clock
    params: uint256 = self._markets[market_id].funding_params
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
    price_, status, index_cum, valid = extcall IOracleAdapter(oracle).touch(market_id)
    index_clock: uint256 = self._markets[market_id].index_clock
    mark_twap: uint256 = (mark_cum - (clock >> 64)) // elapsed
    index_twap: uint256 = (index_cum - (index_clock & MASK192)) // elapsed
    charged: bool = status == 0 and valid - (index_clock >> 192) == elapsed and index_twap != 0

    premium: int256 = 0
    rate: int256 = 0
    long_funding: int256 = 0
    short_funding: int256 = 0
    insurance_delta: int256 = 0
    interval: uint256 = 0
    if charged:
        premium = fixed_point._mul_div_signed(
            convert(mark_twap, int256) - convert(index_twap, int256), WAD, index_twap, False
        )
        max_rate: int256 = convert((params >> 64) & MASK64, int256)
        rate = max(min(premium // PREMIUM_PAYOFF_HOURS, max_rate), -max_rate)
        interval = min(elapsed, params >> 128)
        per_unit: int256 = fixed_point._mul_div_signed(
            rate, interval * index_twap, HOUR * WAD, False
        )
        long_funding, short_funding, insurance_delta = self._split_funding(market_id, per_unit)
        word: uint256 = self._markets[market_id].funding
        self._markets[market_id].funding = packed._pack(
            packed._signed_bits(packed._signed(packed._lo(word)) + long_funding),
            packed._signed_bits(packed._signed(packed._hi(word)) + short_funding),
        )
        if insurance_delta != 0:
            extcall IVault(vault).move(self, 0, 0, insurance_delta, 0)
    self._markets[market_id].funding_clock = block.timestamp | (mark_cum << 64)
    self._markets[market_id].index_clock = index_cum | (valid << 192)
    log IClearingHouse.FundingSettled(
        market=market_id,
        rate=rate,
        premium=premium,
        mark_twap=mark_twap,
        index_twap=index_twap,
        elapsed=elapsed,
        charged_seconds=interval,
        long_funding=long_funding,
        short_funding=short_funding,
        insurance_delta=insurance_delta,
    )


@internal
def _split_funding(market_id: uint256, per_unit: int256) -> (int256, int256, int256):
    """
    @dev (per unit paid by longs, per unit received by shorts, insurance fund delta).
         The fund takes the imbalance: longs pay per_unit × L, shorts receive per_unit × S.
         What the fund would have to pay beyond its balance is cut from the receiving side.
         The fund's delta rounds toward −inf; each position's charge rounds against it.
    """
    oi: uint256 = self._markets[market_id].open_interest
    longs: uint256 = packed._lo(oi)
    shorts: uint256 = packed._hi(oi)
    long_funding: int256 = per_unit
    short_funding: int256 = per_unit
    paid: int256 = fixed_point._mul_div_signed(per_unit, longs, WAD, False)
    received: int256 = fixed_point._mul_div_signed(per_unit, shorts, WAD, True)
    if paid < received:
        fund: int256 = convert(staticcall IVault(vault).insurance_fund(), int256)
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
@pure
def _side_index(size: int256, word: uint256) -> int256:
    """
    @dev The cumulative funding index a position of `size` follows.
    """
    if size > 0:
        return packed._signed(packed._lo(word))
    if size < 0:
        return packed._signed(packed._hi(word))
    return 0


@internal
@pure
def _apply_funding(
    size: int256, collateral: uint256, word: uint256
) -> (uint256, int256, int256, uint256):
    """
    @dev Settle a position's funding: (new margin, funding paid (> 0) or received (< 0), the
         side's index now, bad debt). Paid rounds up, received rounds down; a charge above the
         margin takes the whole margin and the rest is bad debt.
    """
    margin: uint256 = packed._lo(collateral)
    if size == 0:
        return margin, 0, 0, 0
    index: int256 = self._side_index(size, word)
    moved: int256 = index - packed._signed(packed._hi(collateral))
    owed: int256 = 0
    if size > 0:
        owed = fixed_point._mul_div_signed(moved, convert(size, uint256), WAD, True)
    else:
        owed = -fixed_point._mul_div_signed(moved, convert(-size, uint256), WAD, False)
    if owed <= 0:
        return margin + convert(-owed, uint256), owed, index, 0
    if convert(owed, uint256) <= margin:
        return margin - convert(owed, uint256), owed, index, 0
    return 0, owed, index, convert(owed, uint256) - margin


@internal
@view
def _settle_funding_of(
    market_id: uint256, size: int256, collateral: uint256
) -> (uint256, int256, int256, uint256):
    return self._apply_funding(size, collateral, self._markets[market_id].funding)


@external
@view
def pending_funding(trader: address, market_id: uint256) -> int256:
    """
    @notice Funding the position would pay (> 0) or receive (< 0) if touched now.
    """
    position: Position = self._positions[trader][market_id]
    owed: int256 = 0
    margin: uint256 = 0
    index: int256 = 0
    bad_debt: uint256 = 0
    margin, owed, index, bad_debt = self._settle_funding_of(
        market_id, packed._signed(packed._lo(position.base)), position.collateral
    )
    return owed


@internal
def _update_open_interest(
    market_id: uint256, market: Market, old_size: int256, new_size: int256, opening: bool
):
    """
    @dev Open interest per side in base; an opening trade must keep its side under the cap.
    """
    longs: uint256 = packed._lo(market.open_interest)
    shorts: uint256 = packed._hi(market.open_interest)
    if old_size > 0:
        longs -= convert(old_size, uint256)
    elif old_size < 0:
        shorts -= convert(-old_size, uint256)
    if new_size > 0:
        longs += convert(new_size, uint256)
    elif new_size < 0:
        shorts += convert(-new_size, uint256)
    if opening:
        assert max(longs, shorts) <= packed._lo(market.caps), "ch: open interest cap"
    self._markets[market_id].open_interest = packed._pack(longs, shorts)


@internal
def _cover_bad_debt(trader: address, market_id: uint256, amount: uint256) -> uint256:
    """
    @dev The insurance fund pays bad debt as far as it can; the rest is recorded as the market's
         shortfall (borne by the counterparty ledger) and the market turns reduce-only.
         Returns what the fund covers.
    """
    fund: uint256 = staticcall IVault(vault).insurance_fund()
    covered: uint256 = min(amount, fund)
    shortfall: uint256 = amount - covered
    if shortfall != 0:
        self._markets[market_id].shortfall += shortfall
        state: uint256 = self._markets[market_id].state
        flags: uint256 = packed._hi(state) | FLAG_REDUCE_ONLY
        self._markets[market_id].state = packed._pack(packed._lo(state), flags)
        log IClearingHouse.MarketFlagsSet(
            market=market_id,
            paused=flags & FLAG_PAUSED != 0,
            reduce_only=True,
            by=self,
        )
    log IClearingHouse.BadDebt(
        trader=trader,
        market=market_id,
        amount=amount,
        covered_by_insurance=covered,
        shortfall=shortfall,
    )
    return covered


@internal
@view
def _value(vamm: address, size: int256, open_notional: uint256) -> (uint256, int256):
    """
    @dev (exit notional, unrealised PnL) of a position at the vAMM's current exit price.
    """
    if size > 0:
        exit_notional: uint256 = staticcall IVamm(vamm).quote_for(-size)
        return exit_notional, convert(exit_notional, int256) - convert(open_notional, int256)
    exit_notional: uint256 = staticcall IVamm(vamm).quote_for(-size)
    return exit_notional, convert(open_notional, int256) - convert(exit_notional, int256)


@internal
@pure
def _check_initial_margin(margin: uint256, loss: int256, notional: uint256, risk: uint256):
    required: uint256 = fixed_point._mul_div(notional, risk & MASK64, WAD, True)
    assert convert(margin, int256) + loss >= convert(required, int256), (
        "ch: margin below initial requirement"
    )


# ---------------------------------------------------------------------------------------------
# views


@external
@view
def market(market_id: uint256) -> IClearingHouse.MarketInfo:
    """
    @notice Every parameter and the state of a market.
    """
    m: Market = self._markets[market_id]
    assert m.vamm != empty(address), "ch: unknown market"
    flags: uint256 = packed._hi(m.state)
    return IClearingHouse.MarketInfo(
        vamm=m.vamm,
        initial_margin_ratio=m.risk & MASK64,
        maintenance_margin_ratio=(m.risk >> 64) & MASK64,
        fee_rate=(m.risk >> 128) & MASK64,
        insurance_fee_share=m.risk >> 192,
        max_open_interest=packed._lo(m.caps),
        max_position_size=packed._hi(m.caps),
        min_position_notional=packed._lo(m.state),
        paused=flags & FLAG_PAUSED != 0,
        reduce_only=flags & FLAG_REDUCE_ONLY != 0,
        long_open_interest=packed._lo(m.open_interest),
        short_open_interest=packed._hi(m.open_interest),
        shortfall=m.shortfall,
        cumulative_long_funding=packed._signed(packed._lo(m.funding)),
        cumulative_short_funding=packed._signed(packed._hi(m.funding)),
        last_funding_time=m.funding_clock & MASK64,
        funding_period=m.funding_params & MASK64,
        max_funding_rate=(m.funding_params >> 64) & MASK64,
        max_funding_interval=m.funding_params >> 128,
    )


@external
@view
def position(trader: address, market_id: uint256) -> IClearingHouse.PositionInfo:
    """
    @notice A position with its value at the vAMM exit price.
    @return size, open notional, margin, exit notional, unrealised PnL, pending funding (> 0:
            owed) and margin ratio ((margin + unrealised PnL − pending funding) / exit notional,
            WAD, rounded down; 0 without position).
    """
    vamm: address = self._markets[market_id].vamm
    assert vamm != empty(address), "ch: unknown market"
    position: Position = self._positions[trader][market_id]
    size: int256 = packed._signed(packed._lo(position.base))
    open_notional: uint256 = packed._hi(position.base)
    margin: uint256 = packed._lo(position.collateral)
    if size == 0:
        return IClearingHouse.PositionInfo(
            size=0,
            open_notional=0,
            margin=margin,
            exit_notional=0,
            unrealised_pnl=0,
            pending_funding=0,
            margin_ratio=0,
        )
    exit_notional: uint256 = 0
    pnl: int256 = 0
    exit_notional, pnl = self._value(vamm, size, open_notional)
    funding: int256 = 0
    m: uint256 = 0
    i: int256 = 0
    b: uint256 = 0
    m, funding, i, b = self._settle_funding_of(market_id, size, position.collateral)
    ratio: int256 = fixed_point._mul_div_signed(
        convert(margin, int256) + pnl - funding, WAD, max(exit_notional, 1), False
    )
    return IClearingHouse.PositionInfo(
        size=size,
        open_notional=open_notional,
        margin=margin,
        exit_notional=exit_notional,
        unrealised_pnl=pnl,
        pending_funding=funding,
        margin_ratio=ratio,
    )


# ---------------------------------------------------------------------------------------------
# administration


@external
def add_market(
    vamm: address,
    initial_margin_ratio: uint256,
    maintenance_margin_ratio: uint256,
    fee_rate: uint256,
    insurance_fee_share: uint256,
    max_open_interest: uint256,
    max_position_size: uint256,
    min_position_notional: uint256,
) -> uint256:
    """
    @notice List a new market traded on `vamm` (owner only). Returns its id.
    """
    ownable._check_owner()
    assert vamm.is_contract, "ch: vamm is not a contract"
    assert staticcall IVamm(vamm).clearing_house() == self, "ch: vamm bound to another house"
    market_id: uint256 = self.market_count
    price_: uint256 = 0
    status: uint256 = 0
    price_, status = staticcall IOracleAdapter(oracle).price(market_id)
    assert status == 0, "ch: market has no valid oracle price"
    self.market_count = market_id + 1
    self._markets[market_id].vamm = vamm
    log IClearingHouse.MarketAdded(market=market_id, vamm=vamm)
    mark_cum: uint256 = 0
    now_: uint256 = 0
    mark_cum, now_ = staticcall IVamm(vamm).cumulative_mark()
    index_cum: uint256 = 0
    valid: uint256 = 0
    index_cum, valid, now_ = staticcall IOracleAdapter(oracle).cumulative(market_id)
    self._markets[market_id].funding_clock = block.timestamp | (mark_cum << 64)
    self._markets[market_id].index_clock = index_cum | (valid << 192)
    self._set_funding_params(
        market_id, DEFAULT_FUNDING_PERIOD, DEFAULT_MAX_FUNDING_RATE, DEFAULT_MAX_FUNDING_INTERVAL
    )
    self._set_risk(
        market_id, initial_margin_ratio, maintenance_margin_ratio, fee_rate, insurance_fee_share
    )
    self._set_caps(market_id, max_open_interest, max_position_size, min_position_notional)
    return market_id


@external
def set_risk_params(
    market_id: uint256,
    initial_margin_ratio: uint256,
    maintenance_margin_ratio: uint256,
    fee_rate: uint256,
    insurance_fee_share: uint256,
):
    """
    @notice Set margin ratios and fees of a market (owner only), all WAD.
    @dev Bounds: 0.5 % ≤ maintenance < initial, 1 % ≤ initial ≤ 100 %, fee ≤ 1 %, share ≤ 100 %.
    """
    ownable._check_owner()
    self._check_market(market_id)
    self._set_risk(
        market_id, initial_margin_ratio, maintenance_margin_ratio, fee_rate, insurance_fee_share
    )


@external
def set_caps(
    market_id: uint256,
    max_open_interest: uint256,
    max_position_size: uint256,
    min_position_notional: uint256,
):
    """
    @notice Set open-interest cap (per side, base), max position size (base) and minimum
            position notional (quote) of a market (owner only).
    @dev Bounds: 0 < max position ≤ max open interest < 2**128; 0 < minimum notional ≤ 1e6 quote.
    """
    ownable._check_owner()
    self._check_market(market_id)
    self._set_caps(market_id, max_open_interest, max_position_size, min_position_notional)


@external
def set_funding_params(
    market_id: uint256, period: uint256, max_rate_per_hour: uint256, max_interval: uint256
):
    """
    @notice Set the funding period, the rate clamp and the longest interval charged at once
            (owner only).
    @dev Bounds: 1 min ≤ period ≤ 1 day; 0 < max rate ≤ 1 % per hour; period ≤ max interval ≤ 7 days.
    """
    ownable._check_owner()
    self._check_market(market_id)
    self._set_funding_params(market_id, period, max_rate_per_hour, max_interval)


@external
def set_guardian(guardian_: address):
    """
    @notice Set the address that may pause markets (owner only).
    """
    ownable._check_owner()
    self.guardian = guardian_
    log IClearingHouse.GuardianSet(guardian=guardian_)


@external
def set_paused(market_id: uint256, paused: bool):
    """
    @notice Pause or unpause a market (guardian or owner). Paused: no opening, increasing or
            margin removal; add-margin, reduce and close still work.
    """
    assert msg.sender == self.guardian or msg.sender == ownable.owner, "ch: not guardian"
    self._set_flag(market_id, FLAG_PAUSED, paused)


@external
def set_reduce_only(market_id: uint256, reduce_only: bool):
    """
    @notice Turn reduce-only mode on or off (owner only).
    """
    ownable._check_owner()
    self._set_flag(market_id, FLAG_REDUCE_ONLY, reduce_only)


@internal
@view
def _check_market(market_id: uint256):
    assert self._markets[market_id].vamm != empty(address), "ch: unknown market"


@internal
def _set_flag(market_id: uint256, flag: uint256, on: bool):
    self._check_market(market_id)
    state: uint256 = self._markets[market_id].state
    flags: uint256 = packed._hi(state)
    if on:
        flags = flags | flag
    else:
        flags = flags & ~flag
    self._markets[market_id].state = packed._pack(packed._lo(state), flags)
    log IClearingHouse.MarketFlagsSet(
        market=market_id,
        paused=flags & FLAG_PAUSED != 0,
        reduce_only=flags & FLAG_REDUCE_ONLY != 0,
        by=msg.sender,
    )


@internal
def _set_risk(market_id: uint256, imr: uint256, mmr: uint256, fee_rate: uint256, share: uint256):
    assert imr >= MIN_INITIAL_MARGIN_RATIO and imr <= WAD, "ch: initial margin ratio out of bounds"
    assert mmr >= MIN_MAINTENANCE_MARGIN_RATIO and mmr < imr, (
        "ch: maintenance margin ratio out of bounds"
    )
    assert fee_rate <= MAX_FEE_RATE, "ch: fee rate out of bounds"
    assert share <= WAD, "ch: insurance share out of bounds"
    self._markets[market_id].risk = imr | (mmr << 64) | (fee_rate << 128) | (share << 192)
    log IClearingHouse.RiskParamsSet(
        market=market_id,
        initial_margin_ratio=imr,
        maintenance_margin_ratio=mmr,
        fee_rate=fee_rate,
        insurance_fee_share=share,
    )


@internal
def _set_funding_params(
    market_id: uint256, period: uint256, max_rate: uint256, max_interval: uint256
):
    assert period >= MIN_FUNDING_PERIOD and period <= MAX_FUNDING_PERIOD, (
        "ch: funding period out of bounds"
    )
    assert max_rate != 0 and max_rate <= MAX_FUNDING_RATE, "ch: max funding rate out of bounds"
    assert max_interval >= period and max_interval <= MAX_FUNDING_INTERVAL, (
        "ch: max funding interval out of bounds"
    )
    self._markets[market_id].funding_params = period | (max_rate << 64) | (max_interval << 128)
    log IClearingHouse.FundingParamsSet(
        market=market_id, period=period, max_rate_per_hour=max_rate, max_interval=max_interval
    )


@internal
def _set_caps(market_id: uint256, max_oi: uint256, max_position: uint256, min_notional: uint256):
    assert max_position != 0, "ch: zero max position size"
    assert max_position <= max_oi, "ch: max position above open interest cap"
    assert min_notional != 0 and min_notional <= MAX_MIN_POSITION_NOTIONAL, (
        "ch: min position notional out of bounds"
    )
    self._markets[market_id].caps = packed._pack(max_oi, max_position)
    state: uint256 = self._markets[market_id].state
    self._markets[market_id].state = packed._pack(min_notional, packed._hi(state))
    log IClearingHouse.CapsSet(
        market=market_id,
        max_open_interest=max_oi,
        max_position_size=max_position,
        min_position_notional=min_notional,
    )
