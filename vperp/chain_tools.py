"""Local-chain controls that Brownie does not expose (anvil and Ganache)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager

from brownie import web3


def _set_automine(on: bool) -> None:
    if "anvil" in web3.client_version.lower():
        web3.provider.make_request("evm_setAutomine", [on])
    else:  # Ganache
        web3.provider.make_request("miner_start" if on else "miner_stop", [])


@contextmanager
def one_block():
    """Everything sent inside lands in a single block, mined on exit. Send transactions with
    ``{"required_confs": 0}`` inside; their receipts are final after the block."""
    _set_automine(False)
    try:
        yield
    finally:
        # raw evm_mine: brownie's chain.mine() waits on its own bookkeeping and stalls here
        web3.provider.make_request("evm_mine", [])
        _set_automine(True)


def send_in_one_block(*calls: Callable[[], object]) -> list:
    """Run each call (a transaction sent with ``required_confs=0``) in the same block; return the
    receipts, waited for after the block is mined."""
    with one_block():
        txs = [call() for call in calls]
    for tx in txs:
        tx.wait(1)
    return txs


def advance(deployment, seconds: int, keeper, step: int = 600) -> list:
    """Let `seconds` pass on a local chain, in steps of at most `step`, while every mock feed
    keeps answering at its current price and the oracle is poked after each step, as Chainlink
    and a keeper do on a live network. Returns the pokes' receipts."""
    from brownie import chain

    pokes = []
    while seconds > 0:
        dt = min(step, seconds)
        chain.sleep(dt)
        seconds -= dt
        for market_id, feed in enumerate(deployment.feeds):
            feed.set_answer(feed.latestRoundData()[1], {"from": keeper})
            pokes.append(deployment.oracle.poke(market_id, {"from": keeper}))
    return pokes
