"""Helpers of the oracle tests: exact block times, and an independent reference of Chainlink
validity computed from a schedule of rounds.

On anvil, `evm_setNextBlockTimestamp` fixes the next block's timestamp, so a schedule of rounds
and pokes can be mined at exact seconds. Brownie's `chain.time()` then drifts from the chain:
read times from the blocks. (A test's chain snapshot is reverted afterwards, clock included.)
"""

from fractions import Fraction

from brownie import web3

SCALE = 10**10  # 8-decimal answers to 18 decimals


def latest_time() -> int:
    """Timestamp of the latest mined block."""
    return web3.eth.get_block("latest").timestamp


def next_block_at(t: int) -> None:
    """The next block is mined with timestamp exactly t."""
    web3.provider.make_request("evm_setNextBlockTimestamp", [t])


def at(t: int, send):
    """Mine the transaction `send()` in a block with timestamp exactly t; return its receipt."""
    next_block_at(t)
    tx = send()
    assert tx.timestamp == t
    return tx


def touched(tx) -> tuple[int, int, int, int]:
    """(timestamp, status, Σ price · valid s, Σ valid s) from a touch's `Touched` event."""
    ev = tx.events["Touched"]
    return tx.timestamp, ev["status"], ev["cumulative"], ev["valid_seconds"]


def chainlink_truth(rounds, heartbeat, start, end) -> tuple[int, int]:
    """(Σ price · valid seconds, Σ valid seconds) over [start, end] by Chainlink's rule, computed
    from the schedule alone: a good round (updated_at, price) is valid from its updated_at for one
    heartbeat or until the next round (good or bad), whichever comes first; a bad round (price
    None) is valid never. Prices in 18 decimals; rounds in publication order."""
    total = seconds = 0
    for i, (updated_at, price) in enumerate(rounds):
        if price is None:
            continue
        until = updated_at + heartbeat
        if i + 1 < len(rounds):
            until = min(until, rounds[i + 1][0])
        lo, hi = max(updated_at, start), min(until, end)
        if hi > lo:
            total += price * (hi - lo)
            seconds += hi - lo
    return total, seconds


def twap(total, seconds) -> Fraction:
    return Fraction(total, seconds)
