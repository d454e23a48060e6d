from fractions import Fraction

import brownie
import pytest
from brownie import Vamm, chain

from vperp.chain_tools import send_in_one_block

WAD = 10**18
BASE, QUOTE = 100 * WAD, 200_000 * WAD  # price 2000
FREE, OPENING, LIQUIDATION = 0, 1, 2  # swap modes


@pytest.fixture(scope="module")
def amm(owner):
    """A Vamm whose clearing house is `owner`, so tests can swap directly."""
    return Vamm.deploy(owner, BASE, QUOTE, WAD // 10, WAD // 10, {"from": owner})


def test_swap__buy_quote_in_rounds_up_and_keeps_k(amm, owner):
    quote = amm.swap(WAD, OPENING, {"from": owner}).return_value[0]
    base, new_quote = amm.reserves()
    assert base == BASE - WAD
    assert new_quote == -(-amm.k() // base)  # ceil(k / base)
    assert quote == new_quote - QUOTE
    assert base * new_quote >= amm.k()
    assert amm.k() == BASE * QUOTE


def test_swap__sell_quote_out_rounds_down(amm, owner):
    quote = amm.swap(-3 * WAD, OPENING, {"from": owner}).return_value[0]
    base, new_quote = amm.reserves()
    assert base == BASE + 3 * WAD
    exact_out = QUOTE - Fraction(amm.k(), base)
    assert quote <= exact_out < quote + 1
    assert quote == QUOTE - new_quote


def test_swap__round_trip_returns_exactly_what_was_paid(amm, owner):
    paid = amm.swap(3 * WAD, OPENING, {"from": owner}).return_value[0]
    received = amm.swap(-3 * WAD, FREE, {"from": owner}).return_value[0]
    assert received == paid
    assert list(amm.reserves()) == [BASE, QUOTE]


def test_swap__net_base_is_minus_trader_sizes(amm, owner):
    amm.swap(4 * WAD, OPENING, {"from": owner})
    amm.swap(-WAD, OPENING, {"from": owner})
    assert amm.net_base() == -3 * WAD


def test_swap__only_clearing_house(amm, attacker):
    with brownie.reverts("vamm: caller is not the clearing house"):
        amm.swap(WAD, OPENING, {"from": attacker})


def test_swap__zero__reverts(amm, owner):
    with brownie.reverts("vamm: zero trade"):
        amm.swap(0, OPENING, {"from": owner})


def test_swap__too_large_when_limited__reverts(amm, owner):
    with brownie.reverts("vamm: trade too large"):
        amm.swap(BASE // 10 + 1, OPENING, {"from": owner})


def test_swap__price_move_limit__one_trade_beyond__reverts(amm, owner):
    # 5 base of 100 moves the price by (100/95)^2 - 1 = 10.8 % > 10 %
    with brownie.reverts("vamm: price move limit"):
        amm.swap(5 * WAD, OPENING, {"from": owner})


def test_swap__price_move_limit__measured_from_the_blocks_first_price(amm, owner):
    """4 base moves the price 8.5 %; a second opening trade in the same block that takes the
    price past 10 % from the block's first price reverts, however small."""
    first, second = send_in_one_block(
        lambda: amm.swap(4 * WAD, OPENING, {"from": owner, "required_confs": 0}),
        lambda: amm.swap(WAD, OPENING, {"from": owner, "required_confs": 0, "gas_limit": 500_000}),
    )
    assert first.status == 1 and first.block_number == second.block_number
    assert second.status == 0 and second.revert_msg == "vamm: price move limit"


def test_swap__price_move_limit__reducing_trades_not_limited(amm, owner):
    amm.swap(-12 * WAD, FREE, {"from": owner})  # ~20 % down, allowed without limits
    assert amm.mark_price() < 2000 * WAD * 8 // 10


def test_swap__liquidation__may_cross_the_price_move_limit_once_per_block(amm, owner):
    """A liquidation may end ~20 % away from the block's first price; a second liquidation
    going further in the same block reverts; the next block allows one again."""
    first, second = send_in_one_block(
        lambda: amm.swap(-12 * WAD, LIQUIDATION, {"from": owner, "required_confs": 0}),
        lambda: amm.swap(
            -WAD, LIQUIDATION, {"from": owner, "required_confs": 0, "gas_limit": 500_000}
        ),
    )
    assert first.status == 1 and first.block_number == second.block_number
    assert second.status == 0
    assert (
        second.revert_msg == "vamm: price move limit already crossed by a liquidation in this block"
    )
    amm.swap(-12 * WAD, LIQUIDATION, {"from": owner})  # a new block: allowed again


def test_swap__liquidation__inside_the_limit_is_not_counted(amm, owner):
    """Liquidations that stay inside the limit do not use up the block's one crossing."""
    pending = {"from": owner, "required_confs": 0, "gas_limit": 500_000}
    txs = send_in_one_block(
        lambda: amm.swap(-WAD, LIQUIDATION, pending),
        lambda: amm.swap(-WAD, LIQUIDATION, pending),
        lambda: amm.swap(-12 * WAD, LIQUIDATION, pending),
    )
    assert [tx.status for tx in txs] == [1, 1, 1]
    assert len({tx.block_number for tx in txs}) == 1


def test_swap__liquidation__no_trade_size_limit(amm, owner):
    amm.swap(-(BASE // 10 + WAD), LIQUIDATION, {"from": owner})


def test_swap__price_move_limit__resets_next_block(amm, owner):
    amm.swap(4 * WAD, OPENING, {"from": owner})
    chain.mine()
    amm.swap(WAD, OPENING, {"from": owner})


def test_swap__buy_all_base__reverts(amm, owner):
    with brownie.reverts("vamm: not enough base liquidity"):
        amm.swap(BASE, FREE, {"from": owner})


def test_cumulative_mark__accumulates_price_times_seconds(amm, owner):
    start, t0 = amm.cumulative_mark()
    chain.sleep(100)
    chain.mine()
    cum, t1 = amm.cumulative_mark()
    assert cum - start == 2000 * WAD * (t1 - t0)
    price_before = amm.mark_price()
    tx = amm.swap(WAD, OPENING, {"from": owner})
    chain.sleep(50)
    chain.mine()
    cum2, t2 = amm.cumulative_mark()
    t_swap = tx.timestamp
    assert cum2 == start + price_before * (t_swap - t0) + amm.mark_price() * (t2 - t_swap)


def test_quote_for__matches_swap(amm, owner):
    expected = amm.quote_for(-2 * WAD)
    assert amm.swap(-2 * WAD, OPENING, {"from": owner}).return_value[0] == expected


def _one_block(amm, owner, *trades):
    """Swaps (base delta, mode) sent in one block; their receipts."""
    pending = {"from": owner, "required_confs": 0, "gas_limit": 500_000}
    return send_in_one_block(*[lambda t=t: amm.swap(t[0], t[1], pending) for t in trades])


def test_swap__liquidation__moving_back_toward_the_reference_after_a_crossing_passes(amm, owner):
    """After a liquidation crossed the limit, another one that moves the price back toward the
    block's reference passes even while still beyond the limit; one going further does not."""
    txs = _one_block(
        amm, owner, (-12 * WAD, LIQUIDATION), (2 * WAD, LIQUIDATION), (-WAD, LIQUIDATION)
    )
    assert [tx.status for tx in txs] == [1, 1, 0]
    assert amm.mark_price() < 2000 * WAD * 9 // 10  # still beyond the 10 % limit
    assert txs[2].revert_msg == (
        "vamm: price move limit already crossed by a liquidation in this block"
    )


def test_swap__opening_toward_the_reference_beyond_the_limit_passes(amm, owner):
    """A close pushed the price 20 % down (closing is free); an opening buy in the same block
    brings it back toward the reference and passes, although still beyond the limit."""
    txs = _one_block(amm, owner, (-12 * WAD, FREE), (WAD, OPENING), (-WAD, OPENING))
    assert [tx.status for tx in txs] == [1, 1, 0]
    assert txs[2].revert_msg == "vamm: price move limit"


def test_swap__no_trade_after_a_liquidation_in_the_same_block(amm, owner):
    txs = _one_block(amm, owner, (-WAD, LIQUIDATION), (WAD, FREE), (WAD, OPENING))
    assert [tx.status for tx in txs] == [1, 0, 0]
    assert {tx.revert_msg for tx in txs[1:]} == {
        "vamm: no trades after a liquidation in this block"
    }
    chain.mine()
    assert amm.liquidated_in_block() is False  # a new block
    amm.swap(WAD, OPENING, {"from": owner})


def test_swap__liquidation_after_other_trades_in_its_block__passes(amm, owner):
    """Trades before a liquidation in its block do not block it (dust cannot grief keepers);
    the ClearingHouse bounds its fill by the oracle price instead."""
    txs = _one_block(amm, owner, (-WAD, FREE), (-WAD, OPENING), (-WAD, LIQUIDATION))
    assert [tx.status for tx in txs] == [1, 1, 1]


def test_swap__returns_the_mark_after_the_trade(amm, owner):
    tx = amm.swap(WAD, OPENING, {"from": owner})
    assert tx.return_value[1] == amm.mark_price()


def test_initial_base(amm, owner):
    amm.swap(WAD, OPENING, {"from": owner})
    assert amm.initial_base() == BASE
