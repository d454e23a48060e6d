"""Deploy and wire the protocol on the connected Brownie network; write the manifest."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from brownie import (
    ClearingHouse,
    HouseAdmin,
    HouseKeeper,
    Lens,
    MockAggregator,
    MockERC20,
    OracleAdapter,
    Vamm,
    Vault,
    chain,
    network,
    web3,
)
from brownie.network.account import Account
from brownie.network.contract import Contract, ProjectContract

from vperp.config import PROJECT_ROOT, DeployParams, load
from vperp.feeds import Publishers

DEPLOYMENTS_DIR = PROJECT_ROOT / "deployments"


@dataclass
class Deployment:
    """Handles on every deployed contract, by role."""

    token: ProjectContract
    vault: ProjectContract
    oracle: ProjectContract
    clearing_house: ProjectContract
    lens: ProjectContract
    vamms: list[ProjectContract] = field(default_factory=list)
    feeds: list[ProjectContract] = field(default_factory=list)
    market_names: list[str] = field(default_factory=list)
    block: int = 0
    # the local feeds' oracle network (vperp.feeds), shared by whoever moves prices or time on
    # this deployment; None on a live network, whose feeds publish by themselves
    publishers: Publishers | None = None

    def market_id(self, name: str) -> int:
        """Market id of a market name such as ``ETH-USD``."""
        return self.market_names.index(name)

    def addresses(self) -> dict:
        """Contract addresses, for the manifest."""
        return {
            "collateral": self.token.address,
            "vault": self.vault.address,
            "oracle": self.oracle.address,
            "clearing_house": self.clearing_house.address,
            "house_admin": self.clearing_house.admin(),
            "house_keeper": self.clearing_house.keeper(),
            "lens": self.lens.address,
            "markets": {
                name: {"id": i, "vamm": v.address, "feed": f.address}
                for i, (name, v, f) in enumerate(
                    zip(self.market_names, self.vamms, self.feeds, strict=True)
                )
            },
        }


def house_contract(address: str) -> Contract:
    """The ClearingHouse at `address`, with the events of its administration and keeper
    operations.

    Those run in HouseAdmin and HouseKeeper by delegatecall, so their events come from the
    ClearingHouse's address, but the compiler lists in an ABI only the events a contract logs
    itself."""
    abi = list(ClearingHouse.abi)
    known = {e.get("name") for e in abi if e["type"] == "event"}
    for extension in (HouseAdmin, HouseKeeper):
        for e in extension.abi:
            if e["type"] == "event" and e["name"] not in known:
                abi.append(e)
                known.add(e["name"])
    return Contract.from_abi("ClearingHouse", address, abi)


def _is_local() -> bool:
    """A development network (anvil, Ganache: launched or attached by Brownie), whatever its id."""
    return network.rpc.is_active()


def _collateral(params: DeployParams, deployer: Account) -> ProjectContract:
    c = params.collateral
    if c.address:
        return Contract.from_abi(c.symbol, c.address, MockERC20.abi)
    if not _is_local():
        raise RuntimeError(
            "refusing to deploy a faucet token on a live network: set collateral.address"
        )
    return MockERC20.deploy(c.name, c.symbol, c.decimals, {"from": deployer})


def deploy(params: DeployParams | None = None, deployer: Account | None = None) -> Deployment:
    """Deploy collateral (mock on local chains), Vault, ClearingHouse, one Vamm and feed per market
    and the Lens; list the markets. Returns the handles; on a local chain with the feeds'
    publishers (`deployer` transmits their rounds)."""
    from brownie import accounts

    params = params or load()
    deployer = deployer or accounts[0]
    guardian = deployer.address if params.guardian == "deployer" else params.guardian
    tx = {"from": deployer}
    first_block = web3.eth.block_number + 1

    token = _collateral(params, deployer)
    oracle = OracleAdapter.deploy(tx)
    # Vault and ClearingHouse reference each other through immutables: predict the house address
    # (after the vault and the house's administration and keeper extensions).
    house_address = deployer.get_deployment_address(deployer.nonce + 3)
    vault = Vault.deploy(token, house_address, tx)
    admin = HouseAdmin.deploy(vault, oracle, tx)
    keeper = HouseKeeper.deploy(vault, oracle, tx)
    house = ClearingHouse.deploy(vault, oracle, guardian, admin, keeper, tx)
    assert house.address == house_address, "clearing house landed at an unexpected address"
    house = house_contract(house.address)
    if params.insurance_floor:
        house.set_insurance_floor(params.insurance_floor, tx)

    vamms, feeds = [], []
    for market_id, m in enumerate(params.markets):
        if m.oracle.feed:
            feed = Contract.from_abi(f"{m.name} feed", m.oracle.feed, MockAggregator.abi)
        else:
            answer = m.price * 10**m.oracle.decimals // 10**18
            feed = MockAggregator.deploy(m.oracle.decimals, f"{m.name} (mock)", answer, tx)
        # the market's feed must answer before the market is listed (funding starts from it)
        oracle.set_feed(
            market_id, feed, m.oracle.heartbeat, m.oracle.min_price, m.oracle.max_price, tx
        )
        vamm = Vamm.deploy(
            house, m.base_reserve, m.quote_reserve, m.price_move_limit, m.max_trade_ratio, tx
        )
        house.add_market(
            vamm,
            m.initial_margin_ratio,
            m.maintenance_margin_ratio,
            m.fee_rate,
            m.insurance_fee_share,
            m.max_open_interest,
            m.max_position_size,
            m.min_position_notional,
            tx,
        )
        if m.oracle_band:
            house.set_oracle_band(market_id, m.oracle_band, tx)
        if m.funding:
            f = m.funding
            house.set_funding_params(market_id, f.period, f.max_rate_per_hour, f.max_interval, tx)
        if m.liquidation:
            q = m.liquidation
            house.set_liquidation_params(
                market_id, q.penalty, q.liquidator_share, q.buffer, q.keeper_reward_floor, tx
            )
        vamms.append(vamm)
        feeds.append(feed)
    lens = Lens.deploy(house, tx)
    return Deployment(
        token=token,
        vault=vault,
        oracle=oracle,
        clearing_house=house,
        lens=lens,
        vamms=vamms,
        feeds=feeds,
        market_names=[m.name for m in params.markets],
        block=first_block,
        publishers=Publishers.from_chain(feeds, params.markets, deployer) if _is_local() else None,
    )


def write_manifest(
    deployment: Deployment, params: DeployParams, directory: Path = DEPLOYMENTS_DIR
) -> Path:
    """Write ``deployments/<chain_id>.json``: addresses, deployment block and parameters."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{chain.id}.json"
    manifest = {
        "chain_id": chain.id,
        "network": network.show_active(),
        "block": deployment.block,
        "contracts": deployment.addresses(),
        "parameters": params.as_dict(),
    }
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    return path


def read_manifest(chain_id: int, directory: Path = DEPLOYMENTS_DIR) -> dict:
    """The manifest written by :func:`write_manifest` for a chain."""
    return json.loads((Path(directory) / f"{chain_id}.json").read_text())
