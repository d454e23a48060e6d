"""Exact Python reference of vperp's on-chain math, integer for integer.

The tests drive the real contracts and this model side by side (differential fuzzing); the CLI and
the simulation use it to explain numbers. Every rounding mirrors the contracts: what a trader owes
rounds up, what a trader receives rounds down.
"""

from __future__ import annotations

from dataclasses import dataclass, field

WAD = 10**18


class ModelRevert(Exception):
    """The contracts would revert with this message."""


# OracleAdapter status codes and the reason `touch_valid` reverts with
ORACLE_REVERTS = {
    1: "oracle: no feed",
    2: "oracle: feed call failed",
    3: "oracle: sequencer down",
    4: "oracle: sequencer grace period",
    5: "oracle: non-positive price",
    6: "oracle: incomplete round",
    7: "oracle: future timestamp",
    8: "oracle: stale price",
    9: "oracle: price out of bounds",
    10: "oracle: invalid sequencer round",
}


def mul_div(x: int, y: int, d: int, roundup: bool) -> int:
    """x·y/d for non-negative integers, rounded down or up (snekmate `_mul_div`)."""
    q, r = divmod(x * y, d)
    return q + 1 if roundup and r else q


def mul_div_signed(x: int, y: int, d: int, roundup: bool) -> int:
    """x·y/d for a signed x, toward +inf (`roundup`) or -inf (`fixed_point._mul_div_signed`)."""
    if x >= 0:
        return mul_div(x, y, d, roundup)
    return -mul_div(-x, y, d, not roundup)


@dataclass
class VammModel:
    """x·y=k with quote = ceil(k / base)."""

    base: int
    quote: int
    k: int = 0
    initial_base: int = 0
    reference_base: int | None = None  # base before the current block's first trade, if known

    def __post_init__(self) -> None:
        self.k = self.k or self.base * self.quote
        self.initial_base = self.initial_base or self.base

    @property
    def mark(self) -> int:
        return self.quote * WAD // self.base

    @property
    def net_base(self) -> int:
        return self.base - self.initial_base

    def quote_for(self, base_delta: int) -> tuple[int, int, int]:
        """(quote amount, new base, new quote) of a trade; > 0 buys base."""
        if base_delta > 0:
            if base_delta >= self.base:
                raise ModelRevert("vamm: not enough base liquidity")
            new_base = self.base - base_delta
        else:
            new_base = self.base - base_delta
        new_quote = mul_div(self.k, 1, new_base, True)
        amount = new_quote - self.quote if base_delta > 0 else self.quote - new_quote
        return amount, new_base, new_quote

    def swap(self, base_delta: int) -> int:
        amount, self.base, self.quote = self.quote_for(base_delta)
        return amount

    def exit_values(self, base_delta: int) -> tuple[int, int]:
        """(quote of `base_delta` now, from the block's reference reserves) (`Vamm.exit_values`)."""
        now = self.quote_for(base_delta)[0]
        if self.reference_base is None:
            return now, now
        ref = VammModel(self.reference_base, mul_div(self.k, 1, self.reference_base, True), self.k)
        return now, ref.quote_for(base_delta)[0]


@dataclass
class PositionModel:
    size: int = 0
    open_notional: int = 0
    margin: int = 0
    last_index: int = 0


@dataclass
class MarketModel:
    """One market's parameters and its vAMM."""

    vamm: VammModel
    imr: int
    mmr: int
    fee_rate: int
    insurance_share: int
    min_notional: int = 0
    cum_long: int = 0
    cum_short: int = 0
    positions: dict[str, PositionModel] = field(default_factory=dict)
    penalty: int = 0
    liquidator_share: int = 0
    buffer: int = 0
    reward_floor: int = 0
    shortfall: int = 0  # recorded: every amount the insurance fund could not pay
    outstanding: int = 0  # not socialised
    oracle_band: int = WAD // 10
    funding_per_hour: int = 0  # funding per unit of base per hour at the rate in force
    accrued_valid: int = 0  # oracle Σ valid seconds when funding was last accrued
    valid_cap: int = 0  # Σ valid seconds up to which the rate in force is charged
    reduce_only: bool = False
    paused: bool = False
    max_position: int = 0  # 0: not checked
    max_open_interest: int = 0  # per side; 0: not checked

    def position(self, trader: str) -> PositionModel:
        return self.positions.setdefault(trader, PositionModel())

    def side_index(self, size: int) -> int:
        """The cumulative funding index a position of `size` follows."""
        return self.cum_long if size > 0 else self.cum_short if size < 0 else 0

    def settle_funding(self, p: PositionModel) -> tuple[int, int]:
        """Apply a position's pending funding: (funding paid (> 0) or received, bad debt)."""
        equity, owed = self.apply_funding(p)
        if equity >= 0:
            p.margin = equity
            return owed, 0
        p.margin = 0
        return owed, -equity

    def apply_funding(self, p: PositionModel) -> tuple[int, int]:
        """Settle a position's funding into a signed equity, without deciding bad debt:
        (equity = margin − owed, owed) (`funding._apply`); p.margin is left to the caller."""
        owed = position_funding(p.size, self.side_index(p.size) - p.last_index)
        p.last_index = self.side_index(p.size)
        return p.margin - owed, owed

    @property
    def open_interest(self) -> tuple[int, int]:
        longs = sum(q.size for q in self.positions.values() if q.size > 0)
        shorts = -sum(q.size for q in self.positions.values() if q.size < 0)
        return longs, shorts

    def accrue(self, valid: int, fund: int) -> int:
        """Charge the rate in force up to the oracle's Σ valid seconds `valid` (capped); returns
        the insurance fund's delta (`funding._accrue_to`)."""
        if self.funding_per_hour == 0:
            return 0
        upto = min(valid, self.valid_cap)
        if upto <= self.accrued_valid:
            return 0
        per_unit = mul_div_signed(self.funding_per_hour, upto - self.accrued_valid, HOUR, False)
        self.accrued_valid = upto
        if per_unit == 0:
            return 0
        longs, shorts = self.open_interest
        long_f, short_f, delta = split_funding(per_unit, longs, shorts, fund)
        self.cum_long += long_f
        self.cum_short += short_f
        return delta

    def value(self, p: PositionModel) -> tuple[int, int]:
        """(exit notional, unrealised PnL) at the vAMM exit price."""
        exit_notional = self.vamm.quote_for(-p.size)[0]
        return exit_notional, pnl(p.size, p.open_notional, exit_notional)

    @classmethod
    def from_chain(cls, info: dict, vamm) -> MarketModel:
        """A market as the chain holds it: `info` is `ClearingHouse.market(id)`, `vamm` its Vamm
        (positions are added by the caller)."""
        base, quote = vamm.reserves()
        return cls(
            vamm=VammModel(base, quote, vamm.k(), base - vamm.net_base()),
            imr=info["initial_margin_ratio"],
            mmr=info["maintenance_margin_ratio"],
            fee_rate=info["fee_rate"],
            insurance_share=info["insurance_fee_share"],
            min_notional=info["min_position_notional"],
            cum_long=info["cumulative_long_funding"],
            cum_short=info["cumulative_short_funding"],
            penalty=info["liquidation_penalty"],
            liquidator_share=info["liquidator_share"],
            buffer=info["liquidation_buffer"],
            reward_floor=info["keeper_reward_floor"],
            shortfall=info["shortfall"],
            outstanding=info["outstanding_shortfall"],
            oracle_band=info["oracle_band"],
            reduce_only=info["reduce_only"],
            paused=info["paused"],
            max_position=info["max_position_size"],
            max_open_interest=info["max_open_interest"],
        )


@dataclass
class TradeResult:
    """Ledger deltas of one trade, as the Vault sees them."""

    quote: int = 0
    fee: int = 0
    realised: int = 0
    funding: int = 0
    bad_debt: int = 0
    free_delta: int = 0
    margin_delta: int = 0
    insurance_delta: int = 0
    fee_delta: int = 0


def trade(
    market: MarketModel,
    trader: str,
    base_delta: int,
    margin_in: int,
    fund: int = 0,
    index_price: int = 0,
    accrual: int = 0,
    index_status: int = 0,
) -> TradeResult:
    """Mirror of `trading._trade` (without the vAMM's and the caps' limits, which the tests keep
    inside); `fund` is the insurance fund before the trade, `index_price` the oracle price (for
    opening trades), `accrual` the insurance delta of the market's funding accrual, already
    applied to the market's indices by `MarketModel.accrue`."""
    p = market.position(trader)
    res = TradeResult()
    margin_before = p.margin
    size = p.size
    reducing = 0
    if size and (size > 0) != (base_delta > 0):
        reducing = min(abs(base_delta), abs(size))
    opening = abs(base_delta) - reducing
    if opening:
        if market.paused:
            raise ModelRevert("ch: market paused")
        if market.reduce_only:
            raise ModelRevert("ch: market is reduce-only")
        if index_status:
            raise ModelRevert(ORACLE_REVERTS[index_status])
    elif margin_in:
        raise ModelRevert("ch: margin only with an opening trade")
    equity, res.funding = market.apply_funding(p)
    sign = 1 if base_delta > 0 else -1
    if reducing:
        quote = market.vamm.swap(sign * reducing)
        res.quote = quote
        released = mul_div(p.open_notional, reducing, abs(size), size > 0)
        realised = pnl(size, released, quote)
        fee = mul_div(quote, market.fee_rate, WAD, True)
        p.size += sign * reducing
        p.open_notional -= released
        available = equity + realised
        if p.size == 0:
            if available >= fee:
                res.free_delta = available - fee
            elif available >= 0:
                fee = available
            else:
                fee = 0
                res.bad_debt = -available
            equity = 0
        else:
            equity = available - fee
            if equity < 0:
                raise ModelRevert("ch: reduce leaves negative margin, close instead")
        res.fee = fee
        res.realised = realised
    if opening:
        quote = market.vamm.swap(sign * opening)
        mark_after = market.vamm.mark
        if sign > 0 and mark_after * WAD > index_price * (WAD + market.oracle_band):
            raise ModelRevert("ch: mark would leave the oracle band")
        if sign < 0 and mark_after * WAD < index_price * (WAD - market.oracle_band):
            raise ModelRevert("ch: mark would leave the oracle band")
        res.quote += quote
        fee = mul_div(quote, market.fee_rate, WAD, True)
        p.size += sign * opening
        p.open_notional += quote
        equity += margin_in
        res.free_delta -= margin_in + fee
        res.fee += fee
        if market.max_position and abs(p.size) > market.max_position:
            raise ModelRevert("ch: position too large")
        vamm_exit = market.vamm.quote_for(-p.size)[0]
        if not meets_initial(equity, p.size, p.open_notional, vamm_exit, index_price, market.imr):
            raise ModelRevert("ch: margin below initial requirement")
    if p.size and p.open_notional < market.min_notional:
        raise ModelRevert("ch: position below minimum notional")
    if opening and market.max_open_interest:
        longs, shorts = market.open_interest
        if (longs if p.size > 0 else shorts) > market.max_open_interest:
            raise ModelRevert("ch: open interest cap")
    p.margin = equity
    res.margin_delta = p.margin - margin_before
    p.last_index = market.side_index(p.size)
    fee_share = mul_div(res.fee, market.insurance_share, WAD, False)
    res.insurance_delta = accrual + fee_share
    res.fee_delta = res.fee - fee_share
    if res.bad_debt:
        covered, _ = cover_bad_debt(market, res.bad_debt, fund + res.insurance_delta)
        res.insurance_delta -= covered
    return res


def oracle_notional(size: int, index_price: int) -> int:
    """|size| · index price, a long's rounded down, a short's up (`health._oracle_notional`)."""
    return mul_div(abs(size), index_price, WAD, size < 0)


def meets_initial(
    equity: int, size: int, open_notional: int, vamm_exit: int, index_price: int, imr: int
) -> bool:
    """equity + min(PnL, 0) ≥ ⌈imr · notional⌉ at both valuations (`health._meets_initial`)."""
    oracle_exit = oracle_notional(size, index_price)
    return all(
        equity + min(pnl(size, open_notional, notional), 0) >= mul_div(notional, imr, WAD, True)
        for notional in (vamm_exit, oracle_exit)
    )


def margin_change(
    market: MarketModel, trader: str, amount: int, index_price: int, fund: int, accrual: int = 0
) -> tuple[int, int, int]:
    """Mirror of `margin._add` (amount > 0) and `margin._remove` (amount < 0): (funding owed,
    bad debt, insurance delta)."""
    p = market.position(trader)
    if p.size == 0:
        raise ModelRevert("ch: no position")
    trial = PositionModel(p.size, p.open_notional, p.margin, p.last_index)
    equity, owed = market.apply_funding(trial)
    equity += amount
    debt = 0
    if amount < 0:
        if equity < 0:
            raise ModelRevert("ch: amount exceeds margin")
        now, reference = market.vamm.exit_values(-p.size)
        vamm_exit = min(now, reference) if p.size > 0 else max(now, reference)
        if not meets_initial(equity, p.size, p.open_notional, vamm_exit, index_price, market.imr):
            raise ModelRevert("ch: margin below initial requirement")
    elif equity < 0:
        debt, equity = -equity, 0
    trial.margin = equity
    market.positions[trader] = trial
    insurance = accrual
    if debt:
        covered, _ = cover_bad_debt(market, debt, fund + insurance)
        insurance -= covered
    return owed, debt, insurance


# --- liquidation -------------------------------------------------------------------------------


def pnl(size: int, open_notional: int, exit_notional: int) -> int:
    """Unrealised PnL of a position valued at `exit_notional` (`health._pnl`)."""
    return exit_notional - open_notional if size > 0 else open_notional - exit_notional


def valuations(
    equity: int, size: int, open_notional: int, vamm_exit: int, index_price: int
) -> tuple[int, int, int]:
    """(value at the vAMM exit, value at the oracle price, oracle notional)
    (`health._valuations`)."""
    oracle_exit = mul_div(abs(size), index_price, WAD, size < 0)
    return (
        equity + pnl(size, open_notional, vamm_exit),
        equity + pnl(size, open_notional, oracle_exit),
        oracle_exit,
    )


def below(value: int, notional: int, ratio: int) -> bool:
    """value / notional < ratio, exactly (`health._below`)."""
    return value * WAD < ratio * notional


def partial_amount(size_abs: int, value: int, notional: int, target: int, penalty: int) -> int:
    """Base a partial liquidation closes (`health._partial_amount`)."""
    num = target * notional - value * WAD
    den = (target - penalty) * notional
    return min(mul_div(size_abs, num, den, True), size_abs)


@dataclass
class LiquidationResult:
    """What one liquidation did, as the Vault and the events see it."""

    closed: int = 0  # base, signed (the trade the vAMM saw)
    quote: int = 0
    realised: int = 0
    penalty: int = 0  # collected from the margin
    reward: int = 0
    funding: int = 0
    bad_debt: int = 0
    covered: int = 0
    socialised: int = 0
    free_delta: int = 0
    margin_delta: int = 0
    insurance_delta: int = 0


def equity(market: MarketModel, p: PositionModel) -> int:
    """Margin after pending funding, negative when funding exceeds it."""
    owed = position_funding(p.size, market.side_index(p.size) - p.last_index)
    return p.margin - owed


def is_liquidatable(market: MarketModel, p: PositionModel, index_price: int) -> bool:
    """The ClearingHouse's rule: below maintenance at both the vAMM and the oracle valuation."""
    if p.size == 0:
        return False
    vamm_exit = market.vamm.quote_for(-p.size)[0]
    vamm_value, oracle_value, oracle_exit = valuations(
        equity(market, p), p.size, p.open_notional, vamm_exit, index_price
    )
    return below(vamm_value, vamm_exit, market.mmr) and below(oracle_value, oracle_exit, market.mmr)


def cover_bad_debt(market: MarketModel, amount: int, fund: int) -> tuple[int, int]:
    """(covered by the fund, socialised) of `amount` bad debt (`ClearingHouse._cover_bad_debt`);
    moves both funding indices by the socialised amount per unit and records the rest."""
    covered = min(amount, max(fund, 0))
    uncovered = amount - covered
    socialised = 0
    if uncovered:
        total = sum(abs(q.size) for q in market.positions.values())
        if total:
            per_unit = min(mul_div(uncovered, WAD, total, True), market.vamm.mark)
            socialised = min(mul_div(per_unit, total, WAD, False), uncovered)
            market.cum_long += per_unit
            market.cum_short -= per_unit
        market.shortfall += uncovered
        market.outstanding += uncovered - socialised
        market.reduce_only = True
    return covered, socialised


def liquidate(
    market: MarketModel, trader: str, index_price: int, fund: int, accrual: int = 0
) -> LiquidationResult:
    """Mirror of `liquidation._liquidate`; `fund` is the insurance fund before it, `accrual` the
    insurance delta of the market's funding accrual (already applied by `MarketModel.accrue`)."""
    p = market.position(trader)
    if p.size == 0:
        raise ModelRevert("ch: no position")
    res = LiquidationResult()
    margin_before = p.margin
    eq, res.funding = market.apply_funding(p)
    size, size_abs = p.size, abs(p.size)
    vamm_exit = market.vamm.quote_for(-size)[0]
    value, oracle_value, oracle_exit = valuations(eq, size, p.open_notional, vamm_exit, index_price)
    if not (below(value, vamm_exit, market.mmr) and below(oracle_value, oracle_exit, market.mmr)):
        raise ModelRevert("ch: position is not liquidatable")
    target = market.mmr + market.buffer
    amount = size_abs
    if not (
        below(value, vamm_exit, market.penalty) or below(oracle_value, oracle_exit, market.penalty)
    ):
        amount = max(
            partial_amount(size_abs, value, vamm_exit, target, market.penalty),
            partial_amount(size_abs, oracle_value, oracle_exit, target, market.penalty),
        )
        if amount < size_abs and not _rest_is_safe(
            market, size, p.open_notional, eq, vamm_exit, index_price, amount
        ):
            amount = size_abs
    amount = min(amount, fill_cap(market.vamm, size, index_price, market.penalty))
    if amount == 0:
        raise ModelRevert("ch: liquidation would fill too far from the oracle price")
    res.closed = -amount if size > 0 else amount
    res.quote = market.vamm.swap(res.closed)
    released = mul_div(p.open_notional, amount, size_abs, size > 0)
    res.realised = pnl(size, released, res.quote)
    available = eq + res.realised
    penalty = max(mul_div(res.quote, market.penalty, WAD, True), market.reward_floor)
    collected = min(penalty, max(available, 0))
    reward = max(mul_div(collected, market.liquidator_share, WAD, False), market.reward_floor)
    available -= collected
    insurance = collected - reward
    left = max(available, 0)
    res.bad_debt = max(-available, 0)
    p.size = size + res.closed
    p.open_notional -= released
    if p.size == 0:
        res.free_delta = left
        left = 0
    p.margin = left
    p.last_index = market.side_index(size)
    if insurance < 0 or res.bad_debt:
        if fund + accrual + insurance < 0:
            reward = collected + fund + accrual
            insurance = -(fund + accrual)
        if res.bad_debt:
            res.covered, res.socialised = cover_bad_debt(
                market, res.bad_debt, fund + accrual + insurance
            )
            insurance -= res.covered
    res.penalty, res.reward, res.insurance_delta = collected, reward, accrual + insurance
    res.margin_delta = left - margin_before
    return res


def fill_cap(vamm: VammModel, size: int, index_price: int, tolerance: int) -> int:
    """The most base a liquidation may close so that its average fill lies within `tolerance` of
    the oracle price (`liquidation._fill_cap`)."""
    if size > 0:
        most = mul_div(vamm.quote, WAD * WAD, index_price * (WAD - tolerance), False)
        return max(most - vamm.base, 0)
    least = mul_div(vamm.quote, WAD * WAD, index_price * (WAD + tolerance), True)
    return max(vamm.base - least, 0)


def _rest_is_safe(
    market: MarketModel,
    size: int,
    open_notional: int,
    eq: int,
    vamm_exit: int,
    index_price: int,
    amount: int,
) -> bool:
    """Whether closing `amount` leaves the rest at or above maintenance + buffer at both
    valuations and above the minimum notional (`liquidation._rest_is_safe`)."""
    slice_ = -amount if size > 0 else amount
    rest = size + slice_
    quote = market.vamm.quote_for(slice_)[0]
    released = mul_div(open_notional, amount, abs(size), size > 0)
    rest_notional = open_notional - released
    if rest_notional < market.min_notional:
        return False
    penalty = max(mul_div(quote, market.penalty, WAD, True), market.reward_floor)
    left = eq + pnl(size, released, quote) - penalty
    rest_exit = vamm_exit - quote
    value, oracle_value, oracle_exit = valuations(left, rest, rest_notional, rest_exit, index_price)
    target = market.mmr + market.buffer
    return not (below(value, rest_exit, target) or below(oracle_value, oracle_exit, target))


def liquidation_price(size: int, open_notional: int, margin: int, mmr: int) -> int:
    """Mark price at which the margin ratio reaches `mmr` (ignoring price impact and funding);
    0 when there is none. Mirrors `Lens._liquidation_price`."""
    if size > 0:
        if open_notional <= margin:
            return 0
        return mul_div(open_notional - margin, WAD * WAD, size * (WAD - mmr), False)
    if size < 0:
        return mul_div(margin + open_notional, WAD * WAD, -size * (WAD + mmr), False)
    return 0


# --- funding -----------------------------------------------------------------------------------

HOUR = 3600
PREMIUM_PAYOFF_HOURS = 24


def _div_trunc(a: int, b: int) -> int:
    """Vyper's signed `//`: truncates toward zero."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def funding_rate(mark_twap: int, index_twap: int, max_rate: int) -> tuple[int, int]:
    """(premium, rate per hour), both WAD: premium = (mark − index) / index rounded toward −inf,
    rate = clamp(premium / 24, ±max_rate) (truncated, as in `ClearingHouse.settle_funding`)."""
    premium = mul_div_signed(mark_twap - index_twap, WAD, index_twap, False)
    rate = max(min(_div_trunc(premium, PREMIUM_PAYOFF_HOURS), max_rate), -max_rate)
    return premium, rate


def funding_per_unit(rate: int, interval: int, index_twap: int) -> int:
    """Funding per unit of base over `interval` seconds at `rate` per hour, WAD, toward −inf."""
    return mul_div_signed(rate, interval * index_twap, HOUR * WAD, False)


def split_funding(per_unit: int, longs: int, shorts: int, fund: int) -> tuple[int, int, int]:
    """(paid per unit by longs, received per unit by shorts, insurance fund delta); the receiving
    side is cut when the fund cannot pay the imbalance. Mirrors `_split_funding`."""
    long_f = short_f = per_unit
    paid = mul_div_signed(per_unit, longs, WAD, False)
    received = mul_div_signed(per_unit, shorts, WAD, True)
    if paid < received and received - paid > fund:
        if per_unit > 0:
            short_f = mul_div_signed(paid + fund, WAD, shorts, False)
            received = mul_div_signed(short_f, shorts, WAD, True)
        else:
            long_f = -mul_div_signed(fund - received, WAD, longs, False)
            paid = mul_div_signed(long_f, longs, WAD, False)
    return long_f, short_f, paid - received


def position_funding(size: int, moved: int) -> int:
    """Funding a position owes (> 0) or is owed (< 0) after its side's index moved by `moved`:
    a long pays ⌈size·moved⌉, a short receives ⌊|size|·moved⌋."""
    if size > 0:
        return mul_div_signed(moved, size, WAD, True)
    if size < 0:
        return -mul_div_signed(moved, -size, WAD, False)
    return 0
