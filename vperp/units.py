"""Fixed-point conversions between human numbers and the protocol's 18-decimal integers."""

from decimal import Decimal, localcontext

WAD = 10**18


def to_wad(value: float | int | str | Decimal) -> int:
    """A human number (``2000``, ``"0.0625"``) as an 18-decimal integer; no sub-wei precision."""
    with localcontext() as ctx:
        ctx.prec = 80
        scaled = Decimal(str(value)) * WAD
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value} has more than 18 decimals")
    return int(scaled)


def from_wad(value: int) -> Decimal:
    """An 18-decimal integer as an exact Decimal."""
    with localcontext() as ctx:
        ctx.prec = 80
        return Decimal(value) / WAD


def to_units(value: float | int | str | Decimal, decimals: int) -> int:
    """A human amount in a token's own units (e.g. 6 decimals for USDC), rounded down."""
    with localcontext() as ctx:
        ctx.prec = 80
        return int(Decimal(str(value)) * 10**decimals)
