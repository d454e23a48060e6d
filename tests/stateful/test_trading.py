"""Stateful fuzzing of trading, oracle moves and crashes, time, funding and liquidations against
the exact Python model (vperp.model).

Hypothesis's own RuleBasedStateMachine drives the Brownie contracts (Brownie 1.22's
`state_machine` fixture is broken): one chain snapshot after deployment, reverted at the start of
every example. After every step: the vault's accounting identity, k unchanged, vAMM net base =
−Σ sizes, open interest, every position equal to the model's, every funding settlement equal to
the model's, every liquidation equal to the model's, the Lens's liquidatable flag equal to the
model's rule for every position (below maintenance at both valuations: liquidatable; otherwise
not, and `liquidate` reverts), and funding conservation (Σ paid − Σ received = insurance-fund
funding delta + socialised bad debt, within one wei per position settlement and two per market
settlement or socialisation). At the end of every example, inside a snapshot: everyone closes and
withdraws, and the vault keeps at least insurance + fees − outstanding shortfall.
"""

import copy
import os
from math import isqrt

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
from vperp.chain_tools import send_in_one_block

N_TRADERS = 4
ARBITRAGEUR_DEPOSIT = 5_000_000  # USDC: enough to chase a crash with the vAMM
ADVERSARY_DEPOSIT = 2_000_000  # USDC, each of the two accounts that push the vAMM
# reverts that come from the vAMM's per-block rules, which the model leaves to the chain
BLOCK_RULES = {
    "vamm: price move limit",
    "vamm: trade too large",
    "vamm: no trades after a liquidation in this block",
    "vamm: price moved against the position in this block",
    "vamm: price move limit already crossed by a liquidation in this block",
    "ch: liquidated in this block",
}
EXPLOITS = ("open_against", "open_with", "remove_margin", "liquidate", "close")
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
    liquidations = 0
    crashes = 0
    manipulations = 0
    adversary_reverts: dict = {}

    def __init__(self):
        super().__init__()
        chain.revert()
        c = self.ctx
        self.house, self.vault, self.token = c["house"], c["vault"], c["token"]
        self.vamms = c["vamms"]
        self.lens = c["lens"]
        self.traders = c["traders"]
        self.markets, self.caps = {}, {}
        for market_id, vamm in enumerate(self.vamms):
            info = self.house.market(market_id)
            self.markets[market_id] = model.MarketModel.from_chain(info, vamm)
            self.caps[market_id] = (info["max_open_interest"], info["max_position_size"])
        self.free = {t.address: self.vault.free_collateral(t) for t in self.traders}
        self.round_tripper = c["round_tripper"]
        self.keeper = c["keeper"]
        self.arbitrageur = c["arbitrageur"]
        self.adversaries = c["adversaries"]
        # every account that holds positions
        self.holders = [*self.traders, self.arbitrageur, self.round_tripper, *self.adversaries]
        for extra in (self.round_tripper, self.keeper, self.arbitrageur, *c["adversaries"]):
            self.free[extra.address] = self.vault.free_collateral(extra)
        self.oracle, self.publishers = c["oracle"], c["publishers"]
        self.deployment = c["deployment"]
        self.funding_flow = 0  # Σ funding paid − Σ received by positions (settled)
        self.insurance_funding = 0  # Σ insurance-fund funding deltas
        self.roundings = 0  # position funding settlements + 2 per market settlement
        self.socialised = 0  # Σ ⌊per unit · open interest⌋ of socialised bad debt

    # --- funding accrual: the model is fed the oracle adapter's valid seconds at a block ------

    def _valid(self, market_id, block=None):
        """The oracle adapter's Σ valid seconds at `block` (default: the latest)."""
        if block is None:
            return self.oracle.cumulative(market_id)[1]
        return self.oracle.cumulative(market_id, block_identifier=block)[1]

    def _charge(self, m, market_id, block, fund):
        """Accrue the model's market `m` as the transaction in `block` did; returns the insurance
        fund's delta and books it for the conservation check."""
        before = (m.cum_long, m.cum_short)
        delta = m.accrue(self._valid(market_id, block), fund)
        if (m.cum_long, m.cum_short) != before:
            TradingMachine.funding_charges += 1
        self.insurance_funding += delta
        return delta

    # --- actions -------------------------------------------------------------------------------

    @initialize(
        amounts=st.lists(st.integers(1_000, 50_000), min_size=N_TRADERS, max_size=N_TRADERS),
        who=st.integers(0, N_TRADERS - 1),
        market_id=st.sampled_from([0, 1]),
        short=st.booleans(),
        move=st.sampled_from([80, 100]),
        exploit=st.sampled_from(EXPLOITS),
        same_block=st.booleans(),
    )
    def fund_everyone(self, amounts, who, market_id, short, move, exploit, same_block):
        # spot starts half a percent away from the perp, so every settlement has a premium
        for publisher, per_mille in zip(self.publishers, (994, 1006), strict=True):
            publisher.set_price(publisher.world * per_mille // 1000)
        for trader, amount in zip(self.traders, amounts, strict=True):
            actions.fund(self.token, self.vault, trader, amount * USDC)
            self.free[trader.address] += amount * USDC * 10**12
        actions.fund(self.token, self.vault, self.arbitrageur, ARBITRAGEUR_DEPOSIT * USDC)
        self.free[self.arbitrageur.address] += ARBITRAGEUR_DEPOSIT * USDC * 10**12
        for adversary in self.adversaries:
            actions.fund(self.token, self.vault, adversary, ADVERSARY_DEPOSIT * USDC)
            self.free[adversary.address] += ADVERSARY_DEPOSIT * USDC * 10**12
        # every example starts with one leveraged position caught by a move (a liquidation)
        self.leveraged_crash(who, market_id, short, move)
        # ... and one push of the vAMM by the adversary pair, around that market's positions
        self.manipulate(market_id, short, exploit, same_block, 1.0)

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
        """Open then close at once (no oracle move in between): the trader gets back at most the
        deposit minus both fees, plus the funding of the seconds it was open."""
        trader = self.round_tripper
        low, high = SIZES[market_id]
        base = (low + int((high - low) * fraction)) * (-1 if short else 1)
        vamm = self.vamms[market_id]
        deposit = vamm.mark_price() * abs(base) // WAD // 2 + WAD
        actions.fund(self.token, self.vault, trader, -(-deposit // 10**12) * 2)  # margin + fees
        self.free[trader.address] = before = self.vault.free_collateral(trader)
        if self.markets[market_id].position(trader.address).size != 0:
            return
        self._trade(trader, market_id, base, deposit)
        if self.markets[market_id].position(trader.address).size == 0:
            return  # refused (the model predicted why)
        opened = brownie.history[-1]
        self._trade(trader, market_id, -base, 0, close=True)
        closed = brownie.history[-1]
        fees = opened.events["PositionChanged"]["fee"] + closed.events["PositionChanged"]["fee"]
        earned = -closed.events["PositionChanged"]["funding_paid"]
        assert self.vault.free_collateral(trader) <= before - fees + max(earned, 0)
        units = self.vault.free_collateral(trader) // self.vault.scale()
        self.vault.withdraw(units, {"from": trader})
        self.free[trader.address] = self.vault.free_collateral(trader)  # sub-unit dust

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
        """Remove part of what both valuations allow, or add what is missing."""
        trader = self.traders[who]
        m = self.markets[market_id]
        p = m.position(trader.address)
        if p.size == 0:
            return
        index, status = self.oracle.price(market_id)
        trial = copy.deepcopy(m)
        trial.accrue(self._valid(market_id), self.vault.insurance_fund())
        q = copy.deepcopy(trial.position(trader.address))
        equity, _ = trial.apply_funding(q)
        exit_notional = trial.vamm.quote_for(-q.size)[0]
        spare = min(
            equity
            + min(model.pnl(q.size, q.open_notional, notional), 0)
            - model.mul_div(notional, m.imr, WAD, True)
            for notional in (exit_notional, model.oracle_notional(q.size, index))
        )
        if spare > 0 and status == 0:
            amount = -max(1, int(spare * share))
            tx = self.house.remove_margin(market_id, -amount, {"from": trader})
        else:
            amount = min(self.free[trader.address], max(1, -spare + WAD))
            if amount == 0:
                return
            tx = self.house.add_margin(market_id, amount, {"from": trader})
        self._replay_margin(tx, trader, market_id, amount, index)
        TradingMachine.steps += 1

    def _replay_margin(self, tx, trader, market_id, amount, index, fund=None):
        """Apply a margin change that succeeded on chain to the model, exactly; returns the
        insurance fund's delta. `fund`: the fund before it (default: read at the block before)."""
        m = self.markets[market_id]
        if fund is None:
            fund = self.vault.insurance_fund(block_identifier=tx.block_number - 1)
        accrual = self._charge(m, market_id, tx.block_number, fund)
        size = m.position(trader.address).size
        owed, _, insurance = model.margin_change(m, trader.address, amount, index, fund, accrual)
        assert tx.events["MarginChanged"]["funding_paid"] == owed
        self.free[trader.address] -= amount
        self._count_funding(owed, size)
        return insurance

    @rule(market_id=st.sampled_from([0, 1]), move=st.integers(-50, 50))
    def move_oracle(self, market_id, move):
        """The spot price moves by `move` per mille."""
        publisher = self.publishers[market_id]
        publisher.set_price(publisher.world * (1000 + move) // 1000)
        TradingMachine.steps += 1

    @rule(minutes=st.integers(1, 90))
    def pass_time(self, minutes):
        """Time passes; Chainlink refreshes its answers and a keeper pokes the oracle."""
        chain_tools.advance(self.deployment, minutes * 60, self.traders[0], poke_every=1800)
        TradingMachine.steps += 1
        for market_id in self.markets:  # the funding keeper settles what became due
            self._settle(market_id)

    @rule(market_id=st.sampled_from([0, 1]))
    def settle_funding(self, market_id):
        self._settle(market_id)

    @rule(
        market_id=st.sampled_from([0, 1]),
        move=st.sampled_from([-450, -200, -100, -60, 60, 100]),
    )
    def crash(self, market_id, move):
        """The spot price jumps by `move` per mille and the arbitrageur chases it with the vAMM
        at 8x leverage, as far as its free collateral, the position and open-interest caps and
        one block's price-move limit allow."""
        publisher = self.publishers[market_id]
        answer = publisher.world * (1000 + move) // 1000
        publisher.set_price(answer)
        TradingMachine.crashes += 1
        for _ in range(2):  # two blocks at most
            self._chase(market_id, answer)

    @rule(
        who=st.integers(0, N_TRADERS - 1),
        market_id=st.sampled_from([0, 1]),
        short=st.booleans(),
        move=st.sampled_from([80, 120, 200]),
    )
    def leveraged_crash(self, who, market_id, short, move):
        """A trader takes an 8x position, then spot moves `move` per mille against it, the
        arbitrageur chases it with the vAMM for two blocks, and a keeper sweeps."""
        trader = self.traders[who]
        m = self.markets[market_id]
        low, high = SIZES[market_id]
        base = (low + high) // 2
        self._trade(trader, market_id, -base if short else base, m.vamm.mark * base // WAD // 8)
        publisher = self.publishers[market_id]
        answer = publisher.world * (1000 + (move if short else -move)) // 1000
        publisher.set_price(answer)
        TradingMachine.crashes += 1
        for _ in range(2):
            self._chase(market_id, answer)
        self.keeper_sweep(market_id)

    def _chase(self, market_id, index):
        trader = self.arbitrageur
        m = self.markets[market_id]
        mark = m.vamm.mark
        target = max(min(index, mark * 109 // 100), mark * 91 // 100)
        delta = m.vamm.base - isqrt(m.vamm.k * WAD // target)
        size = m.position(trader.address).size
        max_oi, max_position = self.caps[market_id]
        side_oi = sum(q.size for q in m.positions.values() if (q.size > 0) == (delta > 0))
        room = min(
            self.free[trader.address] * 8 * WAD // (10 * target),  # 8x, 90 % of the collateral
            max_position - (abs(size) if (size > 0) == (delta > 0) else 0),
            max_oi - abs(side_oi),
        )
        room = max(room, 0)
        delta = max(min(delta, room), -room)
        opening = abs(delta)
        if size and (size > 0) != (delta > 0):
            opening = max(abs(delta) - abs(size), 0)
        margin = opening * target // WAD // 8 + WAD if opening else 0
        if abs(delta) * target // WAD > 2 * m.min_notional:
            self._trade(trader, market_id, delta, margin)

    @rule(who=st.integers(0, N_TRADERS), market_id=st.sampled_from([0, 1]))
    def liquidate(self, who, market_id):
        """A liquidation attempt on anyone: it succeeds exactly when the model says so."""
        self._liquidate(self.holders[who], market_id)

    @rule(market_id=st.sampled_from([0, 1]))
    def keeper_sweep(self, market_id):
        """A keeper liquidates every position the Lens flags."""
        for row in self.lens.positions(market_id, self.holders):
            if row["liquidatable"]:
                self._liquidate(brownie.accounts.at(row["trader"], force=True), market_id)

    # --- the adversary: two accounts that push the vAMM and act around the push ---------------

    @rule(
        market_id=st.sampled_from([0, 1]),
        up=st.booleans(),
        exploit=st.sampled_from(EXPLOITS),
        same_block=st.booleans(),
        strength=st.floats(0.2, 1.0),
    )
    def manipulate(self, market_id, up, exploit, same_block, strength):
        """Adversary A pushes the vAMM up to ~8 % (opening, or closing what it holds: closing
        has no limit), adversary B acts at the pushed price (opens against or with the push,
        removes margin, liquidates others, closes), and A unwinds; in one block (each
        transaction may fail on a per-block rule) or one block each. Every transaction that
        succeeds is replayed exactly in the model; every one that fails either broke a
        per-block rule or fails in the model for the same reason."""
        index, status = self.oracle.price(market_id)
        if status != 0:
            return
        a, b = self.adversaries
        m = self.markets[market_id]
        mark = m.vamm.mark
        target = int(mark * (1 + (0.08 if up else -0.08) * strength))
        push = m.vamm.base - isqrt(m.vamm.k * WAD // target)
        if push == 0:
            return
        ops = [("trade", a, push, self._margin_for(m, a.address, push, 4))]
        size_b = m.position(b.address).size
        part = abs(push) // 2
        direction = 1 if push > 0 else -1
        if exploit == "open_against" and part:
            ops.append(("trade", b, -direction * part, self._margin_for(m, b.address, -push, 3)))
        elif exploit == "open_with" and part:
            ops.append(("trade", b, direction * part, self._margin_for(m, b.address, push, 9)))
        elif exploit == "remove_margin" and size_b:
            ops.append(("remove", b, max(m.position(b.address).margin // 3, 1), 0))
        elif exploit == "liquidate":
            others = [h for h in self.holders if h not in self.adversaries]
            open_ = [h for h in others if m.position(h.address).size][:3]
            ops.extend(("liquidate", h, 0, 0) for h in open_)
        elif exploit == "close" and size_b:
            ops.append(("close", b, -size_b, 0))
        after_push = m.position(a.address).size + push
        ops.append(("trade", a, -push, self._margin_for_size(m, after_push, -push, 4)))
        TradingMachine.manipulations += 1
        if same_block:
            gas = {"required_confs": 0, "gas_limit": 2_000_000}
            txs = send_in_one_block(*[lambda op=op: self._send(op, market_id, gas) for op in ops])
        else:
            txs = []
            for op in ops:  # one block each
                try:
                    txs.append(self._send(op, market_id, {"gas_limit": 2_000_000}))
                except brownie.exceptions.VirtualMachineError as exc:
                    txs.append(chain.get_transaction(exc.txid))
        fund = self.vault.insurance_fund(block_identifier=txs[0].block_number - 1)
        if same_block:  # margin checks also value at the reserves before the block's trades
            self.markets[market_id].vamm.reference_base = self.markets[market_id].vamm.base
        for op, tx in zip(ops, txs, strict=True):
            if not same_block:
                fund = self.vault.insurance_fund(block_identifier=tx.block_number - 1)
            fund += self._replay_op(op, tx, market_id, index, fund)
        self.markets[market_id].vamm.reference_base = None

    def _margin_for(self, m, who, delta, leverage):
        """Margin for the part of `delta` that opens exposure for `who`, at `leverage`x of the
        current mark (the oracle valuation may ask for more: then the model predicts the
        revert)."""
        return self._margin_for_size(m, m.position(who).size, delta, leverage)

    @staticmethod
    def _margin_for_size(m, size, delta, leverage):
        opening = abs(delta)
        if size and (size > 0) != (delta > 0):
            opening = max(abs(delta) - abs(size), 0)
        return opening * m.vamm.mark // WAD // leverage + WAD if opening else 0

    def _send(self, op, market_id, options):
        kind, who, amount, margin = op
        tx_options = {"from": who, **options}
        if kind in ("trade", "close"):
            limit = 2**255 if amount > 0 else 0
            if kind == "close":
                return self.house.close_position(market_id, limit, actions.deadline(), tx_options)
            return self.house.open_position(
                market_id, amount, margin, limit, actions.deadline(), tx_options
            )
        if kind == "remove":
            return self.house.remove_margin(market_id, amount, tx_options)
        return self.house.liquidate(who, market_id, {"from": self.adversaries[1], **options})

    def _replay_op(self, op, tx, market_id, index, fund):
        """Replay one adversarial transaction in the model; returns the fund's delta."""
        kind, who, amount, margin = op
        if tx.status == 1:
            if kind in ("trade", "close"):
                return self._replay_trade(tx, who, market_id, amount, margin, index, fund)
            if kind == "remove":
                return self._replay_margin(tx, who, market_id, -amount, index, fund)
            return self._replay_liquidation(tx, who, market_id, index, fund, self.adversaries[1])
        reason = tx.revert_msg
        TradingMachine.adversary_reverts[reason] = (
            TradingMachine.adversary_reverts.get(reason, 0) + 1
        )
        if reason in BLOCK_RULES:
            return 0
        trial = copy.deepcopy(self.markets[market_id])
        try:
            accrual = trial.accrue(self._valid(market_id, tx.block_number), fund)
            if kind in ("trade", "close"):
                result = model.trade(trial, who.address, amount, margin, fund, index, accrual)
                if self.free[who.address] + result.free_delta < 0:
                    raise model.ModelRevert("vault: insufficient free collateral")
            elif kind == "remove":
                model.margin_change(trial, who.address, -amount, index, fund, accrual)
            else:
                model.liquidate(trial, who.address, index, fund, accrual)
        except model.ModelRevert as exc:
            assert str(exc) == reason, (kind, str(exc), reason)
            return 0
        raise AssertionError(f"{kind} reverted with {reason!r}; the model accepts it")

    def _liquidate(self, trader, market_id):
        m = self.markets[market_id]
        p = m.position(trader.address)
        index, status = self.oracle.price(market_id)
        if p.size == 0:
            with brownie.reverts("ch: no position"):
                self.house.liquidate(trader, market_id, {"from": self.keeper})
            return
        if status != 0:
            with brownie.reverts():
                self.house.liquidate(trader, market_id, {"from": self.keeper})
            return
        trial = copy.deepcopy(m)
        fund = self.vault.insurance_fund()
        accrual = trial.accrue(self._valid(market_id), fund)
        try:
            model.liquidate(trial, trader.address, index, fund, accrual)
        except model.ModelRevert as exc:
            with brownie.reverts(str(exc)):
                self.house.liquidate(trader, market_id, {"from": self.keeper})
            return
        tx = self.house.liquidate(trader, market_id, {"from": self.keeper})
        self._replay_liquidation(tx, trader, market_id, index)

    def _replay_liquidation(self, tx, trader, market_id, index, fund=None, liquidator=None):
        """Apply a liquidation that succeeded on chain to the model, exactly, and compare;
        returns the insurance fund's delta."""
        size, fund, trial, accrual = self._replay_start(tx, trader, market_id, fund)
        before = trial.cum_long
        expected = model.liquidate(trial, trader.address, index, fund, accrual)
        ev = tx.events["Liquidated"]
        assert (ev["base_closed"], ev["quote_amount"], ev["realised_pnl"]) == (
            expected.closed,
            expected.quote,
            expected.realised,
        )
        assert (ev["penalty"], ev["reward"], ev["bad_debt"], ev["funding_paid"]) == (
            expected.penalty,
            expected.reward,
            expected.bad_debt,
            expected.funding,
        )
        if expected.bad_debt:
            debt = tx.events["BadDebt"]
            assert (debt["covered_by_insurance"], debt["socialised"]) == (
                expected.covered,
                expected.socialised,
            )
        per_unit = trial.cum_long - before
        if per_unit:
            total = sum(abs(q.size) for q in trial.positions.values())
            self.socialised += per_unit * total // WAD
            self.roundings += 2
        self.markets[market_id] = trial
        self.free[trader.address] += expected.free_delta
        self.free[(liquidator or self.keeper).address] += expected.reward
        self._count_funding(expected.funding, size)
        TradingMachine.liquidations += 1
        TradingMachine.steps += 1
        return expected.insurance_delta

    def _settle(self, market_id):
        info = self.house.market(market_id)
        now = chain[-1].timestamp
        if now < info["last_funding_time"] + info["funding_period"] - 2:
            with brownie.reverts("ch: funding period not elapsed"):
                self.house.settle_funding(market_id, {"from": self.traders[0]})
            return
        fund = self.vault.insurance_fund()
        m = self.markets[market_id]
        try:
            tx = self.house.settle_funding(market_id, {"from": self.traders[0]})
        except brownie.exceptions.VirtualMachineError as exc:  # the period ends in the next block
            assert exc.revert_msg == "ch: funding period not elapsed"
            return
        ev = tx.events["FundingSettled"]
        TradingMachine.settlements += 1
        valid = self._valid(market_id, tx.block_number)
        accrual = self._charge(m, market_id, tx.block_number, fund)
        assert ev["insurance_delta"] == accrual
        per_hour = 0
        if ev["charged_seconds"]:
            premium, rate = model.funding_rate(
                ev["mark_twap"], ev["index_twap"], info["max_funding_rate"]
            )
            assert (ev["premium"], ev["rate"]) == (premium, rate)
            per_hour = model.mul_div_signed(rate, ev["index_twap"], WAD, False)
        assert ev["funding_per_hour"] == per_hour
        m.funding_per_hour = per_hour
        m.accrued_valid = max(valid, m.accrued_valid)
        m.valid_cap = valid + info["max_funding_interval"]
        self.roundings += 2
        TradingMachine.steps += 1

    def _trade(self, trader, market_id, base_delta, margin, close=False):
        m = self.markets[market_id]
        trial = copy.deepcopy(m)
        vamm = self.vamms[market_id]
        index, status = self.oracle.price(market_id)
        fund = self.vault.insurance_fund()
        try:
            accrual = trial.accrue(self._valid(market_id), fund)
            result = model.trade(trial, trader.address, base_delta, margin, fund, index, accrual)
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
            tx = self.house.close_position(market_id, limit, actions.deadline(), {"from": trader})
        else:
            tx = self.house.open_position(
                market_id, base_delta, margin, limit, actions.deadline(), {"from": trader}
            )
        self._replay_trade(tx, trader, market_id, base_delta, margin, index)

    def _replay_start(self, tx, trader, market_id, fund):
        """What every replay starts from: (the trader's size before, the insurance fund before
        `tx` (read at the block before unless given), a copy of the market's model accrued as
        `tx` accrued it, that accrual's insurance delta)."""
        m = self.markets[market_id]
        if fund is None:
            fund = self.vault.insurance_fund(block_identifier=tx.block_number - 1)
        trial = copy.deepcopy(m)
        accrual = self._charge(trial, market_id, tx.block_number, fund)
        return m.position(trader.address).size, fund, trial, accrual

    def _replay_trade(self, tx, trader, market_id, base_delta, margin, index, fund=None):
        """Apply a trade that succeeded on chain to the model, exactly, and compare; returns
        the insurance fund's delta."""
        size, fund, trial, accrual = self._replay_start(tx, trader, market_id, fund)
        after_accrual = trial.cum_long
        result = model.trade(trial, trader.address, base_delta, margin, fund, index, accrual)
        ev = tx.events["PositionChanged"]
        assert (ev["quote_amount"], ev["fee"], ev["funding_paid"], ev["bad_debt"]) == (
            result.quote,
            result.fee,
            result.funding,
            result.bad_debt,
        )
        per_unit = trial.cum_long - after_accrual  # bad debt socialised by a close
        if per_unit:
            total = sum(abs(q.size) for q in trial.positions.values())
            self.socialised += per_unit * total // WAD
            self.roundings += 2
        self.markets[market_id] = trial
        self.free[trader.address] += result.free_delta
        self._count_funding(result.funding, size)
        TradingMachine.steps += 1
        return result.insurance_delta

    def _count_funding(self, owed, size):
        if size != 0:
            self.funding_flow += owed
            self.roundings += 1

    # --- end of example: close everything ------------------------------------------------------

    def teardown(self):
        """Every trader closes every position and withdraws everything; the vault keeps at least
        the insurance fund and the fee pool."""
        for market_id, vamm in enumerate(self.vamms):
            for trader in self.holders:
                if self.house.position(trader, market_id)["size"] != 0:
                    actions.close(self.house, vamm, trader, market_id, slippage=1.0)
            assert vamm.net_base() == 0
        for trader in self.holders:
            units = self.vault.free_collateral(trader) // self.vault.scale()
            if units:
                self.vault.withdraw(units, {"from": trader})
        kept = self.token.balanceOf(self.vault) * self.vault.scale()
        outstanding = self.house.total_shortfall()
        assert kept + outstanding >= self.vault.insurance_fund() + self.vault.fee_pool()
        assert self.vault.counterparty_balance() + outstanding >= 0
        assert self.vault.total_margin() == 0


class TradingInvariants(TradingMachine):
    @invariant()
    def ledgers_vamms_and_positions(self):
        """One batched read per market (Lens) feeds every check."""
        TradingMachine.checks += 1
        led = self.lens.ledgers([*self.holders, self.keeper])
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
            rows = self.lens.positions(market_id, self.holders)
            sizes = [r["size"] for r in rows]
            assert view["net_base"] == -sum(sizes), "net base"
            info = view
            assert info["long_open_interest"] == sum(s for s in sizes if s > 0)
            assert info["short_open_interest"] == -sum(s for s in sizes if s < 0)
            chain_info = self.house.market(market_id)
            assert (
                chain_info["cumulative_long_funding"],
                chain_info["cumulative_short_funding"],
                chain_info["funding_per_hour"],
            ) == (m.cum_long, m.cum_short, m.funding_per_hour), "funding indices"
            index, status = self.oracle.price(market_id)
            for row, t in zip(rows, self.holders, strict=True):
                expected = m.position(t.address)
                assert (row["size"], row["open_notional"], row["margin"]) == (
                    expected.size,
                    expected.open_notional,
                    expected.margin,
                )
                margins += expected.margin
                # below maintenance at both valuations ⇔ flagged liquidatable
                flagged = status == 0 and model.is_liquidatable(m, expected, index)
                assert row["liquidatable"] == flagged, "liquidatable flag"
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
        gap = self.funding_flow + pending - self.insurance_funding - self.socialised
        assert 0 <= gap <= self.roundings + open_positions, "funding conservation"


def _extra_account(accounts):
    """An eleventh account (the local chain starts with ten), with ether for gas."""
    extra = accounts.add("0x" + "5e" * 32)
    if extra.balance() == 0:
        accounts[0].transfer(extra, 10**18)
    return extra


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
        "publishers": deployment.publishers,
        "deployment": deployment,
        "traders": [accounts[i] for i in range(2, 2 + N_TRADERS)],
        "round_tripper": accounts[2 + N_TRADERS],
        "keeper": accounts[3 + N_TRADERS],
        "arbitrageur": accounts[4 + N_TRADERS],
        "adversaries": [accounts[9], _extra_account(accounts)],
    }
    chain.snapshot()
    yield
    chain.revert()


def test_trading_state_machine(machine_context):
    TradingMachine.steps = TradingMachine.rejected = TradingMachine.checks = 0
    TradingMachine.funding_charges = TradingMachine.settlements = 0
    TradingMachine.liquidations = TradingMachine.crashes = 0
    TradingMachine.manipulations = 0
    TradingMachine.adversary_reverts = {}
    run_state_machine_as_test(
        TradingInvariants,
        settings=settings(max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None),
    )
    print(
        f"\nstateful trading: {TradingMachine.steps} state-changing steps and "
        f"{TradingMachine.rejected} predicted reverts over {EXAMPLES} examples; "
        f"invariants checked {TradingMachine.checks} times; "
        f"{TradingMachine.settlements} funding settlements, "
        f"{TradingMachine.funding_charges} of which moved the indices; "
        f"{TradingMachine.crashes} crashes, {TradingMachine.liquidations} liquidations; "
        f"{TradingMachine.manipulations} vAMM manipulations, their refused transactions: "
        f"{TradingMachine.adversary_reverts}"
    )
    assert TradingMachine.steps > EXAMPLES  # the machine really traded
    assert TradingMachine.funding_charges > 0  # and funding really moved
    assert TradingMachine.liquidations > 0  # and positions were really liquidated
    assert TradingMachine.manipulations >= EXAMPLES  # and the adversary really pushed the vAMM
