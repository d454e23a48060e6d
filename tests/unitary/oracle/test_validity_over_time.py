"""Validity over time from the rounds' own updatedAt, against schedules mined at exact seconds.

Expected values come from the schedule alone: explicitly per segment, and from
`schedule.chainlink_truth` (a round is valid from its updatedAt for one heartbeat or until the
next round, whichever comes first)."""

import random

import pytest
from brownie import MockAggregator

from tests.unitary.oracle.schedule import (
    SCALE,
    at,
    chainlink_truth,
    latest_time,
    next_block_at,
    touched,
    twap,
)

HOUR = 3600
HEARTBEAT = 3600  # of the ETH-USD feed in config/local.yaml


@pytest.fixture
def feed(feeds):
    return feeds[0]


def publish(feed, keeper, t, answer):
    """A round with `answer` (8 decimals), updated at exactly t."""
    return at(t, lambda: feed.set_answer(answer, {"from": keeper}))


def poke(oracle, keeper, t):
    return touched(at(t, lambda: oracle.poke(0, {"from": keeper})))


def test_heartbeat_feed_poked_300s_after_each_round__every_second_valid_and_twap_exact(
    oracle, feed, keeper
):
    """A round exactly every 3,600 s, a keeper poking every 600 s, 300 s after each round."""
    answers = [2000_00000000, 2010_50000000, 1995_00000000, 2042_25000000, 1990_00000000]
    t0 = latest_time() + 100
    rounds = [(t0 + k * HOUR, a * SCALE) for k, a in enumerate(answers)]
    pokes = []
    for k, (updated_at, _) in enumerate(rounds):
        publish(feed, keeper, updated_at, answers[k])
        for j in range(6 if k + 1 < len(rounds) else 1):
            pokes.append(poke(oracle, keeper, updated_at + 300 + 600 * j))

    for (ta, sa, _, va), (tb, sb, _, vb) in zip(pokes[:-1], pokes[1:], strict=True):
        assert sa == sb == 0
        assert vb - va == tb - ta == 600  # no second lost, at the round boundary included

    (ta, _, ca, va), (tb, _, cb, vb) = pokes[0], pokes[-1]
    assert tb - ta == 4 * HOUR
    assert vb - va == tb - ta
    p = [price for _, price in rounds]
    expected = p[0] * 3300 + (p[1] + p[2] + p[3]) * 3600 + p[4] * 300
    assert cb - ca == expected
    assert chainlink_truth(rounds, HEARTBEAT, ta, tb) == (expected, 4 * HOUR)
    assert twap(cb - ca, vb - va) == twap(expected, 4 * HOUR)


def test_ten_minute_stale_gap_in_three_hours__only_the_gap_is_invalid(oracle, feed, keeper):
    """The third round comes 600 s after the second expired; pokes every 600 s throughout."""
    t0 = latest_time() + 100
    late = 600
    rounds = [(t0, 2000 * 10**8), (t0 + HOUR, 2100 * 10**8), (t0 + 2 * HOUR + late, 1900 * 10**8)]
    pending = list(rounds)
    pokes = []
    for t in range(t0 + 300, t0 + 3 * HOUR + 301, 600):
        while pending and pending[0][0] < t:
            publish(feed, keeper, *pending.pop(0))
        pokes.append(poke(oracle, keeper, t))
    assert [s for _, s, _, _ in pokes].count(8) == 1  # the poke inside the gap reads stale

    (ta, _, ca, va), (tb, _, cb, vb) = pokes[0], pokes[-1]
    assert tb - ta == 3 * HOUR
    assert vb - va == 3 * HOUR - late
    p = [a * SCALE for _, a in rounds]
    expected = p[0] * 3300 + p[1] * 3600 + p[2] * 3300  # the gap (t0 + 2 h, + 600) excluded
    assert cb - ca == expected
    truth = chainlink_truth([(t, a * SCALE) for t, a in rounds], HEARTBEAT, ta, tb)
    assert truth == (expected, 3 * HOUR - late)
    assert twap(cb - ca, vb - va) == twap(expected, 3 * HOUR - late)  # over valid seconds only


BAD_ROUNDS = {
    "zero": (lambda feed, t, who: feed.set_answer(0, who), 5),
    "negative": (lambda feed, t, who: feed.set_answer(-1, who), 5),
    "above bounds": (lambda feed, t, who: feed.set_answer(1_000_001 * 10**8, who), 9),
    "below bounds": (lambda feed, t, who: feed.set_answer(10**8 - 1, who), 9),
    "answered in an earlier round": (
        lambda feed, t, who: feed.set_round(2000 * 10**8, t, 1, who),
        6,
    ),
}


@pytest.mark.parametrize("kind", BAD_ROUNDS)
def test_bad_round_between_touches__cuts_validity_at_its_updated_at(oracle, feed, keeper, kind):
    send, status = BAD_ROUNDS[kind]
    t0 = latest_time() + 100
    publish(feed, keeper, t0, 2000 * 10**8)
    first = poke(oracle, keeper, t0 + 300)
    at(t0 + 700, lambda: send(feed, t0 + 700, {"from": keeper}))
    tx = at(t0 + 900, lambda: oracle.poke(0, {"from": keeper}))
    second = touched(tx)
    assert second[1] == status
    assert tx.events["Touched"]["price"] == 2000 * 10**18  # the last observed price is kept
    assert second[3] - first[3] == 400  # valid until the bad round, not until the touch
    assert second[2] - first[2] == 2000 * 10**18 * 400
    third = poke(oracle, keeper, t0 + 1500)
    assert third[1] == status and third[2:] == second[2:]  # nothing counts after it
    publish(feed, keeper, t0 + 1600, 2100 * 10**8)
    fourth = poke(oracle, keeper, t0 + 1800)
    assert fourth[1] == 0
    assert fourth[3] - third[3] == 200  # a good round counts again from its updatedAt
    rounds = [(t0, 2000 * 10**18), (t0 + 700, None), (t0 + 1600, 2100 * 10**18)]
    assert chainlink_truth(rounds, HEARTBEAT, t0 + 300, t0 + 1800) == (
        fourth[2] - first[2],
        fourth[3] - first[3],
    )


def test_future_timestamp_round__validity_ends_at_the_touch_that_sees_it(oracle, feed, keeper):
    """Its updatedAt is no publication time, so the old price counts up to the touch."""
    t0 = latest_time() + 100
    publish(feed, keeper, t0, 2000 * 10**8)
    first = poke(oracle, keeper, t0 + 300)
    at(t0 + 700, lambda: feed.set_round(2000 * 10**8, t0 + 5000, 3, {"from": keeper}))
    second = poke(oracle, keeper, t0 + 900)
    assert second[1] == 7
    assert second[3] - first[3] == 600


def test_round_before_expiry_touched_late__coverage_continuous(oracle, feed, keeper):
    """A deviation round 3,000 s after the first; the next touch comes 1,400 s after the first
    round expired: every second counts, each at the price of the round valid then."""
    t0 = latest_time() + 100
    publish(feed, keeper, t0, 2000 * 10**8)
    first = poke(oracle, keeper, t0 + 300)
    publish(feed, keeper, t0 + 3000, 2200 * 10**8)
    second = poke(oracle, keeper, t0 + 5000)
    assert second[1] == 0
    assert second[3] - first[3] == 4700
    assert second[2] - first[2] == 2000 * 10**18 * 2700 + 2200 * 10**18 * 2000


def test_round_stale_when_seen__counted_for_its_own_heartbeat(oracle, feed, keeper):
    """A round nobody touched while it was valid still counts from its updatedAt for one
    heartbeat; only the seconds after it expired are invalid."""
    t0 = latest_time() + 100
    publish(feed, keeper, t0, 2000 * 10**8)
    first = poke(oracle, keeper, t0 + 300)
    publish(feed, keeper, t0 + 600, 2100 * 10**8)
    second = poke(oracle, keeper, t0 + 600 + HEARTBEAT + 500)
    assert second[1] == 8
    assert second[3] - first[3] == 300 + HEARTBEAT
    assert second[2] - first[2] == 2000 * 10**18 * 300 + 2100 * 10**18 * HEARTBEAT
    publish(feed, keeper, t0 + 5000, 2200 * 10**8)
    third = poke(oracle, keeper, t0 + 5300)
    assert third[1] == 0
    assert third[3] - second[3] == 300


def test_round_not_seen__previous_price_counts_until_the_next_seen_round(oracle, feed, keeper):
    """Two rounds between touches: only the latest is read, so the first price counts until it;
    the coverage stays continuous."""
    t0 = latest_time() + 100
    publish(feed, keeper, t0, 2000 * 10**8)
    first = poke(oracle, keeper, t0 + 300)
    publish(feed, keeper, t0 + 1000, 2500 * 10**8)
    publish(feed, keeper, t0 + 2000, 2100 * 10**8)
    second = poke(oracle, keeper, t0 + 2300)
    assert second[3] - first[3] == 2000
    assert second[2] - first[2] == 2000 * 10**18 * 1700 + 2100 * 10**18 * 300


def test_gap_after_expiry__unseen_rounds_not_assumed(oracle, feed, keeper):
    """Nobody publishes for 2 h: the price counts for its heartbeat, the next round from its
    updatedAt, and the gap between them not at all."""
    t0 = latest_time() + 100
    publish(feed, keeper, t0, 2000 * 10**8)
    first = poke(oracle, keeper, t0 + 300)
    publish(feed, keeper, t0 + 2 * HOUR, 2100 * 10**8)
    second = poke(oracle, keeper, t0 + 2 * HOUR + 100)
    assert second[3] - first[3] == (HEARTBEAT - 300) + 100
    assert second[2] - first[2] == 2000 * 10**18 * (HEARTBEAT - 300) + 2100 * 10**18 * 100


def test_cumulative_view__accrues_stored_observation_until_it_expires(oracle, feed, keeper):
    t0 = latest_time() + 100
    publish(feed, keeper, t0, 2000 * 10**8)
    _, _, cum, valid = poke(oracle, keeper, t0 + 300)
    # blocks at chosen times, mined by a poke of the other market
    block = at(t0 + 900, lambda: oracle.poke(1, {"from": keeper})).block_number
    assert tuple(oracle.cumulative(0, block_identifier=block)) == (
        cum + 2000 * 10**18 * 600,
        valid + 600,
        t0 + 900,
    )
    block = at(t0 + HEARTBEAT + 500, lambda: oracle.poke(1, {"from": keeper})).block_number
    assert tuple(oracle.cumulative(0, block_identifier=block)) == (
        cum + 2000 * 10**18 * (HEARTBEAT - 300),
        valid + HEARTBEAT - 300,
        t0 + HEARTBEAT + 500,
    )
    assert tuple(oracle.observation(0)) == (2000 * 10**18, t0 + HEARTBEAT, t0 + 300)


def test_set_feed__replaced_feed_keeps_the_accumulators_running(oracle, feed, owner, keeper):
    t0 = latest_time() + 100
    publish(feed, keeper, t0, 2000 * 10**8)
    first = poke(oracle, keeper, t0 + 300)
    next_block_at(t0 + 400)
    new_feed = MockAggregator.deploy(8, "ETH-USD 2", 2050 * 10**8, {"from": owner})
    at(
        t0 + 1000,
        lambda: oracle.set_feed(0, new_feed, HEARTBEAT, 10**18, 10**24, {"from": owner}),
    )
    second = poke(oracle, keeper, t0 + 1600)
    assert second[3] - first[3] == 1300
    # the old feed up to the replacement, the new one from then on
    assert second[2] - first[2] == 2000 * 10**18 * 700 + 2050 * 10**18 * 600


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_round_seen__accumulator_equals_chainlink_validity(oracle, feed, keeper, seed):
    """Random schedules (gaps shorter and longer than the heartbeat, good and bad rounds), with
    at least one poke between consecutive rounds: Σ valid seconds and Σ price · valid seconds
    between the first and last poke equal Chainlink's rule applied to the schedule."""
    rng = random.Random(seed)
    t = latest_time() + 100
    rounds, pokes = [], []
    for i in range(14):
        bad = i > 0 and rng.random() < 0.25
        answer = rng.choice([0, -5, 10**8 - 1]) if bad else rng.randrange(1500, 2500) * 10**8
        publish(feed, keeper, t, answer)
        rounds.append((t, None if bad else answer * SCALE))
        gap = rng.choice([600, 3000, HEARTBEAT, HEARTBEAT + 1, 4200, 7000])
        for dt in sorted(rng.sample(range(1, gap), rng.randint(1, 3))):
            pokes.append(poke(oracle, keeper, t + dt))
        t += gap
    for (ta, _, ca, va), (tb, _, cb, vb) in zip(pokes[:-1], pokes[1:], strict=True):
        assert chainlink_truth(rounds, HEARTBEAT, ta, tb) == (cb - ca, vb - va)
    (ta, _, ca, va), (tb, _, cb, vb) = pokes[0], pokes[-1]
    assert chainlink_truth(rounds, HEARTBEAT, ta, tb) == (cb - ca, vb - va)
