"""Attacks found by reviewing the economic rules, kept as regression tests: a liquidation
sandwich across blocks whose fill stayed inside the oracle band, keepers griefed by dust trades
at the top of each block, and a close that skipped the funding of a round nobody had touched."""

from math import isqrt

import pytest
from brownie import chain

from tests.conftest import USDC, WAD
from vperp import actions, chain_tools
from vperp.chain_tools import send_in_one_block


@pytest.fixture
def victim(house, eth, token, vault, accounts):
    """A 200 ETH long with 50k margin; a maker's 200 ETH short brings the mark back to 2,000."""
    long_, maker = accounts[6], accounts[7]
    actions.fund(token, vault, long_, 60_000 * USDC)
    actions.fund(token, vault, maker, 3_000_000 * USDC)
    actions.trade(house, eth, long_, 0, 200 * WAD, 50_000 * WAD, slippage=0.3)
    chain.mine()
    actions.trade(house, eth, maker, 0, -200 * WAD, 100_000 * WAD, slippage=0.3)
    chain.mine()
    return long_


def _sell_to(eth, target):
    base, _ = eth.reserves()
    return base - isqrt(eth.k() * WAD // target)


def test_push_the_vamm_below_the_oracle_then_liquidate__refused_and_the_pusher_loses(
    house, eth, token, vault, lens, accounts, publishers, victim
):
    """Spot falls 5 %: the long is below maintenance at the oracle, not at the vAMM (2,000), so
    nobody may liquidate it. An attacker shorts 500 ETH (mark −9.3 %, inside the band) to make it
    liquidatable at the vAMM too, and liquidates it the next block: the liquidation would fill
    far below the oracle price, so it is refused; the attacker buys back at a loss of fees."""
    attacker = accounts[9]
    actions.fund(token, vault, attacker, 200_000 * USDC)
    deposit = vault.free_collateral(attacker)
    publishers[0].set_price(1900 * WAD)
    assert not lens.positions(0, [victim])[0]["liquidatable"]
    actions.trade(house, eth, attacker, 0, -500 * WAD, 100_000 * WAD, slippage=0.3)
    chain.mine()
    assert lens.positions(0, [victim])[0]["liquidatable"]  # both valuations say so now
    with pytest.raises(Exception, match="liquidation would fill too far from the oracle price"):
        house.liquidate(victim, 0, {"from": attacker})
    chain.mine()
    actions.close(house, eth, attacker, 0, slippage=0.3)
    assert vault.free_collateral(attacker) < deposit
    assert house.position(victim, 0)["margin"] == 50_000 * WAD


def test_dust_trade_at_the_top_of_the_block__does_not_block_the_liquidation(
    house, eth, token, vault, lens, accounts, publishers, keeper, victim
):
    """A griefer sells 1e-6 ETH (reducing its own long, a free trade) just before the keeper's
    liquidation in the same block: the liquidation goes through."""
    griefer, arbitrageur = accounts[8], accounts[2]
    for who in (griefer, arbitrageur):
        actions.fund(token, vault, who, 1_000_000 * USDC)
    actions.trade(house, eth, griefer, 0, WAD, 1_000 * WAD, slippage=0.3)
    publishers[0].set_price(1880 * WAD)
    actions.trade(house, eth, arbitrageur, 0, _sell_to(eth, 1880 * WAD), 200_000 * WAD, 0.3)
    chain.mine()
    assert lens.positions(0, [victim])[0]["liquidatable"]
    options = {"required_confs": 0, "gas_limit": 3_000_000}
    dust, liquidation = send_in_one_block(
        lambda: house.open_position(
            0, -(10**12), 0, 0, actions.deadline(), {"from": griefer, **options}
        ),
        lambda: house.liquidate(victim, 0, {"from": keeper, **options}),
    )
    assert dust.status == 1 and liquidation.status == 1
    assert liquidation.events["Liquidated"]["bad_debt"] == 0


@pytest.mark.parametrize("poked", [False, True])
def test_close_pays_the_funding_of_a_round_nobody_touched(
    poked, deployment, house, eth, token, vault, oracle, accounts, advance, owner
):
    """A rate is in force; the feed publishes its heartbeat round exactly when the previous one
    expires and nobody pokes for 1,800 s after. A long that closes then pays for those seconds,
    exactly as much as after a poke."""
    long_ = accounts[6]
    actions.fund(token, vault, long_, 200_000 * USDC)
    actions.trade(house, eth, long_, 0, 100 * WAD, 40_000 * WAD, slippage=0.3)
    advance(3600)
    house.settle_funding(0, {"from": owner})
    assert house.market(0)["funding_per_hour"] > 0
    _, valid_until, _ = oracle.observation(0)
    chain_tools.advance(deployment, valid_until + 1800 - chain_tools.now(), owner, None)
    if poked:
        oracle.poke(0, {"from": owner})
    with chain_tools.at(chain_tools.now() + 1):  # both cases close at the same second
        tx = actions.close(house, eth, long_, 0, slippage=0.3)
    paid = tx.events["PositionChanged"]["funding_paid"]
    per_hour = house.market(0)["funding_per_hour"]
    seconds = tx.timestamp - house.market(0)["last_funding_time"]
    # every second since the settlement: per unit ⌊rate × s / 1 h⌋, the long pays 100 of it
    assert paid == 100 * (per_hour * seconds // 3600)
