# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title HouseKeeper
@notice The ClearingHouse's keeper operations: liquidation (`modules/liquidation.vy`) and the
        funding settlement (`modules/funding.vy`).
@dev Runs only by delegatecall from the ClearingHouse, in its storage (see `house_state`), so
     `self` is the ClearingHouse, `msg.sender` the keeper, and events come from the
     ClearingHouse. The ClearingHouse's entry points hold the reentrancy lock, so the functions
     here are `@reentrant`. Kept apart so that the ClearingHouse fits well under the 24 KB
     contract size limit; the cost is one delegatecall per keeper operation.
"""

from interfaces import IVault
from modules import bad_debt
from modules import funding
from modules import house_state
from modules import liquidation
from snekmate.auth import ownable
from snekmate.auth import ownable_2step

# the same order as in the ClearingHouse: the storage layouts must match
initializes: ownable
initializes: ownable_2step[ownable := ownable]
initializes: house_state
initializes: funding[house_state := house_state]
initializes: bad_debt[house_state := house_state, funding := funding]
initializes: liquidation[house_state := house_state, funding := funding, bad_debt := bad_debt]

_itself: immutable(address)


@deploy
def __init__(vault_: address, oracle_: address):
    """
    @param vault_ The ClearingHouse's vault.
    @param oracle_ The ClearingHouse's oracle adapter.
    """
    ownable.__init__()  # this contract's own storage is never used
    ownable_2step.__init__()
    house_state.__init__(vault_, oracle_)
    _itself = self


@external
@view
def vault() -> address:
    """
    @notice The vault this code was deployed for.
    """
    return house_state.vault


@external
@reentrant
def liquidate(trader: address, market_id: uint256) -> uint256:
    """
    @notice See `ClearingHouse.liquidate`.
    """
    assert self != _itself, "keeper: call through the clearing house"
    return liquidation._liquidate(trader, market_id, msg.sender)


@external
@reentrant
def settle_funding(market_id: uint256):
    """
    @notice See `ClearingHouse.settle_funding`.
    """
    assert self != _itself, "keeper: call through the clearing house"
    insurance_delta: int256 = funding._settle(market_id)
    if insurance_delta != 0:
        extcall IVault(house_state.vault).move(self, 0, 0, insurance_delta, 0)
