"""Shared fixtures: role-named accounts and chain isolation."""

import pytest
from brownie import accounts


@pytest.fixture(autouse=True)
def isolation(fn_isolation):
    """Every test starts from the state its module fixtures left, and undoes its own changes."""


@pytest.fixture(scope="session")
def owner():
    return accounts[0]


@pytest.fixture(scope="session")
def attacker():
    return accounts[9]
