"""Trader actions as Brownie transactions, shared by the CLI, simulation, benchmarks and tests."""

from __future__ import annotations

from math import isqrt

from vperp import chain_tools

DEFAULT_SLIPPAGE = 0.01  # 1 %
DEADLINE_SECONDS = 600


def deadline(seconds: int = DEADLINE_SECONDS) -> int:
    """A deadline `seconds` after the latest block's timestamp, or after the timestamp already
    set for the next block (vperp.chain_tools.at / one_block). Brownie's ``chain.time()`` is not
    used: it drifts from the chain once blocks are mined at explicit timestamps."""
    return chain_tools.next_timestamp() + seconds


def fund(token, vault, trader, amount: int) -> None:
    """Mint `amount` token units from the faucet to `trader` and deposit them."""
    token.faucet(amount, {"from": trader})
    token.approve(vault, amount, {"from": trader})
    vault.deposit(amount, {"from": trader})


def quote_limit(vamm, base_delta: int, slippage: float = DEFAULT_SLIPPAGE) -> int:
    """Slippage limit for a trade of `base_delta`: the most quote to pay (buy) or the least to
    receive (sell), `slippage` away from the vAMM's current quote."""
    quote = vamm.quote_for(base_delta)
    bps = int(slippage * 10_000)
    if base_delta > 0:
        return quote * (10_000 + bps) // 10_000 + 1
    return quote * (10_000 - bps) // 10_000


def trade(
    house,
    vamm,
    trader,
    market_id: int,
    base_delta: int,
    margin: int = 0,
    slippage: float = DEFAULT_SLIPPAGE,
):
    """Open / increase / reduce / flip by `base_delta` with a slippage limit and a deadline."""
    limit = quote_limit(vamm, base_delta, slippage)
    return house.open_position(market_id, base_delta, margin, limit, deadline(), {"from": trader})


def close(house, vamm, trader, market_id: int, slippage: float = DEFAULT_SLIPPAGE):
    """Close the whole position with a slippage limit and a deadline."""
    size = house.position(trader, market_id)["size"]
    limit = quote_limit(vamm, -size, slippage)
    return house.close_position(market_id, limit, deadline(), {"from": trader})


MAX_MARK_STEP = 0.09  # each step stays inside a 10 % per-block price-move limit


def move_mark(house, vamm, trader, market_id: int, target: int, leverage: int = 6) -> None:
    """`trader` trades until the vAMM's mark price is about `target` (WAD), in steps of at most
    9 % (one block each), posting 1/`leverage` of each step's notional as margin."""
    while True:
        mark = vamm.mark_price()
        step = max(min(target, int(mark * (1 + MAX_MARK_STEP))), int(mark * (1 - MAX_MARK_STEP)))
        base, _ = vamm.reserves()
        delta = base - isqrt(vamm.k() * 10**18 // step)  # > 0 buys base (the price rises)
        if delta == 0:
            return
        margin = abs(delta) * step // 10**18 // leverage
        trade(house, vamm, trader, market_id, delta, margin, slippage=0.3)
        if step == target:
            return
