# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title ClearingHouse
@notice Positions per (trader, market) with isolated margin, priced by each market's vAMM and
        checked against its oracle: open, increase, reduce, close and flip with a slippage
        limit and a deadline; add and remove margin; permissionless liquidation and funding
        settlement. Money never leaves here: every balance change is one `Vault.move`.
@dev Each mechanism lives in the module named after it: `trading` (trades, fees, open-interest
     caps, the oracle guard band), `margin` (add / remove margin), `health` (the valuation
     rules: opening and removing margin pass under both valuations, liquidation needs both),
     `funding` (continuous accrual, settlement), `liquidation`, `bad_debt` (insurance fund,
     socialisation, shortfall), `house_state` (storage). Administration runs in HouseAdmin by
     delegatecall. Rounding always favours the protocol.
     Pause: the guardian (or the owner) can pause a market, which blocks opening, increasing and
     removing margin while still allowing add-margin, reduce, close and liquidation.
     Ownership is two-step (snekmate).
"""

from interfaces import IClearingHouse
from interfaces import IVamm
from modules import bad_debt
from modules import fixed_point
from modules import funding
from modules import health
from modules import house_state
from modules import margin as position_margin
from modules import packed
from modules import trading
from snekmate.auth import ownable
from snekmate.auth import ownable_2step

implements: IClearingHouse


interface HouseAdminView:
    def vault() -> address: view


initializes: ownable
initializes: ownable_2step[ownable := ownable]
initializes: house_state
initializes: funding[house_state := house_state]
initializes: bad_debt[house_state := house_state, funding := funding]
initializes: trading[house_state := house_state, funding := funding, bad_debt := bad_debt]
initializes: position_margin[house_state := house_state, funding := funding, bad_debt := bad_debt]

exports: (
    ownable_2step.owner,
    ownable_2step.pending_owner,
    ownable_2step.transfer_ownership,
    ownable_2step.accept_ownership,
    house_state.vault,
    house_state.oracle,
    house_state.guardian,
    house_state.market_count,
    house_state.insurance_floor,
    house_state.total_shortfall,
)

WAD: constant(uint256) = fixed_point.WAD
MASK64: constant(uint256) = house_state.MASK64
FLAG_PAUSED: constant(uint256) = house_state.FLAG_PAUSED
FLAG_REDUCE_ONLY: constant(uint256) = house_state.FLAG_REDUCE_ONLY
FLOOR_UNIT: constant(uint256) = house_state.FLOOR_UNIT

# where the administration functions run, by delegatecall in this contract's storage
admin: public(immutable(address))
# where liquidation and the funding settlement run, the same way
keeper: public(immutable(address))


@deploy
def __init__(
    vault_: address, oracle_: address, guardian_: address, admin_: address, keeper_: address
):
    """
    @param vault_ The collateral vault (deployed with this contract's address).
    @param oracle_ The OracleAdapter giving each market's index price.
    @param guardian_ May pause and unpause markets.
    @param admin_ HouseAdmin, deployed for the same vault and oracle.
    @param keeper_ HouseKeeper, deployed for the same vault and oracle.
    """
    ownable.__init__()
    ownable_2step.__init__()
    assert vault_ != empty(address), "ch: zero vault"
    assert oracle_ != empty(address), "ch: zero oracle"
    assert admin_.is_contract, "ch: admin is not a contract"
    assert staticcall HouseAdminView(admin_).vault() == vault_, "ch: admin for another vault"
    assert keeper_.is_contract, "ch: keeper is not a contract"
    assert staticcall HouseAdminView(keeper_).vault() == vault_, "ch: keeper for another vault"
    house_state.__init__(vault_, oracle_)
    admin = admin_
    keeper = keeper_
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
    @param deadline The trade reverts after this timestamp (seconds).
    @dev The opening part needs a valid oracle price, an unpaused market that is not
         reduce-only, the vAMM's size and per-block price limits, the position and open-interest
         caps, a mark that stays within the market's oracle band of the index (or moves toward
         it), and margin + min(unrealised PnL, 0) ≥ ⌈initial ratio × notional⌉ at both the
         vAMM exit value and the oracle price. Reducing and closing are never limited (but no
         trade follows a liquidation in the same block: retry in the next).
    """
    assert block.timestamp <= deadline, "ch: expired"
    assert base_delta != 0, "ch: zero size"
    trading._trade(msg.sender, market_id, base_delta, margin, quote_limit)


@external
def close_position(market_id: uint256, quote_limit: uint256, deadline: uint256):
    """
    @notice Close the caller's whole position; margin plus realised PnL minus funding owed and
            fee returns to free collateral. Allowed in paused and reduce-only markets.
    @param quote_limit The least quote received closing a long, the most paid closing a short.
    @param deadline The trade reverts after this timestamp (seconds).
    """
    assert block.timestamp <= deadline, "ch: expired"
    assert house_state._markets[market_id].vamm != empty(address), "ch: unknown market"
    size: int256 = packed._signed(packed._lo(house_state._positions[msg.sender][market_id].base))
    assert size != 0, "ch: no position"
    trading._trade(msg.sender, market_id, -size, 0, quote_limit)


@external
def add_margin(market_id: uint256, amount: uint256):
    """
    @notice Move `amount` (18 decimals) of the caller's free collateral into their position.
            Always allowed; funding owed is settled from it first.
    """
    position_margin._add(msg.sender, market_id, amount)


@external
def remove_margin(market_id: uint256, amount: uint256):
    """
    @notice Move `amount` (18 decimals) of margin back to free collateral.
    @dev The margin left, counting unrealised losses but never unrealised profit, must cover the
         initial margin requirement at both the vAMM exit value and the oracle price. Needs a
         valid oracle price; blocked while paused.
    """
    position_margin._remove(msg.sender, market_id, amount)


@external
def liquidate(trader: address, market_id: uint256) -> uint256:
    """
    @notice Liquidate `trader`'s position in `market_id` (permissionless; also in paused and
            reduce-only markets). Returns the caller's reward (18-decimal quote), credited to
            its free collateral.
    @dev Runs in HouseKeeper (`modules/liquidation.vy` has the rule). Reverts: "ch: position
         is not liquidatable", the oracle's reason when its price is invalid, "ch: liquidation
         would fill too far from the oracle price" and "vamm: price move limit already crossed
         by a liquidation in this block": retry in a later block.
    """
    return abi_decode(raw_call(keeper, msg.data, max_outsize=32, is_delegate_call=True), uint256)


@external
def settle_funding(market_id: uint256):
    """
    @notice Charge the funding rate in force up to now, then measure the next rate over the
            time since the last settlement and start charging it (permissionless, at most once
            per funding period). Runs in HouseKeeper; `modules/funding.vy` has the rule.
    """
    raw_call(keeper, msg.data, is_delegate_call=True)


# ---------------------------------------------------------------------------------------------
# views


@external
@view
def pending_funding(trader: address, market_id: uint256) -> int256:
    """
    @notice Funding (18-decimal quote) the position would pay (> 0) or receive (< 0) if touched
            now, accrual since the last touch included.
    """
    position: house_state.Position = house_state._positions[trader][market_id]
    size: int256 = packed._signed(packed._lo(position.base))
    if size == 0:
        return 0
    index: int256 = funding._side_index(size, funding._indices_now(market_id))
    return funding._owed(size, index - house_state._collateral_index(position.collateral))


@external
@view
def market(market_id: uint256) -> IClearingHouse.MarketInfo:
    """
    @notice Every parameter and the state of a market (ratios WAD, amounts 18-decimal quote,
            sizes 18-decimal base, times seconds).
    """
    m: house_state.Market = house_state._markets[market_id]
    assert m.vamm != empty(address), "ch: unknown market"
    flags: uint256 = (m.state >> 128) & MASK64
    return IClearingHouse.MarketInfo(
        vamm=m.vamm,
        initial_margin_ratio=m.risk & MASK64,
        maintenance_margin_ratio=(m.risk >> 64) & MASK64,
        fee_rate=(m.risk >> 128) & MASK64,
        insurance_fee_share=m.risk >> 192,
        max_open_interest=packed._lo(m.caps),
        max_position_size=packed._hi(m.caps),
        min_position_notional=packed._lo(m.state),
        oracle_band=m.state >> 192,
        paused=flags & FLAG_PAUSED != 0,
        reduce_only=flags & FLAG_REDUCE_ONLY != 0,
        long_open_interest=packed._lo(m.open_interest),
        short_open_interest=packed._hi(m.open_interest),
        shortfall=packed._lo(m.shortfall),
        outstanding_shortfall=packed._hi(m.shortfall),
        cumulative_long_funding=packed._signed(packed._lo(m.funding)),
        cumulative_short_funding=packed._signed(packed._hi(m.funding)),
        funding_per_hour=packed._signed(packed._lo(m.funding_rate)),
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
    @return size (signed base), open notional, margin, exit notional, unrealised PnL, pending
            funding (> 0: owed) and margin ratio ((margin + unrealised PnL − pending funding) /
            exit notional, WAD, rounded down; 0 without position).
    """
    vamm: address = house_state._markets[market_id].vamm
    assert vamm != empty(address), "ch: unknown market"
    position: house_state.Position = house_state._positions[trader][market_id]
    size: int256 = packed._signed(packed._lo(position.base))
    open_notional: uint256 = packed._hi(position.base)
    margin_: uint256 = packed._lo(position.collateral)
    if size == 0:
        return IClearingHouse.PositionInfo(
            size=0,
            open_notional=0,
            margin=margin_,
            exit_notional=0,
            unrealised_pnl=0,
            pending_funding=0,
            margin_ratio=0,
        )
    exit_notional: uint256 = staticcall IVamm(vamm).quote_for(-size)
    pnl: int256 = health._pnl(size, open_notional, exit_notional)
    index: int256 = funding._side_index(size, funding._indices_now(market_id))
    owed: int256 = funding._owed(size, index - house_state._collateral_index(position.collateral))
    ratio: int256 = fixed_point._mul_div_signed(
        convert(margin_, int256) + pnl - owed, WAD, max(exit_notional, 1), False
    )
    return IClearingHouse.PositionInfo(
        size=size,
        open_notional=open_notional,
        margin=margin_,
        exit_notional=exit_notional,
        unrealised_pnl=pnl,
        pending_funding=owed,
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
    @dev Bounds: 0 < max position ≤ max open interest < the vAMM's initial base reserve (so every
         short can always be bought back); 0 < minimum notional ≤ 1e6 quote.
    """
    raw_call(admin, msg.data, is_delegate_call=True)


@external
def set_oracle_band(market_id: uint256, band: uint256):
    """
    @notice Set how far (WAD of the index) an opening trade may take the mark from the oracle
            price (owner only).
    @dev Bounds: 0.5 % ≤ band ≤ 50 %.
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
