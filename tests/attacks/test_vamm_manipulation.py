"""Named attacks that move the vAMM (which anyone can, within a block and across blocks) to win
against checks, liquidations and other traders. Each is played on the real contracts with the
deployed parameters; the right outcome is computed independently (x·y=k arithmetic here, or the
exact model for a liquidation), and every attack must leave the attacking group with no more
than it put in and the insurance fund no worse than without the push.

Rules these tests hold the contracts to (docs/ARCHITECTURE.md, "Manipulation resistance"):
opening and removing margin pass under both valuations; opening trades stay within the oracle
band; nothing trades before (against the position) and after a liquidation in one block; a
liquidation's average fill lies within the oracle band of the oracle price."""

from math import isqrt

import brownie
import pytest
from brownie import Sandwicher, chain

from tests.conftest import USDC, WAD
from tests.liquidation_helpers import crash, market_model
from vperp import actions, model
from vperp.chain_tools import send_in_one_block


def ceil_div(a, b):
    return -(-a // b)


def buy_quote(base_reserve, k, size):
    """Quote a buy of `size` base costs on x·y=k with quote = ⌈k / base⌉."""
    return ceil_div(k, base_reserve - size) - ceil_div(k, base_reserve)


def close_everything(house, vamm, market_id, accounts_):
    for who in accounts_:
        if house.position(who, market_id)["size"] != 0:
            actions.close(house, vamm, who, market_id, slippage=1.0)


class Group:
    """The attacking accounts' deposits and what they can take out at the end."""

    def __init__(self, token, vault, members):
        self.token, self.vault, self.members = token, vault, members
        self.deposited = 0

    def fund(self, who, units):
        actions.fund(self.token, self.vault, who, units)
        self.deposited += units * self.vault.scale()

    def net(self):
        """What the group could withdraw now minus what it deposited (18 decimals)."""
        return sum(self.vault.free_collateral(m) for m in self.members) - self.deposited


# ---------------------------------------------------------------------------------------------
# 1. opening at a price only the vAMM sees


def test_open_long__initial_margin_counts_the_oracle_valuation(
    house, eth, token, vault, funded, trader
):
    """A 450 ETH long at 2,000 (the index): its vAMM exit value equals what it paid (path
    independence), but at the oracle price it is already down by the entry impact; the margin
    must cover 10 % of the oracle notional plus that loss."""
    actions.fund(token, vault, trader, 100_000 * USDC)
    base, _ = eth.reserves()
    size = 450 * WAD
    paid = buy_quote(base, eth.k(), size)
    oracle_notional = 450 * 2000 * WAD
    at_vamm = ceil_div(paid, 10)  # exit value = paid: no loss
    at_oracle = ceil_div(oracle_notional, 10) + (paid - oracle_notional)
    required = max(at_vamm, at_oracle)
    assert required == at_oracle > at_vamm  # the vAMM-only check would accept far less
    limit = actions.quote_limit(eth, size, 0.01)
    with brownie.reverts("ch: margin below initial requirement"):
        house.open_position(0, size, at_vamm, limit, actions.deadline(), {"from": trader})
    with brownie.reverts("ch: margin below initial requirement"):
        house.open_position(0, size, required - 1, limit, actions.deadline(), {"from": trader})
    house.open_position(0, size, required, limit, actions.deadline(), {"from": trader})
    p = house.position(trader, 0)
    # at the oracle price it starts exactly at the initial ratio, far above maintenance
    assert p["margin"] + oracle_notional - p["open_notional"] == ceil_div(oracle_notional, 10)


def test_attack__open_at_vamm_price_then_dump_and_liquidate__group_loses(
    house, eth, token, vault, lens, accounts, owner
):
    """Case 1: one account opens 450 ETH at the most leverage allowed, two others dump the vAMM
    as far as each block allows and try to liquidate it, then everyone closes. The long is
    valued at the oracle too, so it never becomes liquidatable: the group only pays fees and the
    insurance fund only gains."""
    victim, dumper_a, dumper_b = accounts[6], accounts[7], accounts[8]
    group = Group(token, vault, [victim, dumper_a, dumper_b])
    for who in group.members:
        group.fund(who, 3_000_000 * USDC)
    house.set_caps(0, 9_999 * WAD, 9_999 * WAD, 10 * WAD, {"from": owner})
    fund_before = vault.insurance_fund()
    base, _ = eth.reserves()
    paid = buy_quote(base, eth.k(), 450 * WAD)
    required = ceil_div(900_000 * WAD, 10) + paid - 900_000 * WAD
    actions.trade(house, eth, victim, 0, 450 * WAD, required)
    attempts = 0
    for dumper in (dumper_a, dumper_b, dumper_a, dumper_b):  # across blocks
        chain.mine()
        target = max(eth.mark_price() * 91 // 100, 2000 * WAD * 9 // 10 + WAD)  # the band
        base, _ = eth.reserves()
        dump = base - isqrt(eth.k() * WAD // target)
        if dump >= 0:
            break
        actions.trade(house, eth, dumper, 0, dump, 800_000 * WAD, slippage=0.5)
        attempts += 1
        assert lens.positions(0, [victim])[0]["liquidatable"] is False
        with brownie.reverts("ch: position is not liquidatable"):
            house.liquidate(victim, 0, {"from": dumper})
    assert attempts >= 1
    close_everything(house, eth, 0, group.members)
    print(
        f"\nopen at a vAMM-only price: {attempts} dumps, group net {group.net() / WAD:,.2f}, "
        f"insurance fund {(vault.insurance_fund() - fund_before) / WAD:+,.2f}"
    )
    assert group.net() < 0  # fees only
    assert vault.insurance_fund() >= fund_before


def test_attack__pump_far_above_a_flat_oracle__band_and_oracle_margin_refuse(
    house, eth, publishers, token, vault, accounts, owner, trader, funded
):
    """Case 1, second shape: with the oracle flat at 2,000 and the mark already ~20 % above it,
    pushers try to pump the mark further over several blocks while a partner long cashes in.
    Opening trades may not take the mark further from the index than the band; with the band
    widened, positions whose equity at the oracle is negative are still refused; an honest
    depositor withdraws everything at the end."""
    pushers = accounts[6:9]
    group = Group(token, vault, [*pushers, accounts[9]])
    for who in group.members:
        group.fund(who, 1_000_000 * USDC)
    partner = accounts[9]
    house.set_caps(0, 9_999 * WAD, 9_999 * WAD, 10 * WAD, {"from": owner})
    # the mark got to ~2,400 while spot was there; spot then fell back to 2,000
    publishers[0].set_price(2400 * WAD)
    actions.move_mark(house, eth, partner, 0, 2400 * WAD, leverage=2)
    publishers[0].set_price(2000 * WAD)
    assert eth.mark_price() > 2200 * WAD
    with brownie.reverts("ch: mark would leave the oracle band"):
        actions.trade(house, eth, pushers[0], 0, 50 * WAD, 100_000 * WAD)
    # even with a 50 % band, the oracle valuation refuses margin that only the vAMM sees
    house.set_oracle_band(0, WAD // 2, {"from": owner})
    size = 100 * WAD
    paid = eth.quote_for(size)
    oracle_notional = 100 * 2000 * WAD
    required = ceil_div(oracle_notional, 10) + paid - oracle_notional
    assert required > ceil_div(paid, 10) * 2
    limit = actions.quote_limit(eth, size, 0.01)
    with brownie.reverts("ch: margin below initial requirement"):
        house.open_position(
            0, size, ceil_div(paid, 5), limit, actions.deadline(), {"from": pushers[0]}
        )
    fund_before = vault.insurance_fund()
    # they pay the whole gap to the oracle price up front, so the pump cannot leave bad debt
    for pusher in pushers:
        chain.mine()
        paid = eth.quote_for(size)
        required = ceil_div(oracle_notional, 10) + paid - oracle_notional
        actions.trade(house, eth, pusher, 0, size, required)
    actions.close(house, eth, partner, 0, slippage=1.0)  # the partner sells into the pump
    close_everything(house, eth, 0, pushers)
    print(
        f"\npump above a flat oracle: group net {group.net() / WAD:,.2f}, insurance fund "
        f"{(vault.insurance_fund() - fund_before) / WAD:+,.2f}"
    )
    assert group.net() < 0
    assert vault.insurance_fund() >= fund_before
    assert house.market(0)["shortfall"] == 0
    for who in (trader, *group.members):  # everyone takes everything out
        units = vault.free_collateral(who) // vault.scale()
        if units:
            vault.withdraw(units, {"from": who})
    assert token.balanceOf(vault) * vault.scale() >= vault.insurance_fund() + vault.fee_pool()


# ---------------------------------------------------------------------------------------------
# 2. liquidation sandwich


@pytest.fixture
def underwater_long(house, eth, publishers, token, vault, lens, accounts, owner):
    """A 480 ETH long bought while spot followed the vAMM, then caught by a fall of spot that an
    arbitrageur brought the vAMM down to, until it is liquidatable at both valuations (a
    partial liquidation)."""
    victim, arbitrageur = accounts[6], accounts[7]
    house.set_caps(0, 9_999 * WAD, 9_999 * WAD, 10 * WAD, {"from": owner})
    actions.fund(token, vault, victim, 300_000 * USDC)
    actions.fund(token, vault, arbitrageur, 5_000_000 * USDC)
    for _ in range(2):
        publishers[0].set_price(eth.mark_price())
        actions.trade(house, eth, victim, 0, 240 * WAD, 63_000 * WAD, slippage=0.3)
        chain.mine()
    price = eth.mark_price()
    while not lens.positions(0, [victim])[0]["liquidatable"]:
        price = price * 99 // 100
        crash(house, eth, publishers[0], arbitrageur, 0, price)  # spot first, the vAMM follows
        chain.mine()
    return victim


def honest_outcome(house, eth, oracle, vault, victim):
    """What a liquidation right now does, from the exact model."""
    m = market_model(house, eth, 0, [victim])
    index = oracle.price(0)[0]
    return model.liquidate(m, str(victim), index, vault.insurance_fund())


@pytest.mark.parametrize(
    "push,reason",
    [
        # −9.6 %, inside the per-block limit and the band: far beyond what a liquidation may fill
        (-500 * WAD, "ch: liquidation would fill too far from the oracle price"),
        # −1 %: inside the fill bound, so the liquidation runs; buying back after it does not
        (-50 * WAD, "vamm: no trades after a liquidation in this block"),
    ],
)
def test_attack__sandwich_a_liquidation_in_one_transaction__reverts(
    house, eth, oracle, vault, token, lens, underwater_long, attacker, keeper, push, reason
):
    """Case 2: an attacker contract shorts (500 ETH: −9.6 %, inside the per-block limit and the
    band; or 50 ETH), liquidates the victim and buys back, in one transaction. A liquidation
    that would fill far from the oracle price is refused, and nobody trades after a liquidation
    in its block, so the whole transaction reverts; the honest liquidation afterwards is
    exactly the model's."""
    victim = underwater_long
    expected = honest_outcome(house, eth, oracle, vault, victim)
    assert expected.closed != 0 and expected.bad_debt == 0
    bot = Sandwicher.deploy({"from": attacker})
    token.faucet(1_000_000 * USDC, {"from": attacker})
    token.transfer(bot, 1_000_000 * USDC, {"from": attacker})
    bot.deposit(token, vault, 1_000_000 * USDC, {"from": attacker})
    free = vault.free_collateral(bot)
    with brownie.reverts(reason):
        bot.sandwich(house, 0, victim, push, 400_000 * WAD, 0, 0, 2**255, {"from": attacker})
    assert vault.free_collateral(bot) == free
    fund = vault.insurance_fund()
    ev = house.liquidate(victim, 0, {"from": keeper}).events["Liquidated"]
    assert (ev["base_closed"], ev["quote_amount"], ev["bad_debt"]) == (
        expected.closed,
        expected.quote,
        0,
    )
    assert vault.insurance_fund() - fund == expected.insurance_delta > 0


def test_attack__sandwich_by_closing_an_own_long_first__reverts(
    house, eth, oracle, vault, token, underwater_long, attacker, owner
):
    """The free side of the vAMM: closing trades have no limit. An attacker who already holds a
    long sells it, liquidates, and buys it back in one transaction: the liquidation fills
    within its bound of the oracle price, and buying back after it in its block is refused, so
    the transaction reverts."""
    victim = underwater_long
    bot = Sandwicher.deploy({"from": attacker})
    token.faucet(2_000_000 * USDC, {"from": attacker})
    token.transfer(bot, 2_000_000 * USDC, {"from": attacker})
    bot.deposit(token, vault, 2_000_000 * USDC, {"from": attacker})
    size = 200 * WAD
    bot.trade(house, 0, size, 300_000 * WAD, 2**255, {"from": attacker})
    chain.mine()
    with brownie.reverts("vamm: no trades after a liquidation in this block"):
        bot.sandwich(house, 0, victim, -size, 0, 0, 300_000 * WAD, 2**255, {"from": attacker})


def test_attack__sandwich_a_liquidation_across_blocks__fill_outside_band__attacker_loses(
    house, eth, oracle, vault, token, underwater_long, attacker, keeper
):
    """The same push one block earlier: the liquidation's average fill would lie further than
    the band from the oracle price, so it waits; the attacker buys back at a loss of fees and
    the honest liquidation is then exactly what it would have been without the push."""
    victim = underwater_long
    expected = honest_outcome(house, eth, oracle, vault, victim)
    group = Group(token, vault, [attacker])
    group.fund(attacker, 1_000_000 * USDC)
    fund = vault.insurance_fund()
    actions.trade(house, eth, attacker, 0, -500 * WAD, 400_000 * WAD, slippage=0.3)
    chain.mine()
    with brownie.reverts("ch: liquidation would fill too far from the oracle price"):
        house.liquidate(victim, 0, {"from": keeper})
    actions.close(house, eth, attacker, 0, slippage=0.3)
    chain.mine()
    tx = house.liquidate(victim, 0, {"from": keeper})
    ev = tx.events["Liquidated"]
    assert (ev["base_closed"], ev["quote_amount"]) == (expected.closed, expected.quote)
    print(
        f"\nsandwich across blocks: attacker net {group.net() / WAD:,.2f}; liquidation closed "
        f"{-ev['base_closed'] / WAD:,.4f} ETH, bad debt {ev['bad_debt'] / WAD:,.2f}, fund "
        f"{(vault.insurance_fund() - fund) / WAD:+,.2f} (honest alone "
        f"{expected.insurance_delta / WAD:+,.2f})"
    )
    assert group.net() < 0
    assert vault.insurance_fund() - fund >= expected.insurance_delta


def test_liquidation__no_trade_after_it_in_the_same_block(
    house, eth, underwater_long, attacker, token, vault, keeper
):
    """Back-running a liquidation in its block is refused too: nobody trades before and after
    one liquidation in the same block. The next block trades normally."""
    actions.fund(token, vault, attacker, 1_000_000 * USDC)
    pending = {"from": keeper, "required_confs": 0, "gas_limit": 2_000_000}
    back = {"from": attacker, "required_confs": 0, "gas_limit": 2_000_000}
    limit = actions.quote_limit(eth, 100 * WAD, 0.5)
    liq, buy = send_in_one_block(
        lambda: house.liquidate(underwater_long, 0, pending),
        lambda: house.open_position(0, 100 * WAD, 50_000 * WAD, limit, actions.deadline(), back),
    )
    assert liq.status == 1 and buy.status == 0
    assert buy.revert_msg == "vamm: no trades after a liquidation in this block"
    actions.trade(house, eth, attacker, 0, 100 * WAD, 50_000 * WAD, slippage=0.5)


# ---------------------------------------------------------------------------------------------
# 3. removing margin against a pushed price


def test_attack__remove_margin_at_a_pushed_price__bounded_by_undisturbed_prices(
    house, eth, publishers, oracle, token, vault, accounts, owner
):
    """Case 3: a 500 ETH long with 300k margin at mark ~1,838; two accounts hold 465 ETH shorts.
    In one block both shorts close (the price jumps, closing has no limit), the long removes
    margin, both shorts reopen (the price returns to the block's reference). The removal is
    bounded by the undisturbed valuations: the vAMM exit value at the block's reference (the
    worse of it and the pushed one) and the oracle price. Afterwards the long is still at the
    initial ratio at undisturbed prices."""
    long_, short_a, short_b = accounts[6], accounts[7], accounts[8]
    group = Group(token, vault, [long_, short_a, short_b])
    for who in group.members:
        group.fund(who, 2_000_000 * USDC)
    house.set_caps(0, 9_999 * WAD, 9_999 * WAD, 10 * WAD, {"from": owner})
    publishers[0].set_price(eth.mark_price())
    actions.trade(house, eth, long_, 0, 250 * WAD, 150_000 * WAD, slippage=0.3)
    chain.mine()
    publishers[0].set_price(eth.mark_price())
    actions.trade(house, eth, long_, 0, 250 * WAD, 150_000 * WAD, slippage=0.3)
    for who in (short_a, short_b):
        chain.mine()
        publishers[0].set_price(eth.mark_price())
        actions.trade(house, eth, who, 0, -465 * WAD, 300_000 * WAD, slippage=0.3)
    chain.mine()
    publishers[0].set_price(eth.mark_price())
    chain.mine()
    oracle_price = oracle.price(0)[0]
    p = house.position(long_, 0)
    assert p["margin"] == 300_000 * WAD
    oracle_notional = 500 * oracle_price
    at_oracle = p["margin"] + min(oracle_notional - p["open_notional"], 0)
    at_oracle -= ceil_div(oracle_notional, 10)
    at_vamm = p["margin"] + min(p["unrealised_pnl"], 0) - ceil_div(p["exit_notional"], 10)
    undisturbed = min(at_oracle, at_vamm)
    assert undisturbed > 0
    reopen = actions.quote_limit(eth, -465 * WAD, 0.3)

    def in_block(remove):
        options = {"required_confs": 0, "gas_limit": 1_500_000}
        return send_in_one_block(
            lambda: house.close_position(
                0, 2**255, actions.deadline(), {"from": short_a, **options}
            ),
            lambda: house.close_position(
                0, 2**255, actions.deadline(), {"from": short_b, **options}
            ),
            lambda: house.remove_margin(0, remove, {"from": long_, **options}),
            lambda: house.open_position(
                0,
                -465 * WAD,
                300_000 * WAD,
                reopen,
                actions.deadline(),
                {"from": short_a, **options},
            ),
            lambda: house.open_position(
                0,
                -465 * WAD,
                300_000 * WAD,
                reopen,
                actions.deadline(),
                {"from": short_b, **options},
            ),
        )

    greedy = in_block(undisturbed + WAD)
    assert [tx.status for tx in greedy] == [1, 1, 0, 1, 1]
    assert greedy[2].revert_msg == "ch: margin below initial requirement"
    chain.mine()
    assert house.position(long_, 0)["exit_notional"] == p["exit_notional"]  # back where it was
    exact = in_block(undisturbed)
    assert [tx.status for tx in exact] == [1, 1, 1, 1, 1]
    q = house.position(long_, 0)
    equity = q["margin"] + q["unrealised_pnl"]
    print(
        f"\nremove margin at a pushed price: undisturbed bound {undisturbed / WAD:,.2f} (vAMM "
        f"{at_vamm / WAD:,.2f}, oracle {at_oracle / WAD:,.2f}); removed {undisturbed / WAD:,.2f}; "
        f"equity at the vAMM afterwards {equity / WAD:,.2f}"
    )
    assert q["margin"] == 300_000 * WAD - undisturbed
    assert equity >= ceil_div(q["exit_notional"], 10) - 1  # at the initial ratio, not below
    close_everything(house, eth, 0, group.members)
    assert group.net() < 0
