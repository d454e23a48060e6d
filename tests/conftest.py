"""Shared fixtures: role-named accounts, a deployed protocol, funded traders, chain isolation."""

import pytest
from brownie import accounts

from vperp import actions, chain_tools, config
from vperp.deploy import deploy

WAD = 10**18
USDC = 10**6  # one token unit of the 6-decimal collateral


@pytest.fixture(autouse=True)
def isolation(fn_isolation):
    """Every test starts from the state its module fixtures left, and undoes its own changes."""


@pytest.fixture(scope="session")
def owner():
    return accounts[0]


@pytest.fixture(scope="session")
def guardian():
    return accounts[1]


@pytest.fixture(scope="session")
def trader():
    return accounts[2]


@pytest.fixture(scope="session")
def other_trader():
    return accounts[3]


@pytest.fixture(scope="session")
def keeper():
    return accounts[4]


@pytest.fixture(scope="session")
def liquidator():
    return accounts[5]


@pytest.fixture(scope="session")
def attacker():
    return accounts[9]


@pytest.fixture(scope="session")
def params(guardian):
    """The local parameter file, with the guardian role on its own account."""
    loaded = config.load()
    return config.DeployParams(
        collateral=loaded.collateral, guardian=guardian.address, markets=loaded.markets
    )


@pytest.fixture(scope="module")
def deployment(params, owner):
    return deploy(params, owner)


@pytest.fixture(scope="module")
def token(deployment):
    return deployment.token


@pytest.fixture(scope="module")
def vault(deployment):
    return deployment.vault


@pytest.fixture(scope="module")
def house(deployment):
    return deployment.clearing_house


@pytest.fixture(scope="module")
def oracle(deployment):
    return deployment.oracle


@pytest.fixture(scope="module")
def feeds(deployment):
    """The mock aggregators of ETH-USD and BTC-USD (8 decimals). Tests of the adapter against a
    misbehaving feed set them directly; the market price moves through `publishers`."""
    return deployment.feeds


@pytest.fixture(scope="module")
def publishers(deployment):
    """The feeds' oracle network, by market id (vperp.feeds): ``publishers[0].set_price(wad)``
    moves the ETH-USD world price (a round at once when it moves ≥ 0.5 %, else at the next
    heartbeat). World prices return to the published answers when each test's chain state is
    reverted."""
    return deployment.publishers


@pytest.fixture(scope="module")
def advance(deployment):
    """advance(seconds, step=600): time passes second by second as on a live network: feeds
    publish their heartbeat rounds on time, `owner` pokes the oracle every `step` seconds.
    Returns the pokes' receipts."""

    def _advance(seconds, step=600):
        return chain_tools.advance(deployment, seconds, accounts[0], poke_every=step)

    return _advance


@pytest.fixture(scope="module")
def lens(deployment):
    return deployment.lens


@pytest.fixture(scope="module")
def eth(deployment):
    """The ETH-USD vAMM (market 0)."""
    return deployment.vamms[0]


@pytest.fixture(scope="module")
def btc(deployment):
    """The BTC-USD vAMM (market 1)."""
    return deployment.vamms[1]


@pytest.fixture(scope="module")
def funded(token, vault, trader, other_trader):
    """`trader` and `other_trader` each deposited 100,000 USDC."""
    for account in (trader, other_trader):
        actions.fund(token, vault, account, 100_000 * USDC)
    return (trader, other_trader)
