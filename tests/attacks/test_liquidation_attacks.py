"""Named attacks on liquidation and the insurance fund, each on the real contracts."""

from math import isqrt

import brownie
import pytest
from brownie import HostileToken, SelfLiquidator, chain

from tests.conftest import USDC, WAD
from tests.liquidation_helpers import crash, push_mark
from vperp import actions, config
from vperp.chain_tools import send_in_one_block
from vperp.deploy import deploy


def _liquidate_all(house, lens, market_id, traders, keeper, rounds=20):
    """A keeper's loop: read the Lens flags, liquidate every flagged position, until none is
    flagged. Every liquidation must succeed. Returns the Liquidated events."""
    events = []
    for _ in range(rounds):
        flagged = [r["trader"] for r in lens.positions(market_id, traders) if r["liquidatable"]]
        if not flagged:
            return events
        for who in flagged:
            tx = house.liquidate(who, market_id, {"from": keeper})
            assert tx.status == 1
            events.append(tx.events["Liquidated"])
    raise AssertionError("positions still liquidatable after the keeper's rounds")


def test_attack__pump_the_vamm_to_liquidate_another_in_the_same_block__cannot(
    house, eth, vault, lens, funded, trader, attacker, token
):
    """The attacker dumps the vAMM 9 % below a 10x long's entry and liquidates it in the same
    block: the oracle still values the long above maintenance, so the liquidation reverts."""
    actions.trade(house, eth, trader, 0, 10 * WAD, 2100 * WAD)
    actions.fund(token, vault, attacker, 200_000 * USDC)
    target = eth.mark_price() * 91 // 100
    base, _ = eth.reserves()
    dump = base - isqrt(eth.k() * WAD // target)  # < 0: sells base
    limit = actions.quote_limit(eth, dump, 0.3)
    pending = {"from": attacker, "required_confs": 0, "gas_limit": 1_000_000}
    push, liq = send_in_one_block(
        lambda: house.open_position(0, dump, 190_000 * WAD, limit, actions.deadline(), pending),
        lambda: house.liquidate(trader, 0, pending),
    )
    assert push.status == 1 and liq.status == 0
    assert liq.revert_msg == "ch: position is not liquidatable"
    assert lens.positions(0, [trader])[0]["liquidatable"] is False
    assert house.position(trader, 0)["size"] == 10 * WAD


def test_attack__open_and_self_liquidate_in_one_transaction__reverts(
    house, eth, vault, token, attacker
):
    """A contract deposits, opens at the highest leverage and liquidates itself at once: the
    initial margin exceeds maintenance at the same prices, so it is never liquidatable."""
    bot = SelfLiquidator.deploy({"from": attacker})
    token.faucet(1_000 * USDC, {"from": attacker})
    token.transfer(bot, 1_000 * USDC, {"from": attacker})
    size = WAD // 2
    margin = eth.quote_for(size) // 10 + WAD  # just above 10 % initial margin
    with brownie.reverts("ch: position is not liquidatable"):
        bot.attack(
            token,
            vault,
            house,
            0,
            1_000 * USDC,
            size,
            margin,
            actions.quote_limit(eth, size),
            {"from": attacker},
        )
    assert token.balanceOf(bot) == 1_000 * USDC  # nothing happened


def test_attack__large_position_on_a_thin_market__insurance_loss_bounded(
    house, btc, publishers, vault, oracle, lens, token, trader, other_trader, keeper, owner
):
    """A long of 22 BTC (4.4 % of the 500 BTC reserve, ~7x) on the thin market, hit by a 7 %
    crash. Its vAMM exit value (price impact included) is what sizes the liquidation, so the
    penalty never eats margin the exit needs: the documented bound holds, the fund loses at most
    max(0, −exit value) plus the keeper floor, here nothing."""
    house.set_caps(1, 499 * WAD, 499 * WAD, 10 * WAD, {"from": owner})  # room for the pusher
    actions.fund(token, vault, trader, 200_000 * USDC)
    actions.fund(token, vault, other_trader, 2_000_000 * USDC)
    actions.trade(house, btc, trader, 1, 22 * WAD, 130_000 * WAD, slippage=0.3)
    chain.mine()
    entry = house.position(trader, 1)["open_notional"] * WAD // (22 * WAD)
    price = entry * 93 // 100
    crash(house, btc, publishers[1], other_trader, 1, price)
    p = house.position(trader, 1)
    exit_value = p["margin"] + p["unrealised_pnl"]  # at the vAMM exit, impact included
    bound = max(0, -exit_value) + house.market(1)["keeper_reward_floor"]
    fund_before = vault.insurance_fund()
    events = _liquidate_all(house, lens, 1, [trader], keeper)
    fund_after = vault.insurance_fund()
    bad_debt = sum(e["bad_debt"] for e in events)
    print(
        f"\nthin market: {len(events)} liquidations, sizes after each "
        f"{[e['size'] / WAD for e in events]}, bad debt {bad_debt / WAD:.2f}, "
        f"insurance fund {fund_before / WAD:,.2f} -> {fund_after / WAD:,.2f}; "
        f"exit value at liquidation {exit_value / WAD:,.2f}, loss bound {bound / WAD:,.2f}"
    )
    assert fund_before - fund_after <= bound
    assert bad_debt <= max(0, -exit_value)
    assert not house.market(1)["reduce_only"]


@pytest.fixture
def crash_book(house, eth, token, vault, accounts, owner, other_trader):
    """A concentrated book: five 5-7x longs of 100-300 ETH, each met by an arbitrageur who keeps
    the vAMM at the oracle price (2,000). Caps raised so the arbitrageur can follow a crash."""
    house.set_caps(0, 9_999 * WAD, 9_999 * WAD, 10 * WAD, {"from": owner})
    actions.fund(token, vault, other_trader, 5_000_000 * USDC)
    longs = accounts[5:10]
    for i, who in enumerate(longs):
        size = (100 + 50 * i) * WAD
        leverage = 5 + i % 3
        notional = eth.quote_for(size)
        actions.fund(token, vault, who, notional // leverage // 10**12 * 2)
        actions.trade(house, eth, who, 0, size, notional // leverage, slippage=0.3)
        push_mark(house, eth, other_trader, 0, 2000 * WAD, leverage=3)
    return longs


def test_attack__oracle_crash_45pct_on_a_concentrated_book(
    house, eth, publishers, vault, lens, token, crash_book, other_trader, keeper, owner
):
    """The oracle steps down 45 %; an arbitrageur drives the vAMM after it, 4 % per block,
    until the market turns reduce-only, and a keeper liquidates whatever the Lens flags after
    each block. No liquidation reverts, the insurance fund never goes negative, the market turns
    reduce-only only if the fund could not pay, and everyone can still close and withdraw
    afterwards."""
    arb = other_trader
    fund_before = vault.insurance_fund()
    publishers[0].set_price(1100 * WAD)  # −45 %
    events, lowest_fund = [], fund_before
    for _ in range(25):
        mark = eth.mark_price()
        if mark > 1100 * WAD * 101 // 100 and not house.market(0)["reduce_only"]:
            push_mark(house, eth, arb, 0, max(mark * 96 // 100, 1100 * WAD), leverage=3)
            chain.mine()
        events += _liquidate_all(house, lens, 0, crash_book, keeper)
        lowest_fund = min(lowest_fund, vault.insurance_fund())
    assert all(house.position(w, 0)["size"] == 0 for w in crash_book) or not any(
        r["liquidatable"] for r in lens.positions(0, crash_book)
    )
    info = house.market(0)
    bad_debt = sum(e["bad_debt"] for e in events)
    recorded = info["shortfall"]
    print(
        f"\n-45 % crash: {len(events)} liquidations "
        f"({sum(1 for e in events if e['size'] != 0)} partial), bad debt {bad_debt / WAD:,.2f}, "
        f"insurance fund {fund_before / WAD:,.2f} -> {vault.insurance_fund() / WAD:,.2f} "
        f"(lowest {lowest_fund / WAD:,.2f}), uncovered and socialised {recorded / WAD:,.2f}, "
        f"reduce-only {info['reduce_only']}"
    )
    assert lowest_fund >= 0
    assert info["reduce_only"] == (recorded > 0)
    assert info["outstanding_shortfall"] == 0  # the arbitrageur's open interest took it
    # close everything (reduce-only allows it) and withdraw everything
    for who in [*crash_book, arb]:
        if house.position(who, 0)["size"] != 0:
            actions.close(house, eth, who, 0, slippage=1.0)
        units = vault.free_collateral(who) // vault.scale()
        if units:
            vault.withdraw(units, {"from": who})
    assert token.balanceOf(vault) * vault.scale() >= vault.insurance_fund() + vault.fee_pool()
    assert vault.total_margin() == 0


@pytest.fixture(scope="module")
def hostile(owner, guardian):
    """The whole protocol on a collateral that can blacklist accounts (as USDC can)."""
    token = HostileToken.deploy({"from": owner})
    loaded = config.load()
    params = config.DeployParams(
        collateral=config.CollateralParams(
            address=token.address, name="Hostile", symbol="HST", decimals=6
        ),
        guardian=guardian.address,
        markets=loaded.markets,
    )
    return deploy(params, owner), token


def test_attack__liquidation_of_a_blacklisted_trader__succeeds(
    hostile, trader, other_trader, keeper
):
    """The token refuses every transfer to or from the trader; liquidation only moves internal
    balances, so it works, and the keeper's reward is withdrawable."""
    d, token = hostile
    for who, amount in ((trader, 10_000), (other_trader, 500_000)):
        token.faucet(amount * USDC, {"from": who})
        token.approve(d.vault, amount * USDC, {"from": who})
        d.vault.deposit(amount * USDC, {"from": who})
    actions.trade(d.clearing_house, d.vamms[0], trader, 0, 10 * WAD, 2100 * WAD)
    crash(d.clearing_house, d.vamms[0], d.publishers[0], other_trader, 0, 1850 * WAD)
    token.set_blacklisted(trader, True, {"from": keeper})
    tx = d.clearing_house.liquidate(trader, 0, {"from": keeper})
    assert tx.events["Liquidated"]["size"] < 10 * WAD
    free = d.vault.free_collateral(trader)
    assert free > 0  # the trader's balance waits for it
    with brownie.reverts():
        d.vault.withdraw(1, {"from": trader})  # the token refuses, the balance stays
    assert d.vault.free_collateral(trader) == free
    reward = d.vault.free_collateral(keeper)
    assert reward == tx.events["Liquidated"]["reward"] > 0
    d.vault.withdraw(reward // 10**12, {"from": keeper})
    assert token.balanceOf(keeper) == reward // 10**12
