"""Terminal output shared by the scripts (deploy, demo, bench)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from vperp.units import from_wad

console = Console(highlight=False)


def print_deployment(deployment, manifest: Path | None = None) -> None:
    """Addresses of a deployment and where its manifest went."""
    table = Table(title="vperp deployment", show_lines=False)
    table.add_column("contract")
    table.add_column("address")
    table.add_row("collateral", deployment.token.address)
    table.add_row("Vault", deployment.vault.address)
    table.add_row("ClearingHouse", deployment.clearing_house.address)
    table.add_row("Lens", deployment.lens.address)
    for name, vamm, feed in zip(deployment.market_names, deployment.vamms, deployment.feeds, strict=True):
        table.add_row(f"Vamm {name}", vamm.address)
        table.add_row(f"feed {name}", feed.address)
    console.print(table)
    if manifest is not None:
        console.print(f"manifest written to {manifest}")


def fmt(value: int, places: int = 4) -> str:
    """An 18-decimal integer as a human number."""
    return f"{from_wad(value):,.{places}f}"
