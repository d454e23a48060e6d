"""Trader actions as Brownie transactions, shared by the CLI, simulation, benchmarks and tests."""

from __future__ import annotations

from brownie import chain

DEFAULT_SLIPPAGE = 0.01  # 1 %
DEADLINE_SECONDS = 600


def deadline(seconds: int = DEADLINE_SECONDS) -> int:
    """A deadline `seconds` after the latest block."""
    return chain.time() + seconds


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
