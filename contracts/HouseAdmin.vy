# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title HouseAdmin
@notice The ClearingHouse's administration: listing markets, bounded risk, cap, funding and
        liquidation parameters, pause and reduce-only flags, the guardian, and the insurance
        fund's governance (floor, withdrawal, shortfall repayment).
@dev Runs only by delegatecall from the ClearingHouse, in its storage (see `house_state`), so
     `self` is the ClearingHouse, `msg.sender` the original caller, and events come from the
     ClearingHouse. The ClearingHouse's entry points hold the reentrancy lock, so the functions
     here are `@reentrant`. Kept apart so that trading, funding and liquidation fit the
     ClearingHouse under the 24 KB contract size limit, without adding gas to any trade.
"""

from interfaces import IClearingHouse
from interfaces import IOracleAdapter
from interfaces import IVamm
from interfaces import IVault
from modules import fixed_point
from modules import house_state
from modules import packed
from snekmate.auth import ownable
from snekmate.auth import ownable_2step

# the same order as in the ClearingHouse: the storage layouts must match
initializes: ownable
initializes: ownable_2step[ownable := ownable]
initializes: house_state

WAD: constant(uint256) = fixed_point.WAD
MASK64: constant(uint256) = house_state.MASK64
FLAG_PAUSED: constant(uint256) = house_state.FLAG_PAUSED
FLAG_REDUCE_ONLY: constant(uint256) = house_state.FLAG_REDUCE_ONLY
FLOOR_UNIT: constant(uint256) = house_state.FLOOR_UNIT
HOUR: constant(uint256) = 3600
# parameter bounds and defaults
MIN_INITIAL_MARGIN_RATIO: constant(uint256) = WAD // 100  # 100x at most
MIN_MAINTENANCE_MARGIN_RATIO: constant(uint256) = WAD // 200  # 0.5 %
MAX_FEE_RATE: constant(uint256) = WAD // 100  # 1 %
MAX_MIN_POSITION_NOTIONAL: constant(uint256) = 10**6 * WAD
DEFAULT_FUNDING_PERIOD: constant(uint256) = HOUR
DEFAULT_MAX_FUNDING_RATE: constant(uint256) = WAD // 1000  # 0.1 % per hour
DEFAULT_MAX_FUNDING_INTERVAL: constant(uint256) = 8 * HOUR
MIN_FUNDING_PERIOD: constant(uint256) = 60
MAX_FUNDING_PERIOD: constant(uint256) = 24 * HOUR
MAX_FUNDING_RATE: constant(uint256) = WAD // 100  # 1 % per hour
MAX_FUNDING_INTERVAL: constant(uint256) = 7 * 24 * HOUR
DEFAULT_LIQUIDATION_PENALTY: constant(uint256) = WAD * 25 // 1000  # 2.5 % of the notional
DEFAULT_LIQUIDATOR_SHARE: constant(uint256) = WAD // 2
DEFAULT_LIQUIDATION_BUFFER: constant(uint256) = WAD // 50  # partial: back to maintenance + 2 %
MAX_LIQUIDATION_PENALTY: constant(uint256) = WAD // 10
MAX_LIQUIDATION_BUFFER: constant(uint256) = WAD // 10
MAX_KEEPER_REWARD_FLOOR: constant(uint256) = 1000 * WAD
DEFAULT_ORACLE_BAND: constant(uint256) = WAD // 10  # 10 % of the index
MIN_ORACLE_BAND: constant(uint256) = WAD // 200  # 0.5 %
MAX_ORACLE_BAND: constant(uint256) = WAD // 2  # 50 %
MASK128: constant(uint256) = 2**128 - 1

_itself: immutable(address)


@deploy
def __init__(vault_: address, oracle_: address):
    """
    @param vault_ The ClearingHouse's vault.
    @param oracle_ The ClearingHouse's oracle adapter.
    """
    ownable.__init__()  # this contract's own storage is never used
    ownable_2step.__init__()
    house_state.__init__(vault_, oracle_)
    _itself = self


@external
@view
def vault() -> address:
    """
    @notice The vault this code was deployed for.
    """
    return house_state.vault


@internal
@view
def _delegated():
    assert self != _itself, "admin: call through the clearing house"


@external
@reentrant
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
    self._delegated()
    ownable._check_owner()
    assert vamm.is_contract, "ch: vamm is not a contract"
    assert staticcall IVamm(vamm).clearing_house() == self, "ch: vamm bound to another house"
    market_id: uint256 = house_state.market_count
    # a recorded observation (final, unlike the view's provisional seconds) starts funding
    price_: uint256 = 0
    status: uint256 = 0
    index_cum: uint256 = 0
    valid: uint256 = 0
    price_, status, index_cum, valid = extcall IOracleAdapter(house_state.oracle).touch(market_id)
    assert status == 0, "ch: market has no valid oracle price"
    house_state.market_count = market_id + 1
    house_state._markets[market_id].vamm = vamm
    log IClearingHouse.MarketAdded(market=market_id, vamm=vamm)
    mark_cum: uint256 = 0
    now_: uint256 = 0
    mark_cum, now_ = staticcall IVamm(vamm).cumulative_mark()
    house_state._markets[market_id].funding_clock = block.timestamp | (mark_cum << 64)
    house_state._markets[market_id].index_clock = index_cum | (valid << 192)
    self._set_funding_params(
        market_id, DEFAULT_FUNDING_PERIOD, DEFAULT_MAX_FUNDING_RATE, DEFAULT_MAX_FUNDING_INTERVAL
    )
    self._set_risk(
        market_id, initial_margin_ratio, maintenance_margin_ratio, fee_rate, insurance_fee_share
    )
    self._set_liquidation(
        market_id,
        min(DEFAULT_LIQUIDATION_PENALTY, maintenance_margin_ratio // 2),
        DEFAULT_LIQUIDATOR_SHARE,
        DEFAULT_LIQUIDATION_BUFFER,
        0,
    )
    self._set_caps(market_id, max_open_interest, max_position_size, min_position_notional)
    self._set_oracle_band(market_id, DEFAULT_ORACLE_BAND)
    return market_id


@external
@reentrant
def set_risk_params(
    market_id: uint256,
    initial_margin_ratio: uint256,
    maintenance_margin_ratio: uint256,
    fee_rate: uint256,
    insurance_fee_share: uint256,
):
    self._delegated()
    ownable._check_owner()
    self._check_market(market_id)
    self._set_risk(
        market_id, initial_margin_ratio, maintenance_margin_ratio, fee_rate, insurance_fee_share
    )


@external
@reentrant
def set_caps(
    market_id: uint256,
    max_open_interest: uint256,
    max_position_size: uint256,
    min_position_notional: uint256,
):
    self._delegated()
    ownable._check_owner()
    self._check_market(market_id)
    self._set_caps(market_id, max_open_interest, max_position_size, min_position_notional)


@external
@reentrant
def set_oracle_band(market_id: uint256, band: uint256):
    self._delegated()
    ownable._check_owner()
    self._check_market(market_id)
    self._set_oracle_band(market_id, band)


@external
@reentrant
def set_funding_params(
    market_id: uint256, period: uint256, max_rate_per_hour: uint256, max_interval: uint256
):
    self._delegated()
    ownable._check_owner()
    self._check_market(market_id)
    self._set_funding_params(market_id, period, max_rate_per_hour, max_interval)


@external
@reentrant
def set_liquidation_params(
    market_id: uint256,
    penalty: uint256,
    liquidator_share: uint256,
    buffer: uint256,
    keeper_reward_floor: uint256,
):
    self._delegated()
    ownable._check_owner()
    self._check_market(market_id)
    self._set_liquidation(market_id, penalty, liquidator_share, buffer, keeper_reward_floor)


@external
@reentrant
def set_insurance_floor(floor_: uint256):
    self._delegated()
    ownable._check_owner()
    house_state.insurance_floor = floor_
    log IClearingHouse.InsuranceFloorSet(floor=floor_)


@external
@reentrant
def withdraw_insurance(amount: uint256, to: address):
    self._delegated()
    ownable._check_owner()
    assert amount != 0, "ch: zero amount"
    assert to != empty(address), "ch: zero recipient"
    fund: uint256 = staticcall IVault(house_state.vault).insurance_fund()
    assert fund >= amount + house_state.insurance_floor + house_state.total_shortfall, (
        "ch: insurance fund would fall below floor plus outstanding shortfall"
    )
    extcall IVault(house_state.vault).move(
        to, convert(amount, int256), 0, -convert(amount, int256), 0
    )
    log IClearingHouse.InsuranceWithdrawn(to=to, amount=amount, insurance_fund=fund - amount)


@external
@reentrant
def repay_shortfall(market_id: uint256) -> uint256:
    self._delegated()
    self._check_market(market_id)
    word: uint256 = house_state._markets[market_id].shortfall
    shortfall: uint256 = packed._hi(word)
    assert shortfall != 0, "ch: no shortfall"
    amount: uint256 = min(shortfall, staticcall IVault(house_state.vault).insurance_fund())
    assert amount != 0, "ch: insurance fund is empty"
    house_state._markets[market_id].shortfall = packed._pack(packed._lo(word), shortfall - amount)
    house_state.total_shortfall -= amount
    extcall IVault(house_state.vault).move(self, 0, 0, -convert(amount, int256), 0)
    log IClearingHouse.ShortfallRepaid(
        market=market_id, amount=amount, shortfall=shortfall - amount
    )
    return amount


@external
@reentrant
def set_guardian(guardian_: address):
    self._delegated()
    ownable._check_owner()
    house_state.guardian = guardian_
    log IClearingHouse.GuardianSet(guardian=guardian_)


@external
@reentrant
def set_paused(market_id: uint256, paused: bool):
    self._delegated()
    assert msg.sender == house_state.guardian or msg.sender == ownable.owner, "ch: not guardian"
    self._check_market(market_id)
    house_state._set_flag(market_id, FLAG_PAUSED, paused, msg.sender)


@external
@reentrant
def set_reduce_only(market_id: uint256, reduce_only: bool):
    self._delegated()
    ownable._check_owner()
    self._check_market(market_id)
    house_state._set_flag(market_id, FLAG_REDUCE_ONLY, reduce_only, msg.sender)


@internal
@view
def _check_market(market_id: uint256):
    assert house_state._markets[market_id].vamm != empty(address), "ch: unknown market"


@internal
def _set_risk(market_id: uint256, imr: uint256, mmr: uint256, fee_rate: uint256, share: uint256):
    assert imr >= MIN_INITIAL_MARGIN_RATIO and imr <= WAD, "ch: initial margin ratio out of bounds"
    assert (
        mmr >= MIN_MAINTENANCE_MARGIN_RATIO
        and mmr < imr
        and mmr > house_state._markets[market_id].liquidation & MASK64
    ), "ch: maintenance margin ratio out of bounds"
    assert fee_rate <= MAX_FEE_RATE, "ch: fee rate out of bounds"
    assert share <= WAD, "ch: insurance share out of bounds"
    house_state._markets[market_id].risk = imr | (mmr << 64) | (fee_rate << 128) | (share << 192)
    log IClearingHouse.RiskParamsSet(
        market=market_id,
        initial_margin_ratio=imr,
        maintenance_margin_ratio=mmr,
        fee_rate=fee_rate,
        insurance_fee_share=share,
    )


@internal
def _set_liquidation(
    market_id: uint256, penalty: uint256, share: uint256, buffer: uint256, floor_: uint256
):
    mmr: uint256 = (house_state._markets[market_id].risk >> 64) & MASK64
    assert penalty != 0 and penalty < mmr and penalty <= MAX_LIQUIDATION_PENALTY, (
        "ch: liquidation penalty out of bounds"
    )
    assert share <= WAD, "ch: liquidator share out of bounds"
    assert buffer != 0 and buffer <= MAX_LIQUIDATION_BUFFER, "ch: liquidation buffer out of bounds"
    assert floor_ <= MAX_KEEPER_REWARD_FLOOR and floor_ % FLOOR_UNIT == 0, (
        "ch: keeper reward floor out of bounds"
    )
    house_state._markets[market_id].liquidation = (
        penalty | (share << 64) | (buffer << 128) | (floor_ // FLOOR_UNIT << 192)
    )
    log IClearingHouse.LiquidationParamsSet(
        market=market_id,
        penalty=penalty,
        liquidator_share=share,
        buffer=buffer,
        keeper_reward_floor=floor_,
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
    house_state._markets[market_id].funding_params = (
        period | (max_rate << 64) | (max_interval << 128)
    )
    log IClearingHouse.FundingParamsSet(
        market=market_id, period=period, max_rate_per_hour=max_rate, max_interval=max_interval
    )


@internal
def _set_oracle_band(market_id: uint256, band: uint256):
    assert band >= MIN_ORACLE_BAND and band <= MAX_ORACLE_BAND, "ch: oracle band out of bounds"
    state: uint256 = house_state._markets[market_id].state
    house_state._markets[market_id].state = (state & ~(house_state.MASK64 << 192)) | (band << 192)
    log IClearingHouse.OracleBandSet(market=market_id, band=band)


@internal
def _set_caps(market_id: uint256, max_oi: uint256, max_position: uint256, min_notional: uint256):
    assert max_position != 0, "ch: zero max position size"
    assert max_position <= max_oi, "ch: max position above open interest cap"
    # every short can always be bought back: the base reserve is initial + Σ shorts − Σ longs,
    # which exceeds Σ shorts (so any one short) while Σ longs ≤ cap < initial
    assert max_oi < staticcall IVamm(house_state._markets[market_id].vamm).initial_base(), (
        "ch: open interest cap must stay below the vAMM's base reserve"
    )
    assert min_notional != 0 and min_notional <= MAX_MIN_POSITION_NOTIONAL, (
        "ch: min position notional out of bounds"
    )
    house_state._markets[market_id].caps = packed._pack(max_oi, max_position)
    state: uint256 = house_state._markets[market_id].state
    house_state._markets[market_id].state = (state & ~MASK128) | min_notional
    log IClearingHouse.CapsSet(
        market=market_id,
        max_open_interest=max_oi,
        max_position_size=max_position,
        min_position_notional=min_notional,
    )
