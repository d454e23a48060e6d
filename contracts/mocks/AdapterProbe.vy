# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title AdapterProbe
@notice Exercises every Vyper 0.4 feature the Brownie adapter must handle: a project `.vyi`
        interface, a project module and snekmate modules (`initializes:`, `exports:`).
        Test-only; it holds no funds.
"""

from interfaces import IProbe
from modules import fixed_point
from snekmate.auth import ownable
from snekmate.auth import ownable_2step

implements: IProbe

initializes: ownable
initializes: ownable_2step[ownable := ownable]

exports: (
    ownable_2step.owner,
    ownable_2step.pending_owner,
    ownable_2step.transfer_ownership,
    ownable_2step.accept_ownership,
)

stored: public(uint256)


@deploy
def __init__():
    ownable.__init__()
    ownable_2step.__init__()


@external
def store(amount: uint256):
    """
    @notice Store a non-zero value (owner only).
    @param amount The value to store.
    """
    ownable._check_owner()
    assert amount != 0, "probe: zero value"
    self.stored = amount
    log IProbe.Stored(caller=msg.sender, amount=amount)


@external
@view
def scaled(amount: uint256, roundup: bool) -> uint256:
    """
    @notice `amount` × 1.5 in 18-decimal fixed point, rounded as asked.
    """
    return fixed_point._mul_div(amount, 3 * fixed_point.WAD // 2, fixed_point.WAD, roundup)
