"""Terminal output shared by the scripts (deploy, demo, bench)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from vperp.units import from_wad

# bound to the real stdout at import, so `quiet()` does not silence the reports themselves
console = Console(highlight=False, file=sys.stdout)


def quiet() -> None:
    """Stop Brownie printing every transaction for the rest of the process.

    Brownie's contract calls pass ``silent=False`` explicitly, so neither ``--silent`` nor its
    config reaches them; their output goes to stdout, which this sends to /dev/null. Reports go
    through :data:`console`, errors to stderr.
    """
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process


def print_deployment(deployment, manifest: Path | None = None) -> None:
    """Addresses of a deployment and where its manifest went."""
    table = Table(title="vperp deployment", show_lines=False)
    table.add_column("contract")
    table.add_column("address")
    table.add_row("collateral", deployment.token.address)
    table.add_row("Vault", deployment.vault.address)
    table.add_row("ClearingHouse", deployment.clearing_house.address)
    table.add_row("Lens", deployment.lens.address)
    for name, vamm, feed in zip(
        deployment.market_names, deployment.vamms, deployment.feeds, strict=True
    ):
        table.add_row(f"Vamm {name}", vamm.address)
        table.add_row(f"feed {name}", feed.address)
    console.print(table)
    if manifest is not None:
        console.print(f"manifest written to {manifest}")


def fmt(value: int, places: int = 4) -> str:
    """An 18-decimal integer as a human number."""
    return f"{from_wad(value):,.{places}f}"
