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
     removing margin while still allowing add-margin, reduce, close and liquidation.
     Liquidation is permissionless and pull-based (internal balances only). Bad debt is paid by
     the insurance fund; what it cannot pay turns the market reduce-only and is socialised over
     the market's open positions through both funding indices (every open position pays the same
     amount per unit of base, as Drift v2 does); what cannot be socialised (no open interest) is
     recorded as the market's outstanding shortfall, which the fund repays first.
     Ownership is two-step (snekmate).
"""

from interfaces import IClearingHouse
from interfaces import IOracleAdapter
from interfaces import IVamm
from interfaces import IVault
from modules import fixed_point
from modules import health
from modules import house_state
from modules import packed
from snekmate.auth import ownable
from snekmate.auth import ownable_2step

implements: IClearingHouse


interface HouseAdminView:
    def vault() -> address: view


initializes: ownable
initializes: ownable_2step[ownable := ownable]
initializes: house_state

exports: (
    ownable_2step.owner,
    ownable_2step.pending_owner,
    ownable_2step.transfer_ownership,
    ownable_2step.accept_ownership,
    house_state.guardian,
    house_state.market_count,
    house_state.insurance_floor,
    house_state.total_shortfall,
)

WAD: constant(uint256) = fixed_point.WAD
MASK64: constant(uint256) = house_state.MASK64
MASK128: constant(uint256) = 2**128 - 1
FLAG_PAUSED: constant(uint256) = house_state.FLAG_PAUSED
FLAG_REDUCE_ONLY: constant(uint256) = house_state.FLAG_REDUCE_ONLY
FLOOR_UNIT: constant(uint256) = house_state.FLOOR_UNIT
HOUR: constant(uint256) = 3600
PREMIUM_PAYOFF_HOURS: constant(int256) = 24  # a premium would be paid off in one day
MASK192: constant(uint256) = 2**192 - 1
MASK32: constant(uint256) = 2**32 - 1
MASK96: constant(uint256) = 2**96 - 1
HALF96: constant(int256) = 2**95
# vAMM swap modes
SWAP_FREE: constant(uint256) = 0
SWAP_OPENING: constant(uint256) = 1
SWAP_LIQUIDATION: constant(uint256) = 2

vault: public(immutable(address))
oracle: public(immutable(address))
# where the administration functions run, by delegatecall in this contract's storage
admin: public(immutable(address))


@deploy
def __init__(vault_: address, oracle_: address, guardian_: address, admin_: address):
    """
    @param vault_ The collateral vault (deployed with this contract's address).
    @param oracle_ The OracleAdapter giving each market's index price.
    @param guardian_ May pause and unpause markets.
    @param admin_ HouseAdmin, deployed for the same vault and oracle.
    """
    ownable.__init__()
    ownable_2step.__init__()
    assert vault_ != empty(address), "ch: zero vault"
    assert oracle_ != empty(address), "ch: zero oracle"
    assert admin_.is_contract, "ch: admin is not a contract"
    assert staticcall HouseAdminView(admin_).vault() == vault_, "ch: admin for another vault"
    vault = vault_
    oracle = oracle_
    admin = admin_
    house_state.guardian = guardian_
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
    size: int256 = packed._signed(packed._lo(house_state._positions[msg.sender][market_id].base))
    assert size != 0, "ch: no position"
    self._trade(msg.sender, market_id, -size, 0, quote_limit)


@external
def add_margin(market_id: uint256, amount: uint256):
    """
    @notice Move `amount` of the caller's free collateral into their position. Always allowed.
    """
    assert amount != 0, "ch: zero amount"
    position: house_state.Position = house_state._positions[msg.sender][market_id]
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
    house_state._positions[msg.sender][market_id].collateral = self._collateral(
        margin, index, position.collateral >> 224
    )
    insurance_delta: int256 = 0
    if bad_debt != 0:
        insurance_delta = -convert(self._cover_bad_debt(msg.sender, market_id, bad_debt, 0), int256)
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
    vamm: address = house_state._markets[market_id].vamm
    assert vamm != empty(address), "ch: unknown market"
    assert packed._hi(house_state._markets[market_id].state) & FLAG_PAUSED == 0, "ch: market paused"
    position: house_state.Position = house_state._positions[msg.sender][market_id]
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
        margin, min(max(pnl, oracle_pnl), 0), exit_notional, house_state._markets[market_id].risk
    )
    house_state._positions[msg.sender][market_id].collateral = self._collateral(
        margin, index, position.collateral >> 224
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
    market: house_state.Market = empty(house_state.Market)
    market.vamm = house_state._markets[market_id].vamm
    assert market.vamm != empty(address), "ch: unknown market"
    market.risk = house_state._markets[market_id].risk
    market.caps = house_state._markets[market_id].caps
    market.state = house_state._markets[market_id].state
    market.open_interest = house_state._markets[market_id].open_interest
    market.funding = house_state._markets[market_id].funding
    position: house_state.Position = house_state._positions[trader][market_id]
    assert position.collateral >> 224 != self._stamp(), "ch: liquidated in this block"
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
        quote: uint256 = extcall IVamm(market.vamm).swap(part, SWAP_FREE)
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
        quote: uint256 = extcall IVamm(market.vamm).swap(part, SWAP_OPENING)
        quote_total += quote
        fee: uint256 = fixed_point._mul_div(quote, fee_rate, WAD, True)
        size += part
        open_notional += quote
        margin += margin_in
        free_delta -= convert(margin_in + fee, int256)
        margin_delta += convert(margin_in, int256)
        fee_total += fee
        assert fixed_point._abs(size) <= packed._hi(market.caps), "ch: position too large"
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

    caps: uint256 = 0
    if opening != 0:
        caps = market.caps
    self._update_open_interest(market_id, market.open_interest, caps, old_size, size)
    house_state._positions[trader][market_id] = house_state.Position(
        base=packed._pack(packed._signed_bits(size), open_notional),
        collateral=self._collateral(margin, self._side_index(size, market.funding), 0),
    )

    insurance_delta: int256 = convert(
        fixed_point._mul_div(fee_total, market.risk >> 192, WAD, False), int256
    )
    fee_delta: int256 = convert(fee_total, int256) - insurance_delta
    if bad_debt != 0:
        insurance_delta -= convert(
            self._cover_bad_debt(trader, market_id, bad_debt, insurance_delta), int256
        )
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


@external
def liquidate(trader: address, market_id: uint256) -> uint256:
    """
    @notice Liquidate `trader`'s position in `market_id` (permissionless; also in paused and
            reduce-only markets). Returns the caller's reward, credited to its free collateral.
    @dev Liquidatable when the margin ratio is below maintenance under both valuations, at the
         vAMM exit value and at the oracle price (the one more favourable to the trader counts),
         so neither a vAMM push nor an oracle blip alone liquidates anyone; the oracle must be
         valid. How much is closed is sized at the vAMM exit value (what closing really fetches,
         price impact included): above the penalty ratio just enough base to bring the rest back
         to maintenance + buffer (rounded up); below it, or when the rest would be under the
         minimum notional, the whole position. So a liquidation leaves bad debt only when the
         position's vAMM exit value was already below zero. Penalty: max(penalty × quote closed
         (rounded up), keeper reward floor), as far as the margin pays it; the caller gets
         max(share × what was paid (rounded down), floor), the insurance fund the rest, and the
         fund tops the caller up to the floor when the margin cannot pay. What the margin cannot
         pay is bad debt. The vAMM swap may cross the per-block price-move limit, once per block. Afterwards the
         trader cannot trade this market in the same block.
    """
    vamm: address = house_state._markets[market_id].vamm
    assert vamm != empty(address), "ch: unknown market"
    position: house_state.Position = house_state._positions[trader][market_id]
    size: int256 = packed._signed(packed._lo(position.base))
    assert size != 0, "ch: no position"
    # a validated read; the accumulator is left to pokes and trades (gas)
    index_price: uint256 = 0
    status: uint256 = 0
    index_price, status = staticcall IOracleAdapter(oracle).price(market_id)
    if status != 0:
        extcall IOracleAdapter(oracle).touch_valid(market_id)  # reverts with the reason
    margin: uint256 = 0
    funding_paid: int256 = 0
    index: int256 = 0
    bad_debt: uint256 = 0
    margin, funding_paid, index, bad_debt = self._settle_funding_of(
        market_id, size, position.collateral
    )
    open_notional: uint256 = packed._hi(position.base)
    size_abs: uint256 = fixed_point._abs(size)
    equity: int256 = convert(margin, int256) - convert(bad_debt, int256)
    vamm_exit: uint256 = staticcall IVamm(vamm).quote_for(-size)
    vamm_value: int256 = 0
    oracle_value: int256 = 0
    oracle_exit: uint256 = 0
    vamm_value, oracle_value, oracle_exit = health._valuations(
        equity, size, open_notional, vamm_exit, index_price
    )
    risk: uint256 = house_state._markets[market_id].risk
    mmr: uint256 = (risk >> 64) & MASK64
    # below maintenance at both valuations, i.e. at the one more favourable to the trader
    assert health._below(vamm_value, vamm_exit, mmr) and health._below(
        oracle_value, oracle_exit, mmr
    ), "ch: position is not liquidatable"

    # how much to close is sized at the vAMM exit value: what closing really fetches
    params: uint256 = house_state._markets[market_id].liquidation
    penalty_rate: uint256 = params & MASK64
    amount: uint256 = size_abs
    if not health._below(vamm_value, vamm_exit, penalty_rate):
        amount = health._partial_amount(
            size_abs, vamm_value, vamm_exit, mmr + ((params >> 128) & MASK64), penalty_rate
        )
        # never leave dust: the rest must stay above the minimum notional
        if (
            amount < size_abs
            and open_notional * (size_abs - amount)
            < packed._lo(house_state._markets[market_id].state) * size_abs
        ):
            amount = size_abs
    base_delta: int256 = convert(amount, int256)
    if size > 0:
        base_delta = -base_delta
    quote: uint256 = extcall IVamm(vamm).swap(base_delta, SWAP_LIQUIDATION)
    released: uint256 = fixed_point._mul_div(open_notional, amount, size_abs, size > 0)
    realised: int256 = convert(released, int256) - convert(quote, int256)
    if size > 0:
        realised = -realised
    available: int256 = equity + realised

    floor_: uint256 = (params >> 192) * FLOOR_UNIT
    penalty: uint256 = max(fixed_point._mul_div(quote, penalty_rate, WAD, True), floor_)
    collected: uint256 = min(penalty, convert(max(available, 0), uint256))
    reward: uint256 = max(
        fixed_point._mul_div(collected, (params >> 64) & MASK64, WAD, False), floor_
    )
    available -= convert(collected, int256)
    insurance_delta: int256 = convert(collected, int256) - convert(reward, int256)
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

    self._update_open_interest(
        market_id, house_state._markets[market_id].open_interest, 0, size, new_size
    )
    house_state._positions[trader][market_id] = house_state.Position(
        base=packed._pack(packed._signed_bits(new_size), open_notional - released),
        collateral=self._collateral(left, index, self._stamp()),
    )
    if insurance_delta < 0 or debt != 0:
        fund: int256 = convert(staticcall IVault(vault).insurance_fund(), int256)
        if fund + insurance_delta < 0:
            # the fund tops the caller up to the floor only as far as it can
            reward = convert(convert(collected, int256) + fund, uint256)
            insurance_delta = -fund
        if debt != 0:
            insurance_delta -= convert(
                self._cover_bad_debt(trader, market_id, debt, insurance_delta), int256
            )
    extcall IVault(vault).move_with_reward(
        trader,
        free_delta,
        convert(left, int256) - convert(packed._lo(position.collateral), int256),
        insurance_delta,
        msg.sender,
        reward,
    )
    log IClearingHouse.Liquidated(
        trader=trader,
        market=market_id,
        liquidator=msg.sender,
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
    price_, status, index_cum, valid = extcall IOracleAdapter(oracle).touch(market_id)
    index_clock: uint256 = house_state._markets[market_id].index_clock
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
        word: uint256 = house_state._markets[market_id].funding
        house_state._markets[market_id].funding = packed._pack(
            packed._signed_bits(packed._signed(packed._lo(word)) + long_funding),
            packed._signed_bits(packed._signed(packed._hi(word)) + short_funding),
        )
        if insurance_delta != 0:
            extcall IVault(vault).move(self, 0, 0, insurance_delta, 0)
    house_state._markets[market_id].funding_clock = block.timestamp | (mark_cum << 64)
    house_state._markets[market_id].index_clock = index_cum | (valid << 192)
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
    oi: uint256 = house_state._markets[market_id].open_interest
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
    moved: int256 = index - self._collateral_index(collateral)
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
    return self._apply_funding(size, collateral, house_state._markets[market_id].funding)


@external
@view
def pending_funding(trader: address, market_id: uint256) -> int256:
    """
    @notice Funding the position would pay (> 0) or receive (< 0) if touched now.
    """
    position: house_state.Position = house_state._positions[trader][market_id]
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
    market_id: uint256, open_interest: uint256, caps: uint256, old_size: int256, new_size: int256
):
    """
    @dev Open interest per side in base; an opening trade (caps ≠ 0) must keep its side under
         the cap.
    """
    longs: uint256 = packed._lo(open_interest)
    shorts: uint256 = packed._hi(open_interest)
    if old_size > 0:
        longs -= convert(old_size, uint256)
    elif old_size < 0:
        shorts -= convert(-old_size, uint256)
    if new_size > 0:
        longs += convert(new_size, uint256)
    elif new_size < 0:
        shorts += convert(-new_size, uint256)
    if caps != 0:
        assert max(longs, shorts) <= packed._lo(caps), "ch: open interest cap"
    house_state._markets[market_id].open_interest = packed._pack(longs, shorts)


@internal
def _cover_bad_debt(
    trader: address, market_id: uint256, amount: uint256, pending: int256
) -> uint256:
    """
    @dev The insurance fund pays bad debt as far as it can (its balance plus `pending`, the
         delta this transaction is about to book). Anything left turns the market reduce-only
         and is socialised over the open interest: both funding indices move by the same amount
         per unit of base (rounded up, at most the mark price per unit), so every open position
         pays its share when next touched. What cannot be socialised (no open interest, or the
         per-unit cap) becomes the market's outstanding shortfall. Returns what the fund covers.
    """
    fund: int256 = convert(staticcall IVault(vault).insurance_fund(), int256) + pending
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
            word: uint256 = house_state._markets[market_id].funding
            charge: int256 = convert(per_unit, int256)
            house_state._markets[market_id].funding = packed._pack(
                packed._signed_bits(packed._signed(packed._lo(word)) + charge),
                packed._signed_bits(packed._signed(packed._hi(word)) - charge),
            )
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


@internal
@view
def _value(vamm: address, size: int256, open_notional: uint256) -> (uint256, int256):
    """
    @dev (exit notional, unrealised PnL) of a position at the vAMM's current exit price.
    """
    exit_notional: uint256 = staticcall IVamm(vamm).quote_for(-size)
    return exit_notional, health._pnl(size, open_notional, exit_notional)


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
    bits: uint256 = (word >> 128) & MASK96
    if bits >= convert(HALF96, uint256):
        return convert(bits, int256) - 2 * HALF96
    return convert(bits, int256)


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
    m: house_state.Market = house_state._markets[market_id]
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
        shortfall=packed._lo(m.shortfall),
        outstanding_shortfall=packed._hi(m.shortfall),
        cumulative_long_funding=packed._signed(packed._lo(m.funding)),
        cumulative_short_funding=packed._signed(packed._hi(m.funding)),
        last_funding_time=m.funding_clock & MASK64,
        funding_period=m.funding_params & MASK64,
        max_funding_rate=(m.funding_params >> 64) & MASK64,
        max_funding_interval=m.funding_params >> 128,
        liquidation_penalty=m.liquidation & MASK64,
        liquidator_share=(m.liquidation >> 64) & MASK64,
        liquidation_buffer=(m.liquidation >> 128) & MASK64,
        keeper_reward_floor=(m.liquidation >> 192) * FLOOR_UNIT,
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
    vamm: address = house_state._markets[market_id].vamm
    assert vamm != empty(address), "ch: unknown market"
    position: house_state.Position = house_state._positions[trader][market_id]
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
# administration: each function runs in HouseAdmin, by delegatecall in this contract's storage


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
    return abi_decode(raw_call(admin, msg.data, max_outsize=32, is_delegate_call=True), uint256)


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
    @dev Bounds: 0.5 % ≤ maintenance < initial, maintenance > liquidation penalty,
         1 % ≤ initial ≤ 100 %, fee ≤ 1 %, share ≤ 100 %.
    """
    raw_call(admin, msg.data, is_delegate_call=True)


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
    raw_call(admin, msg.data, is_delegate_call=True)


@external
def set_funding_params(
    market_id: uint256, period: uint256, max_rate_per_hour: uint256, max_interval: uint256
):
    """
    @notice Set the funding period, the rate clamp and the longest interval charged at once
            (owner only).
    @dev Bounds: 1 min ≤ period ≤ 1 day; 0 < max rate ≤ 1 % per hour; period ≤ max interval ≤ 7 days.
    """
    raw_call(admin, msg.data, is_delegate_call=True)


@external
def set_liquidation_params(
    market_id: uint256,
    penalty: uint256,
    liquidator_share: uint256,
    buffer: uint256,
    keeper_reward_floor: uint256,
):
    """
    @notice Set the liquidation penalty, the caller's share of it, the buffer a partial
            liquidation restores above maintenance (all WAD) and the keeper reward floor (quote,
            18 decimals) of a market (owner only).
    @dev Bounds: 0 < penalty < maintenance ratio, penalty ≤ 10 %; share ≤ 100 %;
         0 < buffer ≤ 10 %; floor ≤ 1,000 quote, a multiple of 1e-9 quote.
    """
    raw_call(admin, msg.data, is_delegate_call=True)


@external
def set_insurance_floor(floor_: uint256):
    """
    @notice Set the balance the governance withdrawal never takes the insurance fund below
            (owner only, 18 decimals).
    """
    raw_call(admin, msg.data, is_delegate_call=True)


@external
def withdraw_insurance(amount: uint256, to: address):
    """
    @notice Move `amount` of the insurance fund to `to`'s free collateral (owner only). Never
            below the floor plus all outstanding shortfall.
    """
    raw_call(admin, msg.data, is_delegate_call=True)


@external
def repay_shortfall(market_id: uint256) -> uint256:
    """
    @notice Pay a market's outstanding shortfall from the insurance fund, as far as it goes
            (permissionless). Returns the amount repaid. Reduce-only stays until the owner
            lifts it.
    """
    return abi_decode(raw_call(admin, msg.data, max_outsize=32, is_delegate_call=True), uint256)


@external
def set_guardian(guardian_: address):
    """
    @notice Set the address that may pause markets (owner only).
    """
    raw_call(admin, msg.data, is_delegate_call=True)


@external
def set_paused(market_id: uint256, paused: bool):
    """
    @notice Pause or unpause a market (guardian or owner). Paused: no opening, increasing or
            margin removal; add-margin, reduce and close still work.
    """
    raw_call(admin, msg.data, is_delegate_call=True)


@external
def set_reduce_only(market_id: uint256, reduce_only: bool):
    """
    @notice Turn reduce-only mode on or off (owner only).
    """
    raw_call(admin, msg.data, is_delegate_call=True)
