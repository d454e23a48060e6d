"""Local-chain controls that Brownie does not expose (anvil and Ganache): blocks, an exact clock,
and simulated time in which feeds publish and a keeper pokes, as on a live network.

Time on a local chain is the latest block's timestamp (:func:`now`). Brownie's ``chain.time()`` is
the wall clock plus an offset Brownie keeps itself; it drifts from the chain as soon as blocks are
mined at explicit timestamps, so nothing here uses it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from brownie import web3

# the timestamp scheduled for the next block by `at` or `one_block`, while one is open
_scheduled: int | None = None


class ClockError(RuntimeError):
    """A block could not be mined at the timestamp asked for."""


def _is_anvil() -> bool:
    return "anvil" in web3.client_version.lower()


def _request(method: str, params: list) -> object:
    response = web3.provider.make_request(method, params)
    if response.get("error"):
        raise ClockError(f"{method}{params}: {response['error'].get('message')}")
    return response.get("result")


def _set_automine(on: bool) -> None:
    if _is_anvil():
        _request("evm_setAutomine", [on])
    else:  # Ganache
        _request("miner_start" if on else "miner_stop", [])


def now() -> int:
    """The chain's time: the latest block's timestamp, in seconds."""
    return web3.eth.get_block("latest")["timestamp"]


def next_timestamp() -> int:
    """The earliest timestamp the next block can have, in seconds: the one :func:`at` or
    :func:`one_block` scheduled while it is open, else the latest block's."""
    latest = now()
    return latest if _scheduled is None else max(latest, _scheduled)


def _check_not_past(timestamp: int) -> None:
    latest = now()
    if timestamp < latest:
        raise ClockError(f"timestamp {timestamp} is before the latest block's ({latest})")


@contextmanager
def _scheduling(timestamp: int | None) -> Iterator[None]:
    """Record `timestamp` as the next block's while the block is being built."""
    global _scheduled
    previous = _scheduled
    if timestamp is not None:
        _scheduled = timestamp
    try:
        yield
    finally:
        _scheduled = previous


@contextmanager
def one_block(timestamp: int | None = None) -> Iterator[None]:
    """Everything sent inside lands in a single block, mined on exit; at exactly `timestamp`
    (seconds, not before the latest block's) when given, on anvil and Ganache alike (Ganache's
    miner, restarted on exit, adds an empty block in the same second). Send transactions with
    ``{"required_confs": 0}`` and an explicit ``gas_limit`` inside (Brownie's default on local
    chains is the whole block's); their receipts are final after the block."""
    if timestamp is not None:
        _check_not_past(timestamp)
    _set_automine(False)
    try:
        with _scheduling(timestamp):
            yield
    finally:
        # raw evm_mine: brownie's chain.mine() waits on its own bookkeeping and stalls here
        _request("evm_mine", [] if timestamp is None else [timestamp])
        _set_automine(True)


def send_in_one_block(*calls: Callable[[], object], timestamp: int | None = None) -> list:
    """Run each call (a transaction sent with ``required_confs=0``) in the same block, mined at
    exactly `timestamp` (seconds) when given; return the receipts, waited for after the block
    is mined."""
    with one_block(timestamp):
        txs = [call() for call in calls]
    for tx in txs:
        tx.wait(1)
    return txs


@contextmanager
def at(timestamp: int) -> Iterator[None]:
    """The next block, i.e. the first transaction sent inside (as usual, waiting for its
    receipt), is mined at exactly `timestamp` (seconds, not before the latest block's).

    anvil schedules it (``evm_setNextBlockTimestamp``). Ganache 7 has no such call: its clock is
    set to the start of that second (``evm_setTime``), so a transaction sent within the second
    lands there; on exit the block is checked and :class:`ClockError` raised if it missed. For
    several transactions in one block at an exact time, on either chain, use
    :func:`send_in_one_block` with `timestamp`."""
    _check_not_past(timestamp)
    first = web3.eth.block_number + 1
    if _is_anvil():
        _request("evm_setNextBlockTimestamp", [timestamp])
    else:
        _request("evm_setTime", [timestamp * 1000])
    with _scheduling(timestamp):
        yield
    if web3.eth.block_number >= first:
        mined = web3.eth.get_block(first)["timestamp"]
        if mined != timestamp:
            raise ClockError(f"block {first} was mined at {mined}, not at {timestamp}")


def _mine_until(timestamp: int) -> None:
    """Mine an empty block at `timestamp` unless the latest block already has it."""
    if now() < timestamp:
        # raw: Brownie's chain.mine(timestamp=) hands anvil the timestamp as a block count
        _request("evm_mine", [timestamp])


def advance(
    deployment,
    seconds: int,
    keeper,
    poke_every: int | None = 600,
    poke_offset: int | None = None,
) -> list:
    """Let `seconds` pass on a local chain as they pass on a live network, event by event, each
    transaction mined at its event's exact second (:func:`at`):

    * every feed publishes a heartbeat round when one is due, at its last round's updatedAt +
      heartbeat (through ``deployment.publishers``, at the world price);
    * `keeper` pokes the oracle adapter (``poke(market_id)``) for every market at start +
      `poke_offset` + k · `poke_every` seconds (the offset defaults to `poke_every`;
      ``poke_every=None``: nobody pokes).

    Events run in time order; in the same second, rounds come before pokes. Nothing refreshes a
    feed on demand: the world price moves only through the publishers. On return the latest
    block is at start + `seconds` exactly (an empty block closes the interval if no event fell
    on its last second).

    Returns the pokes' receipts, in time order."""
    if seconds < 0:
        raise ValueError("seconds must not be negative")
    if poke_every is not None and poke_every <= 0:
        raise ValueError("poke_every must be positive (or None: no pokes)")
    publishers = deployment.publishers
    start = now()
    end = start + seconds
    next_poke = None
    if poke_every is not None:
        next_poke = start + (poke_every if poke_offset is None else poke_offset)
        if next_poke < start:
            raise ValueError("poke_offset must not be negative")
    pokes = []
    while True:
        latest = now()
        # a round that fell due while time moved some other way is published as soon as possible
        rounds = [(p, max(p.next_heartbeat(), latest)) for p in publishers]
        events = [due for _, due in rounds] + ([next_poke] if next_poke is not None else [])
        t = min(events, default=end + 1)
        if t > end:
            break
        for publisher, due in rounds:
            if due == t:
                publisher.publish(t)
        if next_poke == t:
            for market_id in range(len(deployment.vamms)):
                with at(t):
                    pokes.append(deployment.oracle.poke(market_id, {"from": keeper}))
            next_poke += poke_every
    _mine_until(end)
    return pokes
