"""The O(1) index accumulator: Σ price · seconds and Σ valid seconds."""

from brownie import chain

from tests.conftest import WAD


def test_cumulative__accrues_last_observation_over_time(oracle, feeds, owner):
    cum0, valid0, t0 = oracle.cumulative(0)
    chain.sleep(100)
    feeds[0].set_answer(2100 * 10**8, {"from": owner})
    tx = oracle.poke(0, {"from": owner})
    t1 = tx.timestamp
    ev = tx.events["Touched"]
    assert ev["cumulative"] == cum0 + 2000 * WAD * (t1 - t0)
    assert ev["valid_seconds"] == valid0 + (t1 - t0)
    chain.sleep(50)
    chain.mine()
    cum2, valid2, t2 = oracle.cumulative(0)
    assert cum2 == ev["cumulative"] + 2100 * WAD * (t2 - t1)
    assert valid2 == ev["valid_seconds"] + (t2 - t1)


def test_cumulative__gap_beyond_heartbeat_is_not_valid_time(oracle, feeds, owner):
    """Nobody touched for 2 h with a 1 h heartbeat: the second hour does not count as valid."""
    tx0 = oracle.poke(0, {"from": owner})
    valid0 = tx0.events["Touched"]["valid_seconds"]
    updated_at = feeds[0].latestRoundData()[3]
    chain.sleep(7200)
    feeds[0].set_answer(2000 * 10**8, {"from": owner})
    tx = oracle.poke(0, {"from": owner})
    ev = tx.events["Touched"]
    assert ev["valid_seconds"] == valid0 + (updated_at + 3600 - tx0.timestamp)
    assert tx.timestamp - tx0.timestamp > ev["valid_seconds"] - valid0


def test_touch__invalid_read_stops_validity_now(oracle, feeds, owner):
    oracle.poke(0, {"from": owner})
    feeds[0].set_answer(0, {"from": owner})
    tx = oracle.touch(0, {"from": owner})
    first = tx.events["Touched"]
    assert first["status"] == 5 and first["price"] == 2000 * WAD  # last valid price kept
    chain.sleep(300)
    feeds[0].set_answer(2000 * 10**8, {"from": owner})
    second = oracle.touch(0, {"from": owner}).events["Touched"]
    assert second["valid_seconds"] == first["valid_seconds"]  # the invalid stretch did not count
    assert second["status"] == 0


def test_poke__is_permissionless(oracle, attacker):
    assert oracle.poke(0, {"from": attacker}).events["Touched"]["status"] == 0
