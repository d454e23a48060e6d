"""vperp.feeds: the local feeds publish as Chainlink's network does: a round at once when the
world price moves by the deviation threshold, a round every heartbeat otherwise."""

from brownie import chain

from tests.conftest import WAD
from vperp import chain_tools
from vperp.feeds import Publishers

HEARTBEAT = 3600  # config/local.yaml
ANSWER = 2000 * 10**8  # ETH-USD's first answer, 8 decimals
THRESHOLD = ANSWER * 5 // 1000  # 0.5 % of it, in feed units


def _wad(answer: int) -> int:
    return answer * 10**10


def test_publishers__one_per_market_with_the_parameters(deployment, publishers, params):
    assert len(publishers) == len(deployment.feeds) == 2
    for p, feed, m in zip(publishers, deployment.feeds, params.markets, strict=True):
        assert p.feed == feed
        assert (p.heartbeat, p.deviation, p.decimals) == (HEARTBEAT, 5 * 10**15, 8)
        assert m.oracle.deviation == 5 * 10**15


def test_set_price__below_deviation__publishes_nothing(publishers, deployment):
    feed = deployment.feeds[0]
    before = feed.latestRoundData()
    for answer in (ANSWER + THRESHOLD - 1, ANSWER - THRESHOLD + 1):
        assert publishers[0].set_price(_wad(answer)) is None
        assert feed.latestRoundData() == before
        assert publishers[0].world == _wad(answer)


def test_set_price__at_deviation__publishes_a_round_at_once(publishers, deployment):
    feed = deployment.feeds[0]
    round_id = feed.latestRoundData()[0]
    up = publishers[0].set_price(_wad(ANSWER + THRESHOLD))
    rid, answer, started, updated, answered_in = feed.latestRoundData()
    assert (rid, answer, started, updated, answered_in) == (
        round_id + 1,
        ANSWER + THRESHOLD,
        up.timestamp,
        up.timestamp,
        round_id + 1,
    )
    # downward, from the new answer: its own 0.5 %
    last = ANSWER + THRESHOLD
    down = publishers[0].set_price(_wad(last - last * 5 // 1000))
    assert down is not None
    assert tuple(feed.latestRoundData())[:2] == (round_id + 2, last - last * 5 // 1000)


def test_set_price__above_deviation__publishes_at_once(publishers, deployment):
    tx = publishers[0].set_price(1500 * WAD)
    assert tx.fn_name == "set_answer" and tx.sender == publishers[0].transmitter
    assert deployment.feeds[0].latestRoundData()[1] == 1500 * 10**8


def test_set_price__small_moves_add_up_from_the_last_published_answer(publishers, deployment):
    feed = deployment.feeds[0]
    round_id = feed.latestRoundData()[0]
    assert publishers[0].set_price(_wad(ANSWER + THRESHOLD * 3 // 5)) is None  # +0.3 %
    assert feed.latestRoundData()[0] == round_id
    assert publishers[0].set_price(_wad(ANSWER + THRESHOLD * 6 // 5)) is not None  # +0.6 %
    assert tuple(feed.latestRoundData())[:2] == (round_id + 1, ANSWER + THRESHOLD * 6 // 5)


def test_due__exactly_one_heartbeat_after_the_last_round(publishers, deployment):
    updated_at = deployment.feeds[0].latestRoundData()[3]
    assert publishers[0].next_heartbeat() == updated_at + HEARTBEAT
    assert not publishers[0].due(updated_at + HEARTBEAT - 1)
    assert publishers[0].due(updated_at + HEARTBEAT)


def test_heartbeat__no_moves__a_round_exactly_every_heartbeat(deployment, keeper):
    """Over five hours without moves, each feed publishes at updatedAt + k · heartbeat, each
    round's updatedAt exactly its predecessor's + heartbeat, at the unchanged answer."""
    start = chain_tools.now()
    first = {f: f.latestRoundData() for f in deployment.feeds}
    chain_tools.advance(deployment, 5 * HEARTBEAT, keeper)
    for feed, (round_id, answer, _, updated_at, _) in first.items():
        expected = []
        t = updated_at + HEARTBEAT
        while t <= start + 5 * HEARTBEAT:
            expected.append(t)
            t += HEARTBEAT
        assert len(expected) == 5
        assert feed.latest_round() == round_id + len(expected)
        for k, t in enumerate(expected, start=1):
            assert feed.getRoundData(round_id + k) == (round_id + k, answer, t, t, round_id + k)


def test_heartbeat__publishes_the_world_price_moved_below_the_threshold(
    deployment, publishers, keeper
):
    feed = deployment.feeds[0]
    round_id, _, _, updated_at, _ = feed.latestRoundData()
    world = _wad(ANSWER + THRESHOLD // 2)
    assert publishers[0].set_price(world) is None
    chain_tools.advance(deployment, updated_at + HEARTBEAT - chain_tools.now(), keeper)
    assert tuple(feed.latestRoundData())[:4] == (
        round_id + 1,
        ANSWER + THRESHOLD // 2,
        updated_at + HEARTBEAT,
        updated_at + HEARTBEAT,
    )


def test_heartbeat__counts_from_a_deviation_round(deployment, publishers, keeper):
    feed = deployment.feeds[0]
    tx = publishers[0].set_price(1900 * WAD)
    assert publishers[0].next_heartbeat() == tx.timestamp + HEARTBEAT
    chain_tools.advance(deployment, tx.timestamp + HEARTBEAT - chain_tools.now(), keeper)
    assert tuple(feed.latestRoundData())[1:4] == (
        1900 * 10**8,
        tx.timestamp + HEARTBEAT,
        tx.timestamp + HEARTBEAT,
    )


def test_publish_due__every_due_round_at_its_second(deployment, publishers):
    """publish_due(now) for a `now` two heartbeats on: both rounds of each feed, in time
    order, at exactly their due seconds."""
    due = {f: f.latestRoundData()[3] + HEARTBEAT for f in deployment.feeds}
    horizon = max(due.values()) + HEARTBEAT
    receipts = publishers.publish_due(horizon)
    expected = sorted(t for d in due.values() for t in (d, d + HEARTBEAT) if t <= horizon)
    assert [tx.timestamp for tx in receipts] == expected
    assert publishers.publish_due(horizon) == []  # nothing due any more


def test_from_chain__rebuilds_world_and_schedule(deployment, publishers, params, owner):
    publishers[0].set_price(1800 * WAD)
    rebuilt = Publishers.from_chain(deployment.feeds, params.markets, owner)
    for mine, theirs in zip(publishers, rebuilt, strict=True):
        assert theirs.world == mine.world
        assert theirs.next_heartbeat() == mine.next_heartbeat()
    assert rebuilt[0].world == 1800 * WAD
    # a round one of them publishes is the other's last round too
    tx = rebuilt[0].set_price(1700 * WAD)
    assert publishers[0].last_round().updated_at == tx.timestamp
    assert publishers[0].deviates(1700 * WAD) is False


def test_revert__world_price_returns_to_the_published_answer(publishers, owner, trader):
    chain.snapshot()  # the test's start: the same state as the isolation snapshot
    assert publishers[0].set_price(_wad(ANSWER + 1)) is None
    owner.transfer(trader, 1)
    assert publishers[0].world == _wad(ANSWER + 1)
    chain.revert()
    assert publishers[0].world == _wad(ANSWER)
