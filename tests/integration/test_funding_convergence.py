"""Convergence: with the mark above the index, an arbitrageur who shorts while funding is positive
shrinks the basis period after period (real transactions on the local chain)."""

from tests.conftest import WAD
from vperp import actions
from vperp.agents import BasisArbitrageur

HOUR = 3600


def test_basis_shrinks_each_funding_period(deployment, advance, funded, trader, other_trader):
    house, eth, oracle = deployment.clearing_house, deployment.vamms[0], deployment.oracle
    # a crowd of longs pushes the perp 4 % above spot
    actions.trade(house, eth, trader, 0, 200 * WAD, 50_000 * WAD)
    arb = BasisArbitrageur(other_trader, house, eth, oracle, 0, aggression=0.3, max_trade=60 * WAD)
    advance(HOUR)
    house.settle_funding(0, {"from": other_trader})
    basis = []
    paid_by_longs = []
    for _ in range(5):
        mark, index = arb.basis()
        basis.append(mark - index)
        arb.act()
        advance(HOUR, step=1200)
        tx = house.settle_funding(0, {"from": other_trader})
        settled = tx.events["FundingSettled"]
        paid_by_longs.append(settled["funding_per_hour"])
        assert settled["rate"] > 0  # longs keep paying the arbitrageur while the mark is above
    mark, index = arb.basis()
    basis.append(mark - index)
    assert all(later < earlier for earlier, later in zip(basis, basis[1:], strict=False)), basis
    assert basis[-1] < basis[0] // 4
    assert paid_by_longs[-1] < paid_by_longs[0]  # the rate falls with the basis
    assert house.pending_funding(other_trader, 0) < 0  # the short arbitrageur is owed funding
    print("\nbasis per funding period (USD):", [round(b / WAD, 2) for b in basis])
