# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title health
@notice The margin-health rules shared by the ClearingHouse (which acts on them) and the Lens
        (which reports them), so both always agree. A position is valued two ways: at the vAMM
        exit value (the quote closing it now would fetch, price impact included), which anyone
        can move within a block, and at the oracle price, which nobody can. Which valuation
        counts depends on who benefits when the check passes:
        * a check that lets risk grow or value leave (opening, increasing, flipping, removing
          margin) must pass under both, i.e. under the one less favourable to the trader, and
          positive unrealised PnL never counts (`_meets_initial`);
        * a check that takes a position away from its owner (liquidation) must hold under both,
          i.e. under the one more favourable to the trader (`_liquidatable`).
@dev Amounts are 18-decimal quote, sizes 18-decimal base, ratios WAD. Comparisons are exact
     (cross-multiplied, no division), so "exactly at the maintenance ratio" is not liquidatable.
"""

from modules import fixed_point

WAD: constant(uint256) = fixed_point.WAD


@internal
@pure
def _pnl(size: int256, open_notional: uint256, exit_notional: uint256) -> int256:
    """
    @dev Unrealised PnL of a position of `size` valued at `exit_notional`.
    """
    if size > 0:
        return convert(exit_notional, int256) - convert(open_notional, int256)
    return convert(open_notional, int256) - convert(exit_notional, int256)


@internal
@pure
def _oracle_notional(size: int256, index_price: uint256) -> uint256:
    """
    @dev |size| · index price: a long's rounds down, a short's up (both against the trader).
    """
    return fixed_point._mul_div(fixed_point._abs(size), index_price, WAD, size < 0)


@internal
@pure
def _meets_initial(
    equity: int256,
    size: int256,
    open_notional: uint256,
    vamm_exit: uint256,
    index_price: uint256,
    imr: uint256,
) -> bool:
    """
    @dev equity + min(unrealised PnL, 0) ≥ ⌈imr · notional⌉ at the vAMM exit value and at the
         oracle price, each with its own notional.
    """
    oracle_exit: uint256 = self._oracle_notional(size, index_price)
    return self._covers(
        equity, self._pnl(size, open_notional, vamm_exit), vamm_exit, imr
    ) and self._covers(equity, self._pnl(size, open_notional, oracle_exit), oracle_exit, imr)


@internal
@pure
def _covers(equity: int256, pnl: int256, notional: uint256, ratio: uint256) -> bool:
    required: uint256 = fixed_point._mul_div(notional, ratio, WAD, True)
    return equity + min(pnl, 0) >= convert(required, int256)


@internal
@pure
def _valuations(
    equity: int256, size: int256, open_notional: uint256, vamm_exit: uint256, index_price: uint256
) -> (int256, int256, uint256):
    """
    @dev (account value at the vAMM exit value, account value at the oracle price, oracle
         notional). `equity` is the margin after funding, negative when funding left bad debt.
         The oracle notional of a long rounds down, of a short up.
    """
    oracle_exit: uint256 = self._oracle_notional(size, index_price)
    return (
        equity + self._pnl(size, open_notional, vamm_exit),
        equity + self._pnl(size, open_notional, oracle_exit),
        oracle_exit,
    )


@internal
@pure
def _liquidatable(
    equity: int256,
    size: int256,
    open_notional: uint256,
    vamm_exit: uint256,
    index_price: uint256,
    mmr: uint256,
) -> bool:
    """
    @dev Below maintenance at both valuations, i.e. at the one more favourable to the trader.
    """
    vamm_value: int256 = 0
    oracle_value: int256 = 0
    oracle_exit: uint256 = 0
    vamm_value, oracle_value, oracle_exit = self._valuations(
        equity, size, open_notional, vamm_exit, index_price
    )
    return self._below(vamm_value, vamm_exit, mmr) and self._below(oracle_value, oracle_exit, mmr)


@internal
@pure
def _below(equity_value: int256, notional: uint256, ratio: uint256) -> bool:
    """
    @dev equity_value / notional < ratio, exactly.
    """
    return equity_value * convert(WAD, int256) < convert(ratio * notional, int256)


@internal
@pure
def _partial_amount(
    size_abs: uint256, equity_value: int256, notional: uint256, target: uint256, penalty: uint256
) -> uint256:
    """
    @dev Base to close so that the rest is back at `target` at its vAMM exit value, after the
         penalty. With vAMM exit values (path-independent), selling a slice for quote q leaves
         value − penalty·q over N − q, so the slice needs q* = (target·N − value) / (target −
         penalty). The slice is the same fraction f = q* / N of the base, rounded up: a long's
         first slice sells at the best prices, so it fetches at least q*. Needs
         penalty·N ≤ value < target·N (value = `equity_value`) and penalty < target.
    """
    num: uint256 = target * notional - convert(equity_value, uint256) * WAD
    den: uint256 = (target - penalty) * notional
    return min(fixed_point._mul_div(size_abs, num, den, True), size_abs)
