# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title Lens
@notice View-only batch reads for keepers, the CLI and UIs: positions, unrealised PnL, margin
        ratios, liquidatable flags and liquidation prices of a list of traders in one call. Holds no state but the
        ClearingHouse address; nothing to pause.
"""

from ethereum.ercs import IERC20
from interfaces import IClearingHouse
from interfaces import IOracleAdapter
from interfaces import IVamm
from interfaces import IVault
from modules import fixed_point
from modules import health

MAX_BATCH: constant(uint256) = 500
WAD: constant(uint256) = fixed_point.WAD


struct PositionView:
    trader: address
    size: int256
    open_notional: uint256
    margin: uint256
    exit_notional: uint256
    unrealised_pnl: int256
    pending_funding: int256
    margin_ratio: int256
    liquidation_price: uint256
    liquidatable: bool


struct MarketView:
    mark_price: uint256
    base_reserve: uint256
    quote_reserve: uint256
    k: uint256
    net_base: int256
    long_open_interest: uint256
    short_open_interest: uint256
    paused: bool
    reduce_only: bool


struct LedgerView:
    token_balance: uint256
    scale: uint256
    total_free: uint256
    total_margin: uint256
    insurance_fund: uint256
    fee_pool: uint256
    counterparty_balance: int256


clearing_house: public(immutable(address))
vault: public(immutable(address))


@deploy
def __init__(clearing_house_: address):
    clearing_house = clearing_house_
    vault = staticcall IClearingHouse(clearing_house_).vault()


@external
@view
def market(market_id: uint256) -> MarketView:
    """
    @notice A market's vAMM state and open interest in one read.
    """
    info: IClearingHouse.MarketInfo = staticcall IClearingHouse(clearing_house).market(market_id)
    base: uint256 = 0
    quote: uint256 = 0
    base, quote = staticcall IVamm(info.vamm).reserves()
    return MarketView(
        mark_price=quote * WAD // base,
        base_reserve=base,
        quote_reserve=quote,
        k=staticcall IVamm(info.vamm).k(),
        net_base=staticcall IVamm(info.vamm).net_base(),
        long_open_interest=info.long_open_interest,
        short_open_interest=info.short_open_interest,
        paused=info.paused,
        reduce_only=info.reduce_only,
    )


@external
@view
def free_collateral(traders: DynArray[address, MAX_BATCH]) -> DynArray[uint256, MAX_BATCH]:
    """
    @notice Free collateral of each listed trader, 18 decimals.
    """
    out: DynArray[uint256, MAX_BATCH] = []
    for trader: address in traders:
        out.append(staticcall IVault(vault).free_collateral(trader))
    return out


@external
@view
def ledgers(traders: DynArray[address, MAX_BATCH]) -> LedgerView:
    """
    @notice The vault's ledgers, with Σ free collateral over the listed traders: everything the
            accounting identity token balance × scale = Σ ledgers needs, in one read.
    """
    total_free: uint256 = 0
    for trader: address in traders:
        total_free += staticcall IVault(vault).free_collateral(trader)
    return LedgerView(
        token_balance=staticcall IERC20(staticcall IVault(vault).collateral()).balanceOf(vault),
        scale=staticcall IVault(vault).scale(),
        total_free=total_free,
        total_margin=staticcall IVault(vault).total_margin(),
        insurance_fund=staticcall IVault(vault).insurance_fund(),
        fee_pool=staticcall IVault(vault).fee_pool(),
        counterparty_balance=staticcall IVault(vault).counterparty_balance(),
    )


@external
@view
def positions(
    market_id: uint256, traders: DynArray[address, MAX_BATCH]
) -> DynArray[PositionView, MAX_BATCH]:
    """
    @notice Every listed trader's position in `market_id`, valued at the vAMM exit price.
    @dev liquidation_price is the price at which the margin ratio (ignoring price impact,
         with pending funding taken out of the margin) reaches the maintenance ratio; 0 when there
         is none (no position, or a long whose margin covers its whole notional). A position is
         liquidatable only when it is below maintenance at both the vAMM exit value and the
         oracle price (the ClearingHouse's own rule, from the shared `health` module), and only
         while the oracle price is valid: `liquidate` needs it.
    """
    mmr: uint256 = (
        staticcall IClearingHouse(clearing_house).market(market_id)
    ).maintenance_margin_ratio
    index_price: uint256 = 0
    status: uint256 = 0
    index_price, status = staticcall IOracleAdapter(
        staticcall IClearingHouse(clearing_house).oracle()
    ).price(market_id)
    out: DynArray[PositionView, MAX_BATCH] = []
    for trader: address in traders:
        p: IClearingHouse.PositionInfo = staticcall IClearingHouse(clearing_house).position(
            trader, market_id
        )
        liquidatable: bool = False
        if p.size != 0 and status == 0:
            liquidatable = health._liquidatable(
                convert(p.margin, int256) - p.pending_funding,
                p.size,
                p.open_notional,
                p.exit_notional,
                index_price,
                mmr,
            )
        out.append(
            PositionView(
                trader=trader,
                size=p.size,
                open_notional=p.open_notional,
                margin=p.margin,
                exit_notional=p.exit_notional,
                unrealised_pnl=p.unrealised_pnl,
                pending_funding=p.pending_funding,
                margin_ratio=p.margin_ratio,
                liquidation_price=self._liquidation_price(p, mmr),
                liquidatable=liquidatable,
            )
        )
    return out


@internal
@pure
def _liquidation_price(p: IClearingHouse.PositionInfo, mmr: uint256) -> uint256:
    margin: uint256 = p.margin
    if p.pending_funding > 0:
        margin -= min(margin, convert(p.pending_funding, uint256))
    else:
        margin += convert(-p.pending_funding, uint256)
    if p.size > 0:
        # (margin + size·price − notional) = mmr · size·price  →  price = (N − m) / (size (1 − mmr))
        if p.open_notional <= margin:
            return 0
        return fixed_point._mul_div(
            p.open_notional - margin, WAD * WAD, convert(p.size, uint256) * (WAD - mmr), False
        )
    if p.size < 0:
        # (margin + N − |size|·price) = mmr · |size|·price  →  price = (m + N) / (|size| (1 + mmr))
        return fixed_point._mul_div(
            margin + p.open_notional, WAD * WAD, convert(-p.size, uint256) * (WAD + mmr), False
        )
    return 0
