"""vperp.actions.deadline follows the chain's clock, not Brownie's."""

from brownie import chain

from tests.conftest import WAD
from vperp import actions
from vperp.chain_tools import at, now, one_block


def test_deadline__after_an_explicit_timestamp__stays_valid(house, eth, funded, trader):
    """An empty block mined 40 minutes ahead leaves Brownie's clock behind the chain by more
    than the deadline window; trades sent after it still meet their deadline."""
    with one_block(now() + 2400):
        pass
    assert chain.time() + actions.DEADLINE_SECONDS < now()  # Brownie's clock drifted
    assert actions.deadline() == now() + actions.DEADLINE_SECONDS
    tx = actions.trade(house, eth, trader, 0, WAD // 10, 100 * WAD)
    assert tx.status == 1


def test_deadline__inside_at__counts_from_the_scheduled_second(house, eth, funded, trader):
    target = now() + 2400
    with at(target):
        tx = actions.trade(house, eth, trader, 0, WAD // 10, 100 * WAD)
    assert tx.timestamp == target
    assert tx.status == 1
