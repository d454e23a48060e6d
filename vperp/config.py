"""Deployment parameters: one YAML file, validated and converted to on-chain units here."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from vperp.units import to_wad

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = PROJECT_ROOT / "config" / "local.yaml"


class ConfigError(ValueError):
    """The parameter file is missing something or holds a value out of range."""


@dataclass(frozen=True)
class OracleParams:
    """One market's price feed and the bounds its answers must respect."""

    feed: str | None
    decimals: int
    heartbeat: int  # seconds
    min_price: int  # WAD
    max_price: int  # WAD
    # WAD fraction of the last answer a price move must reach for the feed to publish a round
    # before its heartbeat. The contracts do not use it; the local feeds' publisher
    # (vperp.feeds) does, as Chainlink's network does for the real feed.
    deviation: int


@dataclass(frozen=True)
class FundingParams:
    """Funding period and rate clamp of one market."""

    period: int  # seconds
    max_rate_per_hour: int  # WAD
    max_interval: int  # seconds charged at most in one settlement


@dataclass(frozen=True)
class LiquidationParams:
    """Liquidation penalty, its split, the partial-liquidation buffer and the keeper reward
    floor of one market."""

    penalty: int  # WAD of the liquidated notional
    liquidator_share: int  # WAD of the penalty
    buffer: int  # WAD above maintenance a partial liquidation restores
    keeper_reward_floor: int  # WAD quote


@dataclass(frozen=True)
class MarketParams:
    """One market, every value already in 18-decimal fixed point (WAD) where it is an amount."""

    name: str
    price: int
    base_reserve: int
    price_move_limit: int
    max_trade_ratio: int
    initial_margin_ratio: int
    maintenance_margin_ratio: int
    fee_rate: int
    insurance_fee_share: int
    max_open_interest: int
    max_position_size: int
    min_position_notional: int
    oracle: OracleParams
    funding: FundingParams | None = None
    liquidation: LiquidationParams | None = None
    oracle_band: int = 0  # WAD of the index; 0: the contract's default (10 %)

    @property
    def quote_reserve(self) -> int:
        """Virtual quote reserve giving the initial mark price."""
        return self.base_reserve * self.price // 10**18


@dataclass(frozen=True)
class CollateralParams:
    """The collateral token: an existing address, or a local mock to deploy."""

    address: str | None
    name: str
    symbol: str
    decimals: int


@dataclass(frozen=True)
class DeployParams:
    """Everything `vperp.deploy` needs."""

    collateral: CollateralParams
    guardian: str
    markets: list[MarketParams] = field(default_factory=list)
    insurance_floor: int = 0  # WAD quote the governance withdrawal never goes below

    def as_dict(self) -> dict:
        """Plain dict for the deployment manifest."""
        return asdict(self)


_WAD_FIELDS = (
    "price",
    "base_reserve",
    "price_move_limit",
    "max_trade_ratio",
    "initial_margin_ratio",
    "maintenance_margin_ratio",
    "fee_rate",
    "insurance_fee_share",
    "max_open_interest",
    "max_position_size",
    "min_position_notional",
)


def _market(raw: dict) -> MarketParams:
    name = raw.get("name") or "?"
    try:
        values = {key: to_wad(raw[key]) for key in _WAD_FIELDS}
        oracle = raw["oracle"]
        oracle_params = OracleParams(
            feed=oracle.get("feed"),
            decimals=int(oracle["decimals"]),
            heartbeat=int(oracle["heartbeat"]),
            min_price=to_wad(oracle["min_price"]),
            max_price=to_wad(oracle["max_price"]),
            deviation=to_wad(oracle["deviation"]),
        )
    except KeyError as exc:
        raise ConfigError(f"market {name}: missing {exc.args[0]}") from None
    funding = None
    if raw.get("funding"):
        f = raw["funding"]
        try:
            funding = FundingParams(
                period=int(f["period"]),
                max_rate_per_hour=to_wad(f["max_rate_per_hour"]),
                max_interval=int(f["max_interval"]),
            )
        except KeyError as exc:
            raise ConfigError(f"market {name}: funding: missing {exc.args[0]}") from None
    liquidation = None
    if raw.get("liquidation"):
        q = raw["liquidation"]
        try:
            liquidation = LiquidationParams(
                penalty=to_wad(q["penalty"]),
                liquidator_share=to_wad(q["liquidator_share"]),
                buffer=to_wad(q["buffer"]),
                keeper_reward_floor=to_wad(q["keeper_reward_floor"]),
            )
        except KeyError as exc:
            raise ConfigError(f"market {name}: liquidation: missing {exc.args[0]}") from None
    if values["price"] <= 0 or values["base_reserve"] <= 0:
        raise ConfigError(f"market {name}: price and base_reserve must be positive")
    if not oracle_params.min_price <= values["price"] <= oracle_params.max_price:
        raise ConfigError(f"market {name}: price outside the oracle bounds")
    if values["max_open_interest"] >= values["base_reserve"]:
        raise ConfigError(f"market {name}: max_open_interest must stay below base_reserve")
    band = to_wad(raw.get("oracle_band", 0))
    if band and not 0.005 * 10**18 <= band <= 0.5 * 10**18:
        raise ConfigError(f"market {name}: oracle_band must lie in [0.005, 0.5]")
    if not 0 < oracle_params.deviation < to_wad(1):
        raise ConfigError(f"market {name}: oracle deviation must lie between 0 and 1 (exclusive)")
    return MarketParams(
        name=name,
        oracle=oracle_params,
        funding=funding,
        liquidation=liquidation,
        oracle_band=band,
        **values,
    )


def load(path: str | Path = DEFAULT_CONFIG) -> DeployParams:
    """Read and validate a parameter file."""
    raw = yaml.safe_load(Path(path).read_text())
    try:
        collateral = CollateralParams(**raw["collateral"])
        markets = [_market(m) for m in raw["markets"]]
    except (KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: malformed ({exc})") from None
    if not 0 <= collateral.decimals <= 18:
        raise ConfigError("collateral decimals must be between 0 and 18")
    names = [m.name for m in markets]
    if len(set(names)) != len(names):
        raise ConfigError("market names must be unique")
    return DeployParams(
        collateral=collateral,
        guardian=str(raw.get("guardian", "deployer")),
        markets=markets,
        insurance_floor=to_wad(raw.get("insurance_floor", 0)),
    )
