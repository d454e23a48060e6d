# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title Lens
@notice View-only batch reads for keepers, the CLI and UIs: positions, unrealised PnL, margin
        ratios and liquidation prices of a list of traders in one call. Holds no state but the
        ClearingHouse address; nothing to pause.
"""

from interfaces import IClearingHouse
from modules import fixed_point

MAX_BATCH: constant(uint256) = 500
WAD: constant(uint256) = fixed_point.WAD


struct PositionView:
    trader: address
    size: int256
    open_notional: uint256
    margin: uint256
    exit_notional: uint256
    unrealised_pnl: int256
    margin_ratio: int256
    liquidation_price: uint256


clearing_house: public(immutable(address))


@deploy
def __init__(clearing_house_: address):
    clearing_house = clearing_house_


@view
@external
def positions(market_id: uint256, traders: DynArray[address, MAX_BATCH]) -> DynArray[
    PositionView, MAX_BATCH
]:
    """
    @notice Every listed trader's position in `market_id`, valued at the vAMM exit price.
    @dev liquidation_price is the mark price at which the margin ratio (ignoring price impact and
         pending funding) reaches the maintenance ratio; 0 when there is none (no position, or a
         long whose margin covers its whole notional).
    """
    mmr: uint256 = (staticcall IClearingHouse(clearing_house).market(market_id)).maintenance_margin_ratio
    out: DynArray[PositionView, MAX_BATCH] = []
    for trader: address in traders:
        p: IClearingHouse.PositionInfo = staticcall IClearingHouse(clearing_house).position(
            trader, market_id
        )
        out.append(
            PositionView(
                trader=trader,
                size=p.size,
                open_notional=p.open_notional,
                margin=p.margin,
                exit_notional=p.exit_notional,
                unrealised_pnl=p.unrealised_pnl,
                margin_ratio=p.margin_ratio,
                liquidation_price=self._liquidation_price(p, mmr),
            )
        )
    return out


@pure
@internal
def _liquidation_price(p: IClearingHouse.PositionInfo, mmr: uint256) -> uint256:
    if p.size > 0:
        # (margin + size·price − notional) = mmr · size·price  →  price = (N − m) / (size (1 − mmr))
        if p.open_notional <= p.margin:
            return 0
        return fixed_point._mul_div(
            p.open_notional - p.margin, WAD * WAD, convert(p.size, uint256) * (WAD - mmr), False
        )
    if p.size < 0:
        # (margin + N − |size|·price) = mmr · |size|·price  →  price = (m + N) / (|size| (1 + mmr))
        return fixed_point._mul_div(
            p.margin + p.open_notional, WAD * WAD, convert(-p.size, uint256) * (WAD + mmr), False
        )
    return 0
