"""Chainlink's off-chain network, modelled for the local MockAggregators.

A Chainlink feed never answers on demand. Its oracle network watches the world (reference) price
and publishes a new round, an on-chain transaction whose updatedAt is that transaction's block
timestamp, when the price has moved from the last published answer by at least the feed's
deviation threshold, or when the heartbeat has elapsed since the last round, whichever comes
first. A :class:`FeedPublisher` does the same for one local feed, a :class:`Publishers` for every
market of a deployment (``Deployment.publishers``), so that tests, the stateful suite, the demo
and the bench share one world.

* :meth:`FeedPublisher.set_price` is the world price moving: a round is published at once when
  the move reaches the deviation threshold; otherwise nothing changes on chain.
* heartbeat rounds are published by :func:`vperp.chain_tools.advance` (simulated time) or
  :meth:`FeedPublisher.publish_due`, each mined at exactly last updatedAt + heartbeat.

The last round is always read from the chain (``latestRoundData``), never remembered, so a
publisher follows rounds published by anyone and can be built for a deployment it did not
create. Only the world price lives in Python; after a chain revert (Brownie's ``chain.revert``,
test isolation) it returns to the last published answer, since a move that published nothing
left no trace on chain.

Units: prices are 18-decimal fixed point (WAD) in this API and in the feed's own decimals on
chain; times are Unix seconds; the deviation threshold is a WAD fraction (0.5 % = 5e15).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import NamedTuple

from brownie.network.state import _revert_register

from vperp import chain_tools

WAD = 10**18


class Round(NamedTuple):
    """A feed's round as ``latestRoundData`` reports it."""

    round_id: int
    answer: int  # in the feed's decimals
    updated_at: int  # seconds


class FeedPublisher:
    """The oracle network of one local MockAggregator (``set_answer(int256)``).

    :param feed: the aggregator; its ``decimals()`` sets the answers' scale
    :param heartbeat: seconds after the last round when a round is published anyway (> 0)
    :param deviation: WAD fraction of the last published answer that a world-price move must
        reach to publish at once (0 < deviation < 1 WAD)
    :param transmitter: the account that sends the rounds
    """

    def __init__(self, feed, heartbeat: int, deviation: int, transmitter):
        if heartbeat <= 0:
            raise ValueError("heartbeat must be positive")
        if not 0 < deviation < WAD:
            raise ValueError("deviation must lie strictly between 0 and 1 (WAD)")
        self.feed = feed
        self.heartbeat = heartbeat
        self.deviation = deviation
        self.transmitter = transmitter
        self.decimals = int(feed.decimals())
        self._world: int | None = None  # None: the last published answer
        _revert_register(self)

    # --- reading the chain ----------------------------------------------------------------------

    def last_round(self) -> Round:
        """The last published round, read from the chain."""
        round_id, answer, _, updated_at, _ = self.feed.latestRoundData()
        return Round(round_id, answer, updated_at)

    def to_answer(self, price: int) -> int:
        """A WAD price in the feed's decimals (rounded down)."""
        return price * 10**self.decimals // WAD

    def to_price(self, answer: int) -> int:
        """An answer in the feed's decimals as a WAD price."""
        return answer * WAD // 10**self.decimals

    @property
    def world(self) -> int:
        """The world (reference) price, WAD: the last one set, or the last published answer."""
        if self._world is None:
            return self.to_price(self.last_round().answer)
        return self._world

    # --- the world moves --------------------------------------------------------------------

    def deviates(self, price: int) -> bool:
        """Whether a world price `price` (WAD) is at least the deviation threshold away from the
        last published answer (compared in the feed's decimals, as it would be published)."""
        last = self.last_round().answer
        if last <= 0:  # a broken answer: any valid price replaces it
            return True
        return abs(self.to_answer(price) - last) * WAD >= self.deviation * last

    def set_price(self, price: int):
        """The world price moves to `price` (WAD, > 0). A round is published at once (one
        transaction, updatedAt = its block's timestamp) when the move from the last published
        answer reaches the deviation threshold; otherwise nothing changes on chain until the next
        heartbeat round, which publishes the world price then.

        :return: the round's receipt, or None when nothing was published"""
        if price <= 0:
            raise ValueError("a world price is positive")
        self._world = price
        if self.deviates(price):
            return self.feed.set_answer(self.to_answer(price), {"from": self.transmitter})
        return None

    def sync(self) -> None:
        """Forget the world price: it is the last published answer again."""
        self._world = None

    # --- heartbeat --------------------------------------------------------------------------

    def next_heartbeat(self) -> int:
        """When the next heartbeat round is due: last round's updatedAt + heartbeat, seconds."""
        return self.last_round().updated_at + self.heartbeat

    def due(self, now: int) -> bool:
        """Whether a heartbeat round is due at time `now` (seconds)."""
        return self.next_heartbeat() <= now

    def publish(self, timestamp: int | None = None):
        """Publish a round at the world price now, or mined at exactly `timestamp` (seconds, not
        before the latest block's). Returns the receipt."""
        tx = {"from": self.transmitter}
        answer = self.to_answer(self.world)
        if timestamp is None:
            return self.feed.set_answer(answer, tx)
        with chain_tools.at(timestamp):
            return self.feed.set_answer(answer, tx)

    def publish_due(self, now: int) -> list:
        """Publish every heartbeat round due up to `now` (seconds), each at exactly its due time
        (the previous round's updatedAt + heartbeat) and at the world price; a due time already
        behind the latest block is published at the latest block's time. Returns the receipts."""
        receipts = []
        while (due := self.next_heartbeat()) <= now:
            receipts.append(self.publish(max(due, chain_tools.now())))
        return receipts

    # --- Brownie's revert registry (chain.revert, test isolation) ----------------------------

    def _revert(self, height: int) -> None:
        self.sync()

    def _reset(self) -> None:
        self.sync()

    def __repr__(self) -> str:
        return (
            f"<FeedPublisher {self.feed.address} heartbeat={self.heartbeat}s "
            f"deviation={self.deviation / WAD:.4%}>"
        )


class Publishers(Sequence[FeedPublisher]):
    """One :class:`FeedPublisher` per market of a deployment, indexed by market id."""

    def __init__(self, publishers: Sequence[FeedPublisher]):
        self._publishers = list(publishers)

    @classmethod
    def from_chain(cls, feeds: Sequence, markets: Sequence, transmitter) -> Publishers:
        """Publishers for `feeds` (one per market, in market order), with each market's
        ``oracle.heartbeat`` and ``oracle.deviation`` from `markets` (vperp.config
        MarketParams); the last rounds come from the chain, so this works for any deployment
        whose feeds are MockAggregators."""
        return cls(
            [
                FeedPublisher(feed, m.oracle.heartbeat, m.oracle.deviation, transmitter)
                for feed, m in zip(feeds, markets, strict=True)
            ]
        )

    def __getitem__(self, market_id):
        return self._publishers[market_id]

    def __len__(self) -> int:
        return len(self._publishers)

    def __iter__(self) -> Iterator[FeedPublisher]:
        return iter(self._publishers)

    def next_heartbeat(self) -> int:
        """The earliest heartbeat round due among the markets, seconds."""
        return min(p.next_heartbeat() for p in self)

    def publish_due(self, now: int) -> list:
        """Every heartbeat round due up to `now` (seconds) in every market, in time order, each
        at its exact due time (or the latest block's time if that is already later); returns
        the receipts."""
        receipts = []
        while self._publishers and (due := self.next_heartbeat()) <= now:
            publisher = next(p for p in self if p.next_heartbeat() == due)
            receipts.append(publisher.publish(max(due, chain_tools.now())))
        return receipts

    def sync(self) -> None:
        """Every world price is the last published answer again."""
        for p in self:
            p.sync()
