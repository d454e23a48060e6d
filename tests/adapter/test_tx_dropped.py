"""brownie_hooks section 6: a mined transaction whose receipt lags its nonce is not dropped.

The race is reproduced on purpose: the local chain mines each transaction as it is sent (so the
sender's nonce has already moved on), and web3's ``eth.get_transaction_receipt`` is wrapped to
answer "not found" for the first lookups of each transaction hash, as anvil does under load.
"""

import math
import time
from collections import Counter

import brownie
import pytest
from brownie import AdapterProbe, history, web3
from brownie.exceptions import TransactionError
from brownie.network.account import _PrivateKeyAccount
from brownie.network.transaction import Status, TransactionReceipt
from hexbytes import HexBytes
from web3.exceptions import TransactionNotFound

import brownie_hooks

# Brownie's first lookup concludes "dropped"; the fix must get past two more missing answers.
HIDDEN_LOOKUPS = 3


@pytest.fixture(scope="module")
def probe(owner):
    return AdapterProbe.deploy({"from": owner})


@pytest.fixture
def lagging_receipts(monkeypatch):
    """``hide(n)``: from now on the node answers "not found" to the first ``n`` receipt lookups of
    each transaction (``math.inf``: to all of them). Returns the lookup count per hash."""
    lookups = Counter()

    def hide(n):
        lookup = web3.eth.get_transaction_receipt

        def get_transaction_receipt(txid):
            key = HexBytes(txid).to_0x_hex()
            lookups[key] += 1
            if lookups[key] <= n:
                raise TransactionNotFound(f"Transaction with hash: '{key}' not found.")
            return lookup(txid)

        monkeypatch.setattr(web3.eth, "get_transaction_receipt", get_transaction_receipt)
        return lookups

    return hide


def test_dropped_tx_hooks__installed_once():
    hooks = (_PrivateKeyAccount._await_confirmation, TransactionReceipt.wait)
    assert all(getattr(hook, "_vperp", False) for hook in hooks)
    brownie_hooks._install_dropped_tx_hooks()
    assert (_PrivateKeyAccount._await_confirmation, TransactionReceipt.wait) == hooks
    # one layer deep: under each wrapper is Brownie's own method
    assert not any(getattr(hook.__wrapped__, "_vperp", False) for hook in hooks)


def test_receipt_lagging_nonce__call_confirmed_with_events(probe, owner, lagging_receipts):
    lookups = lagging_receipts(HIDDEN_LOOKUPS)
    tx = probe.store(7, {"from": owner})
    assert lookups[tx.txid] > HIDDEN_LOOKUPS  # the receipt was missing after the nonce moved on
    assert owner.nonce > tx.nonce
    assert tx.status == Status.Confirmed
    assert tx.block_number == web3.eth.block_number
    assert tx.events["Stored"]["caller"] == owner
    assert tx.events["Stored"]["amount"] == 7
    assert probe.stored() == 7
    assert history[-1] == tx  # Brownie's history forgets dropped transactions: it is back


def test_receipt_lagging_nonce__reverted_call_still_reverts(probe, owner, lagging_receipts):
    lookups = lagging_receipts(HIDDEN_LOOKUPS)
    with brownie.reverts("probe: zero value"):
        # a gas limit skips the estimate, so the reverting transaction is mined
        probe.store(0, {"from": owner, "gas_limit": 200_000})
    tx = history[-1]
    assert lookups[tx.txid] > HIDDEN_LOOKUPS
    assert tx.status == Status.Reverted
    assert tx.block_number == web3.eth.block_number


def test_receipt_lagging_nonce__wait_confirms_unconfirmed_tx(probe, owner, lagging_receipts):
    lookups = lagging_receipts(HIDDEN_LOOKUPS)
    tx = probe.store(9, {"from": owner, "required_confs": 0})
    # Brownie's background confirmation gives up first: it saw the nonce but no receipt
    assert tx._confirmed.wait(timeout=30)
    assert tx.status == Status.Dropped
    tx.wait(1)
    assert lookups[tx.txid] > HIDDEN_LOOKUPS
    assert tx.status == Status.Confirmed
    assert tx.events["Stored"]["amount"] == 9
    assert tx in history


def test_receipt_never_served__still_dropped(probe, owner, lagging_receipts, monkeypatch):
    monkeypatch.setattr(brownie_hooks, "RECEIPT_GRACE_SECONDS", 0.3)
    lookups = lagging_receipts(math.inf)
    started = time.monotonic()
    with pytest.raises(TransactionError, match="Tx dropped without known replacement") as error:
        probe.store(5, {"from": owner})
    assert time.monotonic() - started >= 0.3
    txid = str(error.value).rsplit(" ", 1)[-1]
    assert lookups[txid] > 2  # looked again during the grace period before giving up
    assert txid not in [tx.txid for tx in history]
