import brownie
import pytest
from brownie import MockAggregator

from tests.conftest import WAD


@pytest.fixture(scope="module")
def feed(owner):
    return MockAggregator.deploy(8, "X", 100 * 10**8, {"from": owner})


def test_set_feed__non_owner__reverts(oracle, feed, attacker):
    with brownie.reverts("ownable: caller is not the owner"):
        oracle.set_feed(3, feed, 3600, WAD, 1000 * WAD, {"from": attacker})


@pytest.mark.parametrize(
    "heartbeat,low,high,message",
    [
        (0, WAD, 1000 * WAD, "oracle: heartbeat out of bounds"),
        (2 * 86400 + 1, WAD, 1000 * WAD, "oracle: heartbeat out of bounds"),
        (3600, 0, 1000 * WAD, "oracle: bounds out of order"),
        (3600, 1000 * WAD, 1000 * WAD, "oracle: bounds out of order"),
        (3600, 200 * WAD, 1000 * WAD, "oracle: feed has no valid answer"),
    ],
)
def test_set_feed__bad_parameters__revert(oracle, feed, owner, heartbeat, low, high, message):
    with brownie.reverts(message):
        oracle.set_feed(3, feed, heartbeat, low, high, {"from": owner})


def test_set_feed__not_a_contract__reverts(oracle, owner, attacker):
    with brownie.reverts("oracle: aggregator is not a contract"):
        oracle.set_feed(3, attacker, 3600, WAD, 1000 * WAD, {"from": owner})


def test_set_feed__more_than_18_decimals__reverts(oracle, owner):
    feed = MockAggregator.deploy(19, "X", 10**20, {"from": owner})
    with brownie.reverts("oracle: more than 18 decimals"):
        oracle.set_feed(3, feed, 3600, WAD, 1000 * WAD, {"from": owner})


def test_set_feed__logs(oracle, feed, owner):
    tx = oracle.set_feed(3, feed, 3600, WAD, 1000 * WAD, {"from": owner})
    assert tx.events["FeedSet"]["decimals"] == 8
    assert tuple(oracle.price(3)) == (100 * WAD, 0)


def test_set_sequencer__bounds_and_owner(oracle, feed, owner, attacker):
    with brownie.reverts("ownable: caller is not the owner"):
        oracle.set_sequencer(feed, 3600, {"from": attacker})
    with brownie.reverts("oracle: grace period out of bounds"):
        oracle.set_sequencer(feed, 86401, {"from": owner})
    with brownie.reverts("oracle: sequencer feed is not a contract"):
        oracle.set_sequencer(attacker, 3600, {"from": owner})
    tx = oracle.set_sequencer(feed, 3600, {"from": owner})
    assert tx.events["SequencerSet"]["grace_period"] == 3600
    oracle.set_sequencer("0x" + "00" * 20, 0, {"from": owner})
    assert oracle.sequencer() == "0x" + "00" * 20
