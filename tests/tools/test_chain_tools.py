"""vperp.chain_tools: the chain's clock, blocks at exact timestamps, and simulated time in which
feeds publish on their heartbeat and a keeper pokes on its cadence."""

import pytest
from brownie import web3

from vperp import chain_tools
from vperp.chain_tools import ClockError, advance, at, now, one_block, send_in_one_block

HEARTBEAT = 3600  # config/local.yaml, both markets


def _blocks_since(first: int) -> list[dict]:
    return [web3.eth.get_block(n) for n in range(first, web3.eth.block_number + 1)]


def test_now__is_the_latest_block_timestamp(owner, trader):
    tx = owner.transfer(trader, 1)
    assert now() == tx.timestamp == web3.eth.get_block("latest")["timestamp"]


def test_at__next_transaction_mined_at_exactly_that_second(owner, trader):
    target = now() + 1234
    with at(target):
        tx = owner.transfer(trader, 1)
    assert tx.timestamp == target == now()


def test_at__the_latest_block_second_is_allowed(owner, trader):
    target = now()
    with at(target):
        tx = owner.transfer(trader, 1)
    assert tx.timestamp == target


def test_at__before_the_latest_block__raises(owner):
    with pytest.raises(ClockError, match="before the latest block"), at(now() - 1):
        pass


def test_send_in_one_block__timestamp__every_transaction_in_one_block_at_that_second(
    owner, trader, other_trader
):
    target = now() + 777
    first, second = send_in_one_block(
        lambda: owner.transfer(trader, 1, required_confs=0, gas_limit=21_000),
        lambda: owner.transfer(other_trader, 1, required_confs=0, gas_limit=21_000),
        timestamp=target,
    )
    assert first.block_number == second.block_number
    assert first.timestamp == second.timestamp == target


def test_one_block__timestamp_without_transactions__mines_an_empty_block_there():
    target = now() + 50
    height = web3.eth.block_number
    with one_block(target):
        pass
    # (Ganache's miner, restarted, adds a second empty block in the same second)
    assert web3.eth.get_block(height + 1)["transactions"] == []
    assert web3.eth.get_block(height + 1)["timestamp"] == now() == target


def test_next_timestamp__inside_at__is_the_scheduled_second():
    target = now() + 99
    assert chain_tools.next_timestamp() == now()
    with at(target):
        assert chain_tools.next_timestamp() == target
        chain_tools._request("evm_mine", [target])  # the scheduled block, mined raw
    assert chain_tools.next_timestamp() == target


def test_advance__pokes_at_their_cadence_each_at_its_exact_second(deployment, keeper):
    start = now()
    pokes = advance(deployment, 3000, keeper, poke_every=600, poke_offset=100)
    markets = len(deployment.vamms)
    expected = [start + 100 + 600 * k for k in range(5)]  # 100, 700, ..., 2500 ≤ 3000
    assert [tx.timestamp for tx in pokes] == [t for t in expected for _ in range(markets)]
    assert [tx.fn_name for tx in pokes] == ["poke"] * len(pokes)
    assert [tx.events["Touched"]["market"] for tx in pokes] == list(range(markets)) * 5
    assert all(tx.sender == keeper for tx in pokes)
    assert now() == start + 3000


def test_advance__default_cadence__first_poke_one_period_after_the_start(deployment, keeper):
    start = now()
    pokes = advance(deployment, 1800, keeper)
    assert sorted({tx.timestamp for tx in pokes}) == [start + 600, start + 1200, start + 1800]


def _events_since(first: int, deployment) -> list[tuple]:
    """(timestamp, what) of every block mined from `first` on: ("round", market id) for a feed's
    round, ("poke", market id) for a poke, ("empty",) for a block without transactions."""
    feeds = {f.address: i for i, f in enumerate(deployment.feeds)}
    oracle = deployment.oracle
    events = []
    for block in _blocks_since(first):
        if not block["transactions"]:
            events.append((block["timestamp"], "empty"))
        for txid in block["transactions"]:
            tx = web3.eth.get_transaction(txid)
            if tx["to"] in feeds:
                events.append((block["timestamp"], "round", feeds[tx["to"]]))
            else:
                assert tx["to"] == oracle.address
                signature, (market_id,) = oracle.decode_input(tx["input"])
                assert signature.startswith("poke(")
                events.append((block["timestamp"], "poke", market_id))
    return events


def _heartbeats(deployment, start: int, end: int) -> list[tuple]:
    """The rounds each feed publishes in [start, end] from its last round on, by the schedule."""
    rounds = []
    for market_id, feed in enumerate(deployment.feeds):
        due = max(feed.latestRoundData()[3] + HEARTBEAT, start)
        while due <= end:
            rounds.append((due, "round", market_id))
            due += HEARTBEAT
    return rounds


def _closed(events: list[tuple], end: int) -> list[tuple]:
    """`events`, then the empty block that brings the chain to `end` if none fell on it."""
    return events if events and events[-1][0] == end else [*events, (end, "empty")]


def test_advance__without_pokes__only_heartbeat_rounds(deployment, keeper):
    start = now()
    end = start + 2 * HEARTBEAT
    expected = sorted(_heartbeats(deployment, start, end))
    first = web3.eth.block_number + 1
    assert advance(deployment, 2 * HEARTBEAT, keeper, poke_every=None) == []
    assert _events_since(first, deployment) == _closed(expected, end)


def test_advance__events_in_time_order_each_at_its_second(deployment, keeper):
    """Rounds due on the heartbeat and pokes every 1,000 s (offset 250) over three hours: every
    transaction mined is one of these events, in time order (rounds first in a shared second),
    each at its exact second, then the closing empty block."""
    start = now()
    end = start + 3 * HEARTBEAT
    markets = len(deployment.vamms)
    pokes = [
        (start + 250 + 1000 * k, "poke", m) for k in range(11) for m in range(markets)
    ]  # 250 … 10,250 ≤ 10,800
    expected = sorted(
        _heartbeats(deployment, start, end) + pokes, key=lambda e: (e[0], e[1] == "poke", e[2])
    )
    first = web3.eth.block_number + 1
    receipts = advance(deployment, 3 * HEARTBEAT, keeper, poke_every=1000, poke_offset=250)
    assert _events_since(first, deployment) == _closed(expected, end)
    assert [(tx.timestamp, "poke", tx.events["Touched"]["market"]) for tx in receipts] == pokes


def test_advance__same_second__round_before_poke(deployment, keeper):
    """A poke due in the same second as a heartbeat round comes after it (and sees it)."""
    start = now()
    due = deployment.feeds[0].latestRoundData()[3] + HEARTBEAT
    first = web3.eth.block_number + 1
    pokes = advance(deployment, due - start, keeper, poke_every=due - start)
    assert deployment.feeds[0].latestRoundData()[3] == due
    events = _events_since(first, deployment)
    assert events[0] == (due, "round", 0)
    assert [e for e in events if e[1] == "poke"] == [(due, "poke", 0), (due, "poke", 1)]
    assert [tx.timestamp for tx in pokes] == [due, due]


def test_advance__round_overdue_at_the_start__published_at_once(deployment, keeper):
    """Time moved beyond a heartbeat some other way (nobody published): the overdue rounds come
    first, at the latest block's second, and the next ones a heartbeat later."""
    due = max(f.latestRoundData()[3] for f in deployment.feeds) + HEARTBEAT
    with one_block(due + 500):
        pass
    start = now()
    first = web3.eth.block_number + 1
    advance(deployment, HEARTBEAT, keeper, poke_every=None)
    assert _events_since(first, deployment) == [
        (start, "round", 0),
        (start, "round", 1),
        (start + HEARTBEAT, "round", 0),
        (start + HEARTBEAT, "round", 1),
    ]


def test_advance__zero_seconds__nothing_due__mines_nothing(deployment, keeper):
    height = web3.eth.block_number
    assert advance(deployment, 0, keeper) == []
    assert web3.eth.block_number == height
