"""Trading agents shared by the simulation and the integration tests."""

from __future__ import annotations

import math
from dataclasses import dataclass

from vperp import actions

WAD = 10**18


@dataclass
class BasisArbitrageur:
    """Trades the perp toward the index when funding pays for it: shorts while the mark is above
    the index (positive funding), longs while it is below. Each action closes `aggression` of the
    gap, within `max_trade` base per action and its free collateral at `leverage`."""

    account: object
    house: object
    vamm: object
    oracle: object
    market_id: int
    aggression: float = 0.3
    max_trade: int = 50 * WAD
    leverage: int = 4

    def basis(self) -> tuple[int, int]:
        """(mark, index) now, 18 decimals."""
        index, status = self.oracle.price(self.market_id)
        if status != 0:
            raise RuntimeError(f"oracle status {status}")
        return self.vamm.mark_price(), index

    def target_trade(self) -> int:
        """Base to trade now (> 0 buy, < 0 sell) to move the mark `aggression` of the way."""
        mark, index = self.basis()
        base, quote = self.vamm.reserves()
        target = mark - (mark - index) * self.aggression
        # x·y = k: price = k / base²  →  base = sqrt(k / price)
        new_base = math.isqrt(base * quote * WAD // int(target))
        delta = base - new_base  # > 0: buy base (price up)
        return max(-self.max_trade, min(self.max_trade, delta))

    def act(self):
        """Trade toward the index if the gap is worth it; returns the receipt or None."""
        delta = self.target_trade()
        mark, _ = self.basis()
        notional = abs(delta) * mark // WAD
        if notional < 20 * WAD:
            return None
        return actions.trade(
            self.house,
            self.vamm,
            self.account,
            self.market_id,
            delta,
            notional // self.leverage,
            slippage=0.05,
        )
