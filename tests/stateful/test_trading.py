"""Stateful fuzzing of trading, oracle moves, time and funding against the exact Python model
(vperp.model).

Hypothesis's own RuleBasedStateMachine drives the Brownie contracts (Brownie 1.22's
`state_machine` fixture is broken): one chain snapshot after deployment, reverted at the start of
every example. After every step: the vault's accounting identity, k unchanged, vAMM net base =
−Σ sizes, open interest, every position equal to the model's, every funding settlement equal to
the model's, and funding conservation (Σ paid − Σ received = insurance-fund funding delta, within
one wei per position settlement and two per market settlement). At the end of every example,
inside a snapshot: everyone closes and withdraws, and the vault keeps at least insurance + fees.
"""

import copy
import os

import brownie
import pytest
from brownie import chain
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from tests.conftest import USDC, WAD
from vperp import actions, chain_tools, model

N_TRADERS = 4
STEPS = 25
EXAMPLES = int(os.environ.get("VPERP_STATEFUL_EXAMPLES", "20"))
SIZES = {0: (WAD // 100, 5 * WAD), 1: (WAD // 1000, WAD // 4)}  # base per market


class TradingMachine(RuleBasedStateMachine):
    """Base class: actions on chain and in the model; invariants in the subclass below."""

    ctx: dict = {}  # filled by the test before the machine runs
    steps = 0
    rejected = 0
    checks = 0
    funding_charges = 0
    settlements = 0

    def __init__(self):
        super().__init__()
        chain.revert()
        c = self.ctx
        self.house, self.vault, self.token = c["house"], c["vault"], c["token"]
        self.vamms = c["vamms"]
        self.lens = c["lens"]
        self.traders = c["traders"]
        self.markets = {}
        for market_id, vamm in enumerate(self.vamms):
            info = self.house.market(market_id)
            base, quote = vamm.reserves()
            self.markets[market_id] = model.MarketModel(
                vamm=model.VammModel(base, quote, vamm.k(), base - vamm.net_base()),
                imr=info["initial_margin_ratio"],
                mmr=info["maintenance_margin_ratio"],
                fee_rate=info["fee_rate"],
                insurance_share=info["insurance_fee_share"],
                min_notional=info["min_position_notional"],
            )
        self.free = {t.address: self.vault.free_collateral(t) for t in self.traders}
        self.round_tripper = c["round_tripper"]
        self.free[self.round_tripper.address] = self.vault.free_collateral(self.round_tripper)
        self.oracle, self.feeds = c["oracle"], c["feeds"]
        self.deployment = c["deployment"]
        self.funding_flow = 0  # Σ funding paid − Σ received by positions (settled)
        self.insurance_funding = 0  # Σ insurance-fund funding deltas
        self.roundings = 0  # position funding settlements + 2 per market settlement
        for market_id, m in self.markets.items():
            info = self.house.market(market_id)
            m.cum_long, m.cum_short = (
                info["cumulative_long_funding"],
                info["cumulative_short_funding"],
            )

    # --- actions -------------------------------------------------------------------------------

    @initialize(
        amounts=st.lists(st.integers(1_000, 50_000), min_size=N_TRADERS, max_size=N_TRADERS)
    )
    def fund_everyone(self, amounts):
        # spot starts half a percent away from the perp, so every settlement has a premium
        for feed, move in zip(self.feeds, (995, 1005), strict=True):
            feed.set_answer(feed.latestRoundData()[1] * move // 1000, {"from": self.traders[0]})
        for trader, amount in zip(self.traders, amounts, strict=True):
            actions.fund(self.token, self.vault, trader, amount * USDC)
            self.free[trader.address] += amount * USDC * 10**12

    @rule(who=st.integers(0, N_TRADERS - 1), amount=st.integers(1, 20_000 * USDC))
    def deposit(self, who, amount):
        trader = self.traders[who]
        actions.fund(self.token, self.vault, trader, amount)
        self.free[trader.address] += amount * 10**12
        TradingMachine.steps += 1

    @rule(who=st.integers(0, N_TRADERS - 1), share=st.floats(0.01, 1.0))
    def withdraw(self, who, share):
        trader = self.traders[who]
        units = int(self.free[trader.address] // 10**12 * share)
        if units == 0:
            with brownie.reverts("vault: zero amount"):
                self.vault.withdraw(0, {"from": trader})
        else:
            self.vault.withdraw(units, {"from": trader})
            self.free[trader.address] -= units * 10**12
        TradingMachine.steps += 1

    @rule(
        who=st.integers(0, N_TRADERS - 1),
        market_id=st.sampled_from([0, 1]),
        fraction=st.floats(0.0, 1.0),
        short=st.booleans(),
        leverage=st.sampled_from([1, 2, 5, 8, 12]),
    )
    def trade(self, who, market_id, fraction, short, leverage):
        trader = self.traders[who]
        low, high = SIZES[market_id]
        base = low + int((high - low) * fraction)
        base_delta = -base if short else base
        m = self.markets[market_id]
        p = m.position(trader.address)
        opening = not p.size or (p.size > 0) == (base_delta > 0) or base > abs(p.size)
        margin = 0
        if opening:
            open_part = (
                base if not p.size or (p.size > 0) == (base_delta > 0) else base - abs(p.size)
            )
            margin = m.vamm.mark * open_part // WAD // leverage
        self._trade(trader, market_id, base_delta, margin)

    @rule(market_id=st.sampled_from([0, 1]), fraction=st.floats(0.0, 1.0), short=st.booleans())
    def round_trip(self, market_id, fraction, short):
        """Open then close at once (no oracle or time change in between): the trader gets back at
        most the deposit minus both fees."""
        trader = self.round_tripper
        low, high = SIZES[market_id]
        base = (low + int((high - low) * fraction)) * (-1 if short else 1)
        vamm = self.vamms[market_id]
        deposit = vamm.mark_price() * abs(base) // WAD // 2 + WAD
        actions.fund(self.token, self.vault, trader, -(-deposit // 10**12) * 2)  # margin + fees
        before = self.vault.free_collateral(trader)
        opened = actions.trade(self.house, vamm, trader, market_id, base, deposit)
        closed = actions.close(self.house, vamm, trader, market_id)
        fees = opened.events["PositionChanged"]["fee"] + closed.events["PositionChanged"]["fee"]
        assert self.vault.free_collateral(trader) <= before - fees
        # the round trip leaves the vAMM exactly where it was: the model needs no update
        units = self.vault.free_collateral(trader) // self.vault.scale()
        self.vault.withdraw(units, {"from": trader})
        self.free[trader.address] = self.vault.free_collateral(trader)  # sub-unit dust
        TradingMachine.steps += 1

    @rule(who=st.integers(0, N_TRADERS - 1), market_id=st.sampled_from([0, 1]))
    def close(self, who, market_id):
        trader = self.traders[who]
        p = self.markets[market_id].position(trader.address)
        if p.size == 0:
            with brownie.reverts("ch: no position"):
                self.house.close_position(market_id, 0, actions.deadline(), {"from": trader})
            return
        self._trade(trader, market_id, -p.size, 0, close=True)

    @rule(
        who=st.integers(0, N_TRADERS - 1),
        market_id=st.sampled_from([0, 1]),
        share=st.floats(0.01, 0.5),
    )
    def move_margin(self, who, market_id, share):
        trader = self.traders[who]
        m = self.markets[market_id]
        p = m.position(trader.address)
        if p.size == 0:
            return
        trial = copy.deepcopy(p)
        owed, bad = m.settle_funding(trial)
        if bad:
            return  # bad debt belongs to liquidation; keep the model exact
        exit_notional, pnl = m.value(trial)
        index = self.oracle.price(market_id)[0]
        oracle_pnl = model.mul_div_signed(trial.size, index, WAD, False) - (
            trial.open_notional if trial.size > 0 else -trial.open_notional
        )
        required = model.mul_div(exit_notional, m.imr, WAD, True)
        spare = trial.margin + min(max(pnl, oracle_pnl), 0) - required
        if spare > 0:
            amount = max(1, int(spare * share))
            tx = self.house.remove_margin(market_id, amount, {"from": trader})
            trial.margin -= amount
            self.free[trader.address] += amount
        else:
            amount = min(self.free[trader.address], max(1, -spare + WAD))
            if amount == 0:
                return
            tx = self.house.add_margin(market_id, amount, {"from": trader})
            trial.margin += amount
            self.free[trader.address] -= amount
        assert tx.events["MarginChanged"]["funding_paid"] == owed
        m.positions[trader.address] = trial
        self._count_funding(owed, trial.size)
        TradingMachine.steps += 1

    @rule(market_id=st.sampled_from([0, 1]), move=st.integers(-50, 50))
    def move_oracle(self, market_id, move):
        """The spot price moves by `move` per mille."""
        feed = self.feeds[market_id]
        answer = feed.latestRoundData()[1]
        feed.set_answer(answer * (1000 + move) // 1000, {"from": self.traders[0]})
        TradingMachine.steps += 1

    @rule(minutes=st.integers(1, 90))
    def pass_time(self, minutes):
        """Time passes; Chainlink refreshes its answers and a keeper pokes the oracle."""
        chain_tools.advance(self.deployment, minutes * 60, self.traders[0], step=1800)
        TradingMachine.steps += 1
        for market_id in self.markets:  # the funding keeper settles what became due
            self._settle(market_id)

    @rule(market_id=st.sampled_from([0, 1]))
    def settle_funding(self, market_id):
        self._settle(market_id)

    def _settle(self, market_id):
        info = self.house.market(market_id)
        if chain.time() < info["last_funding_time"] + info["funding_period"] - 2:
            with brownie.reverts("ch: funding period not elapsed"):
                self.house.settle_funding(market_id, {"from": self.traders[0]})
            return
        fund = self.vault.insurance_fund()
        m = self.markets[market_id]
        longs = sum(p.size for p in m.positions.values() if p.size > 0)
        shorts = -sum(p.size for p in m.positions.values() if p.size < 0)
        try:
            tx = self.house.settle_funding(market_id, {"from": self.traders[0]})
        except brownie.exceptions.VirtualMachineError as exc:  # the period ends in the next block
            assert exc.revert_msg == "ch: funding period not elapsed"
            return
        ev = tx.events["FundingSettled"]
        TradingMachine.settlements += 1
        if ev["charged_seconds"]:
            premium, rate = model.funding_rate(
                ev["mark_twap"], ev["index_twap"], info["max_funding_rate"]
            )
            assert (ev["premium"], ev["rate"]) == (premium, rate)
            per_unit = model.funding_per_unit(rate, ev["charged_seconds"], ev["index_twap"])
            expected = model.split_funding(per_unit, longs, shorts, fund)
            assert (ev["long_funding"], ev["short_funding"], ev["insurance_delta"]) == expected
        if ev["long_funding"] or ev["short_funding"]:
            TradingMachine.funding_charges += 1
        m.cum_long += ev["long_funding"]
        m.cum_short += ev["short_funding"]
        self.insurance_funding += ev["insurance_delta"]
        self.roundings += 2
        TradingMachine.steps += 1

    def _trade(self, trader, market_id, base_delta, margin, close=False):
        m = self.markets[market_id]
        trial = copy.deepcopy(m)
        vamm = self.vamms[market_id]
        try:
            result = model.trade(trial, trader.address, base_delta, margin)
            expected = None
            if self.free[trader.address] + result.free_delta < 0:
                expected = "vault: insufficient free collateral"
        except model.ModelRevert as exc:
            expected = str(exc)
        limit = actions.quote_limit(vamm, base_delta, 0.0)
        if expected is not None:
            TradingMachine.rejected += 1
            with brownie.reverts(expected):
                self.house.open_position(
                    market_id, base_delta, margin, limit, actions.deadline(), {"from": trader}
                )
            return
        if close:
            self.house.close_position(market_id, limit, actions.deadline(), {"from": trader})
        else:
            self.house.open_position(
                market_id, base_delta, margin, limit, actions.deadline(), {"from": trader}
            )
        self.markets[market_id] = trial
        self.free[trader.address] += result.free_delta
        self._count_funding(result.funding, m.position(trader.address).size)
        TradingMachine.steps += 1

    def _count_funding(self, owed, size):
        if size != 0:
            self.funding_flow += owed
            self.roundings += 1

    # --- end of example: close everything ------------------------------------------------------

    def teardown(self):
        """Every trader closes every position and withdraws everything; the vault keeps at least
        the insurance fund and the fee pool."""
        for market_id, vamm in enumerate(self.vamms):
            for trader in self.traders:
                if self.house.position(trader, market_id)["size"] != 0:
                    actions.close(self.house, vamm, trader, market_id, slippage=1.0)
            assert vamm.net_base() == 0
        for trader in self.traders:
            units = self.vault.free_collateral(trader) // self.vault.scale()
            if units:
                self.vault.withdraw(units, {"from": trader})
        kept = self.token.balanceOf(self.vault) * self.vault.scale()
        assert kept >= self.vault.insurance_fund() + self.vault.fee_pool()
        assert self.vault.counterparty_balance() >= 0
        assert self.vault.total_margin() == 0


class TradingInvariants(TradingMachine):
    @invariant()
    def ledgers_vamms_and_positions(self):
        """One batched read per market (Lens) feeds every check."""
        TradingMachine.checks += 1
        led = self.lens.ledgers([*self.traders, self.round_tripper])
        total = led["total_free"] + led["total_margin"] + led["insurance_fund"] + led["fee_pool"]
        assert led["token_balance"] * led["scale"] == total + led["counterparty_balance"], (
            "accounting identity"
        )
        assert led["total_free"] == sum(self.free.values())
        margins = 0
        for market_id in self.markets:
            m = self.markets[market_id]
            view = self.lens.market(market_id)
            base, quote = view["base_reserve"], view["quote_reserve"]
            assert view["k"] == m.vamm.k and base * quote >= m.vamm.k, "k changed"
            assert (base, quote) == (m.vamm.base, m.vamm.quote)
            rows = self.lens.positions(market_id, self.traders)
            sizes = [r["size"] for r in rows]
            assert view["net_base"] == -sum(sizes), "net base"
            info = view
            assert info["long_open_interest"] == sum(s for s in sizes if s > 0)
            assert info["short_open_interest"] == -sum(s for s in sizes if s < 0)
            for row, t in zip(rows, self.traders, strict=True):
                expected = m.position(t.address)
                assert (row["size"], row["open_notional"], row["margin"]) == (
                    expected.size,
                    expected.open_notional,
                    expected.margin,
                )
                margins += expected.margin
        assert led["total_margin"] == margins
        pending = sum(
            model.position_funding(p.size, m.side_index(p.size) - p.last_index)
            for m in self.markets.values()
            for p in m.positions.values()
            if p.size != 0
        )
        open_positions = sum(
            1 for m in self.markets.values() for p in m.positions.values() if p.size
        )
        gap = self.funding_flow + pending - self.insurance_funding
        assert 0 <= gap <= self.roundings + open_positions, "funding conservation"


@pytest.fixture
def machine_context(deployment, accounts):
    # a one-minute funding period, so that examples of a few steps still settle funding
    for market_id in range(len(deployment.vamms)):
        deployment.clearing_house.set_funding_params(
            market_id, 60, WAD // 1000, 8 * 3600, {"from": accounts[0]}
        )
    TradingMachine.ctx = {
        "house": deployment.clearing_house,
        "vault": deployment.vault,
        "token": deployment.token,
        "vamms": deployment.vamms,
        "lens": deployment.lens,
        "oracle": deployment.oracle,
        "feeds": deployment.feeds,
        "deployment": deployment,
        "traders": [accounts[i] for i in range(2, 2 + N_TRADERS)],
        "round_tripper": accounts[2 + N_TRADERS],
    }
    chain.snapshot()
    yield
    chain.revert()


def test_trading_state_machine(machine_context):
    TradingMachine.steps = TradingMachine.rejected = TradingMachine.checks = 0
    TradingMachine.funding_charges = TradingMachine.settlements = 0
    run_state_machine_as_test(
        TradingInvariants,
        settings=settings(max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None),
    )
    print(
        f"\nstateful trading: {TradingMachine.steps} state-changing steps and "
        f"{TradingMachine.rejected} predicted reverts over {EXAMPLES} examples; "
        f"invariants checked {TradingMachine.checks} times; "
        f"{TradingMachine.settlements} funding settlements, "
        f"{TradingMachine.funding_charges} of which moved the indices"
    )
    assert TradingMachine.steps > EXAMPLES  # the machine really traded
    assert TradingMachine.funding_charges > 0  # and funding really moved
