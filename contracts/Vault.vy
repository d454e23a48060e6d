# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title Vault
@notice Holds vperp's single collateral token and keeps every internal ledger in 18 decimals:
        each trader's free collateral, the margin locked in positions, the insurance fund, the fee
        pool and the vAMM counterparty's realised balance.
@dev Token units are converted to 18 decimals here and nowhere else, with a scale fixed at
     deploy. Deposits credit exactly the balance delta received and reject fee-on-transfer
     tokens. Tokens leave only through `withdraw` (pull-based): liquidations, PnL and fees only
     move internal balances, through `move`, which only the ClearingHouse may call and which
     conserves the sum of all ledgers. The vault has no owner and cannot be paused; markets are
     paused in the ClearingHouse.
     Accounting identity (tested every step): token balance × scale = Σ free collateral
     + total margin + insurance fund + fee pool + counterparty balance.
"""

from ethereum.ercs import IERC20
from ethereum.ercs import IERC20Detailed
from interfaces import IVault
from modules import packed

implements: IVault

MAX_DECIMALS: constant(uint8) = 18

collateral: public(immutable(address))
scale: public(immutable(uint256))
clearing_house: public(immutable(address))

free_collateral: public(HashMap[address, uint256])
# insurance fund (low 128 bits) | fee pool (high 128 bits)
_pools: uint256
# total position margin (low 128 bits) | counterparty balance, signed (high 128 bits)
_books: uint256


@deploy
def __init__(token: address, clearing_house_: address):
    """
    @param token The collateral ERC-20 (any decimals ≤ 18).
    @param clearing_house_ The only address allowed to move balances between ledgers.
    """
    assert token.is_contract, "vault: token is not a contract"
    assert clearing_house_ != empty(address), "vault: zero clearing house"
    decimals: uint8 = staticcall IERC20Detailed(token).decimals()
    assert decimals <= MAX_DECIMALS, "vault: more than 18 decimals"
    collateral = token
    scale = 10**convert(MAX_DECIMALS - decimals, uint256)
    clearing_house = clearing_house_


@external
@view
@reentrant
def insurance_fund() -> uint256:
    """
    @notice The insurance fund, 18 decimals.
    """
    return packed._lo(self._pools)


@external
@view
@reentrant
def fee_pool() -> uint256:
    """
    @notice Trading fees kept by the protocol, 18 decimals.
    """
    return packed._hi(self._pools)


@external
@view
@reentrant
def total_margin() -> uint256:
    """
    @notice Σ margin locked in open positions, 18 decimals.
    """
    return packed._lo(self._books)


@external
@view
@reentrant
def counterparty_balance() -> int256:
    """
    @notice What traders' realised PnL took from (negative) or paid to the vAMM side, 18 decimals.
    @dev Negative while winners have closed before losers; returns to zero (up to fees, funding and
         rounding, all in the protocol's favour) once every position is closed.
    """
    return packed._signed(packed._hi(self._books))


@external
def deposit(amount: uint256):
    """
    @notice Deposit `amount` token units; credits `amount × scale` to the caller's free collateral.
    @param amount Token units (e.g. 6 decimals for USDC); needs an allowance.
    """
    assert amount != 0, "vault: zero amount"
    before: uint256 = staticcall IERC20(collateral).balanceOf(self)
    assert extcall IERC20(collateral).transferFrom(
        msg.sender, self, amount, default_return_value=True
    ), "vault: transfer failed"
    received: uint256 = staticcall IERC20(collateral).balanceOf(self) - before
    assert received == amount, "vault: fee-on-transfer token"
    credited: uint256 = received * scale
    balance: uint256 = self.free_collateral[msg.sender] + credited
    self.free_collateral[msg.sender] = balance
    log IVault.Deposit(trader=msg.sender, amount=amount, credited=credited, free_collateral=balance)


@external
def withdraw(amount: uint256):
    """
    @notice Withdraw `amount` token units of the caller's free collateral.
    @dev Debits exactly `amount × scale`: sub-unit dust stays credited, never sent.
    @param amount Token units.
    """
    assert amount != 0, "vault: zero amount"
    debited: uint256 = amount * scale
    balance: uint256 = self.free_collateral[msg.sender]
    assert balance >= debited, "vault: insufficient free collateral"
    balance = unsafe_sub(balance, debited)  # checked just above
    self.free_collateral[msg.sender] = balance
    assert extcall IERC20(collateral).transfer(
        msg.sender, amount, default_return_value=True
    ), "vault: transfer failed"
    log IVault.Withdraw(trader=msg.sender, amount=amount, debited=debited, free_collateral=balance)


@external
def move(
    trader: address,
    free_delta: int256,
    margin_delta: int256,
    insurance_delta: int256,
    fee_delta: int256,
):
    """
    @notice Move value between ledgers for `trader` (ClearingHouse only).
    @dev The counterparty ledger takes minus the sum of the other deltas, so the sum of all
         ledgers never changes. Free collateral, margin, insurance fund and fee pool can never go
         negative; the counterparty balance can.
    """
    assert msg.sender == clearing_house, "vault: caller is not the clearing house"
    self._move(trader, free_delta, margin_delta, insurance_delta, fee_delta, 0)


@external
def move_with_reward(
    trader: address,
    free_delta: int256,
    margin_delta: int256,
    insurance_delta: int256,
    recipient: address,
    reward: uint256,
):
    """
    @notice `move` for a liquidation: also credits `reward` to `recipient`'s free collateral
            (ClearingHouse only). Internal balances only, so it works whatever the token does.
    @dev The reward's credit is logged once, by the ClearingHouse's `Liquidated` event
         (liquidator, reward); `LedgersMoved.counterparty_delta` includes it.
    """
    assert msg.sender == clearing_house, "vault: caller is not the clearing house"
    self._move(trader, free_delta, margin_delta, insurance_delta, 0, reward)
    if reward != 0:
        self.free_collateral[recipient] += reward


@internal
def _move(
    trader: address,
    free_delta: int256,
    margin_delta: int256,
    insurance_delta: int256,
    fee_delta: int256,
    reward: uint256,
):
    if free_delta != 0:
        free: int256 = convert(self.free_collateral[trader], int256) + free_delta
        assert free >= 0, "vault: insufficient free collateral"
        self.free_collateral[trader] = convert(free, uint256)
    counterparty_delta: int256 = -(
        free_delta + margin_delta + insurance_delta + fee_delta + convert(reward, int256)
    )
    if margin_delta != 0 or counterparty_delta != 0:
        books: uint256 = self._books
        margin: int256 = convert(packed._lo(books), int256) + margin_delta
        assert margin >= 0, "vault: margin ledger underflow"
        counterparty: int256 = packed._signed(packed._hi(books)) + counterparty_delta
        self._books = packed._pack(convert(margin, uint256), packed._signed_bits(counterparty))
    if insurance_delta != 0 or fee_delta != 0:
        pools: uint256 = self._pools
        insurance: int256 = convert(packed._lo(pools), int256) + insurance_delta
        assert insurance >= 0, "vault: insurance fund underflow"
        fees: int256 = convert(packed._hi(pools), int256) + fee_delta
        assert fees >= 0, "vault: fee pool underflow"
        self._pools = packed._pack(convert(insurance, uint256), convert(fees, uint256))
    log IVault.LedgersMoved(
        trader=trader,
        free_delta=free_delta,
        margin_delta=margin_delta,
        insurance_delta=insurance_delta,
        fee_delta=fee_delta,
        counterparty_delta=counterparty_delta,
    )
