"""Gas benchmarks: run each operation many times on a local chain, report medians.

Writes bench/gas.json ({"operation": median_gas}) and bench/gas.md (table against the targets and
Perpetual Protocol v1's costs measured on the same anvil).
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from pathlib import Path

from brownie import accounts

from vperp import actions
from vperp.chain_tools import advance
from vperp.config import PROJECT_ROOT
from vperp.deploy import Deployment, deploy
from vperp.report import quiet

WAD = 10**18
BENCH_DIR = PROJECT_ROOT / "bench"

# operation: (target, Perp v1 on anvil 1.7.1, what is measured)
OPERATIONS = {
    "deposit": (70_000, None, "deposit to an account that already holds free collateral"),
    "deposit_first": (None, None, "first deposit of an account (new storage slot)"),
    "withdraw": (70_000, None, "withdraw part of the free collateral"),
    "open_new": (150_000, 429_442, "open a new position in an active market"),
    "increase": (110_000, 394_642, "increase a position"),
    "reduce": (110_000, 377_494, "reduce a position by half"),
    "close": (110_000, 332_203, "close a position"),
    "add_margin": (None, 103_347, "add margin"),
    "remove_margin": (None, 151_880, "remove margin"),
    "increase_after_200_trades": (
        110_000,
        4_082_300,
        "increase after 200 earlier trades (cost stays flat)",
    ),
    "settle_funding": (60_000, 151_266, "settle funding, 10 open positions, 1 h since the last"),
    "settle_funding_200_positions": (60_000, 158_960, "settle funding, 200 open positions"),
    "settle_funding_after_10h": (60_000, None, "settle funding 10 h after the last"),
    "poke": (None, None, "record the index price in the oracle accumulator"),
    "liquidate_partial": (150_000, 416_086, "partial liquidation of a 9.5x long after a 6 % drop"),
    "liquidate_full": (150_000, 380_686, "full liquidation of the rest after a further 6 % drop"),
}
HOUR = 3600


def _measure(d: Deployment, rounds: int) -> dict[str, list[int]]:
    gas: dict[str, list[int]] = defaultdict(list)
    house, vault, token, eth = d.clearing_house, d.vault, d.token, d.vamms[0]
    # an active market: someone else holds a position, so open interest and margin totals are
    # already non-zero (as on any live market) and each round measures the steady state
    resident = accounts.add()
    actions.fund(token, vault, resident, 100_000 * 10**6)
    actions.trade(house, eth, resident, 0, WAD, 1_000 * WAD)
    # and a funding rate is in force, so every trade accrues funding as on a live market
    _advance(d, HOUR, accounts[4])
    house.settle_funding(0, {"from": accounts[4]})
    assert house.market(0)["funding_per_hour"] != 0, "the bench needs a funding rate in force"
    traders = [accounts.add() for _ in range(rounds)]
    for i, trader in enumerate(traders):
        side = 1 if i % 2 == 0 else -1
        token.faucet(3_000 * 10**6, {"from": trader})
        token.approve(vault, 3_000 * 10**6, {"from": trader})
        gas["deposit_first"].append(vault.deposit(1_000 * 10**6, {"from": trader}).gas_used)
        gas["deposit"].append(vault.deposit(1_000 * 10**6, {"from": trader}).gas_used)
        gas["withdraw"].append(vault.withdraw(10 * 10**6, {"from": trader}).gas_used)
        gas["open_new"].append(
            actions.trade(house, eth, trader, 0, side * WAD // 2, 300 * WAD).gas_used
        )
        gas["increase"].append(
            actions.trade(house, eth, trader, 0, side * WAD // 2, 300 * WAD).gas_used
        )
        gas["add_margin"].append(house.add_margin(0, 20 * WAD, {"from": trader}).gas_used)
        gas["remove_margin"].append(house.remove_margin(0, 20 * WAD, {"from": trader}).gas_used)
        gas["reduce"].append(actions.trade(house, eth, trader, 0, -side * WAD // 2).gas_used)
        gas["close"].append(actions.close(house, eth, trader, 0).gas_used)
    return gas


def _flatness(d: Deployment, trades: int = 200) -> list[int]:
    """Increase cost after `trades` earlier trades by others (Perp v1's TWAP walks them all)."""
    house, vault, token, eth = d.clearing_house, d.vault, d.token, d.vamms[0]
    busy, probe = accounts.add(), accounts.add()
    for who in (busy, probe):
        actions.fund(token, vault, who, 100_000 * 10**6)
    actions.trade(house, eth, probe, 0, WAD // 2, 300 * WAD)
    for i in range(trades):
        actions.trade(
            house,
            eth,
            busy,
            0,
            WAD // 10 if i % 2 == 0 else -WAD // 10,
            100 * WAD if i % 2 == 0 else 0,
        )
    return [actions.trade(house, eth, probe, 0, WAD // 10, 30 * WAD).gas_used for _ in range(5)]


def _advance(d: Deployment, seconds: int, keeper) -> list[int]:
    """Time passes with pokes every 50 minutes; returns the pokes' gas."""
    return [tx.gas_used for tx in advance(d, seconds, keeper, poke_every=3000)]


def _open_positions(d: Deployment, count: int) -> None:
    """`count` traders with small positions on both sides (more longs than shorts)."""
    house, vault, token, eth = d.clearing_house, d.vault, d.token, d.vamms[0]
    for i in range(count):
        who = accounts.add()
        actions.fund(token, vault, who, 1_000 * 10**6)
        side = -1 if i % 3 == 0 else 1
        actions.trade(house, eth, who, 0, side * WAD // 10, 100 * WAD)


def _funding(d: Deployment) -> dict[str, list[int]]:
    gas: dict[str, list[int]] = defaultdict(list)
    keeper = accounts[4]
    house = d.clearing_house
    _open_positions(d, 10)
    for _ in range(5):
        gas["poke"] += _advance(d, HOUR, keeper)
        gas["settle_funding"].append(house.settle_funding(0, {"from": keeper}).gas_used)
    gas["poke"] += _advance(d, 10 * HOUR, keeper)
    gas["settle_funding_after_10h"].append(house.settle_funding(0, {"from": keeper}).gas_used)
    _open_positions(d, 190)
    for _ in range(3):
        _advance(d, HOUR, keeper)
        gas["settle_funding_200_positions"].append(
            house.settle_funding(0, {"from": keeper}).gas_used
        )
    return gas


def _liquidations(d: Deployment, rounds: int) -> dict[str, list[int]]:
    """Each round: a 9.5x long, both prices 6 % down (partial liquidation), 6 % more (full),
    then the pusher closes and the prices return (each move is beyond the feed's deviation
    threshold, so the feed publishes it at once)."""
    gas: dict[str, list[int]] = defaultdict(list)
    house, vault, token, eth = d.clearing_house, d.vault, d.token, d.vamms[0]
    publisher = d.publishers[0]
    keeper, pusher = accounts[4], accounts.add()
    house.set_caps(0, 9_999 * WAD, 9_999 * WAD, 10 * WAD, {"from": accounts[0]})  # the pusher
    actions.fund(token, vault, pusher, 1_000_000 * 10**6)
    start = publisher.world
    for _ in range(rounds):
        victim = accounts.add()
        actions.fund(token, vault, victim, 1_000 * 10**6)
        actions.trade(house, eth, victim, 0, 2 * WAD, 420 * WAD)
        for drop, op in ((94, "liquidate_partial"), (94, "liquidate_full")):
            actions.move_mark(house, eth, pusher, 0, eth.mark_price() * drop // 100)
            publisher.set_price(eth.mark_price())
            tx = house.liquidate(victim, 0, {"from": keeper})
            if (tx.events["Liquidated"]["size"] == 0) == (op == "liquidate_full"):
                gas[op].append(tx.gas_used)
        actions.close(house, eth, pusher, 0, slippage=0.3)
        publisher.set_price(start)
    return gas


def run(rounds: int = 20, out_dir: Path = BENCH_DIR) -> dict[str, int]:
    """Deploy, measure, write bench/gas.json and bench/gas.md; return the medians."""
    quiet()
    d = deploy()
    samples = _measure(d, rounds)
    samples["increase_after_200_trades"] = _flatness(d)
    samples.update(_liquidations(d, rounds))
    samples.update(_funding(d))
    medians = {op: int(statistics.median(samples[op])) for op in OPERATIONS if samples.get(op)}
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "gas.json").write_text(json.dumps(medians, indent=2) + "\n")
    (out_dir / "gas.md").write_text(render(medians, {op: len(samples[op]) for op in medians}))
    return medians


def render(medians: dict[str, int], counts: dict[str, int]) -> str:
    """Markdown table of medians against targets and Perp v1."""
    lines = [
        "# vperp gas (receipt gasUsed, median; anvil 1.7.1, shanghai EVM)",
        "",
        "| operation | median gas | runs | target | met | Perp v1 | what |",
        "|---|---:|---:|---:|:---:|---:|---|",
    ]
    for op, gas in medians.items():
        target, perp, what = OPERATIONS[op]
        met = "" if target is None else ("yes" if gas <= target else "**no**")
        target_text = "" if target is None else f"{target:,}"
        perp_text = "" if perp is None else f"{perp:,}"
        lines.append(
            f"| {op} | {gas:,} | {counts[op]} | {target_text} | {met} | {perp_text} | {what} |"
        )
    return "\n".join(lines) + "\n"
