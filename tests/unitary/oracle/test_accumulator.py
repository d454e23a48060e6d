"""The O(1) index accumulator: Σ price · valid seconds and Σ valid seconds."""

from tests.conftest import WAD
from tests.unitary.oracle.schedule import at, latest_time, touched


def test_cumulative__new_round_counts_from_its_updated_at(oracle, feeds, owner):
    """The previous price counts until the new round's updatedAt, the new one from there (the
    touch comes later); the view then accrues the stored observation up to now."""
    t0 = latest_time() + 100
    first = touched(at(t0, lambda: oracle.poke(0, {"from": owner})))
    at(t0 + 100, lambda: feeds[0].set_answer(2100 * 10**8, {"from": owner}))
    tx = at(t0 + 160, lambda: oracle.poke(0, {"from": owner}))
    t1, _, cum1, valid1 = touched(tx)
    assert cum1 == first[2] + 2000 * WAD * 100 + 2100 * WAD * 60
    assert valid1 == first[3] + 160
    block = at(t0 + 210, lambda: oracle.poke(1, {"from": owner})).block_number
    cum2, valid2, t2 = oracle.cumulative(0, block_identifier=block)
    assert (cum2, valid2, t2) == (cum1 + 2100 * WAD * 50, valid1 + 50, t0 + 210)


def test_cumulative__gap_beyond_heartbeat_is_not_valid_time(oracle, feeds, owner):
    """Nobody publishes for 2 h with a 1 h heartbeat: the second hour does not count as valid;
    the next round counts from its updatedAt."""
    t0 = latest_time() + 100
    at(t0, lambda: feeds[0].set_answer(2000 * 10**8, {"from": owner}))
    first = touched(at(t0 + 10, lambda: oracle.poke(0, {"from": owner})))
    at(t0 + 7200, lambda: feeds[0].set_answer(2000 * 10**8, {"from": owner}))
    second = touched(at(t0 + 7230, lambda: oracle.poke(0, {"from": owner})))
    assert second[3] - first[3] == (3600 - 10) + 30
    assert second[2] - first[2] == 2000 * WAD * (3600 - 10 + 30)


def test_touch__invalid_read_keeps_last_price_and_stops_validity(oracle, feeds, owner):
    t0 = latest_time() + 100
    start = touched(at(t0, lambda: oracle.poke(0, {"from": owner})))
    at(t0 + 50, lambda: feeds[0].set_answer(0, {"from": owner}))
    tx = at(t0 + 60, lambda: oracle.touch(0, {"from": owner}))
    first = tx.events["Touched"]
    assert first["status"] == 5 and first["price"] == 2000 * WAD  # last valid price kept
    assert first["valid_seconds"] == start[3] + 50
    at(t0 + 360, lambda: feeds[0].set_answer(2000 * 10**8, {"from": owner}))
    second = at(t0 + 400, lambda: oracle.touch(0, {"from": owner})).events["Touched"]
    assert second["status"] == 0
    # the invalid stretch [t0 + 50, t0 + 360] did not count; the new round did, from its updatedAt
    assert second["valid_seconds"] == first["valid_seconds"] + 40


def test_poke__is_permissionless(oracle, attacker):
    assert oracle.poke(0, {"from": attacker}).events["Touched"]["status"] == 0
