"""Terminal output shared by the scripts (deploy, demo, bench)."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from vperp.units import from_wad

console = Console(highlight=False)


_BROWNIE_TX_LINE = re.compile(
    r"(Transaction sent|Gas price|Gas used|confirmed|deployed at|Waiting for confirmation"
    r"|mnemonic: )"
)


class _DropTransactionLines(io.TextIOBase):
    """A stdout that drops Brownie's per-transaction lines (and blank lines) and passes
    everything else."""

    def __init__(self, target):
        self._target = target
        self._pending = ""

    def write(self, text: str) -> int:
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            if line.strip() and not _BROWNIE_TX_LINE.search(line):
                self._target.write(line + "\n")
        return len(text)

    def flush(self) -> None:
        self._target.flush()


def quiet() -> None:
    """Stop Brownie printing every transaction for the rest of the process.

    Brownie's contract calls pass ``silent=False`` explicitly, so neither ``--silent`` nor its
    config reaches them. Their lines are dropped from stdout; everything else (tracebacks
    included) still reaches it.
    """
    if not isinstance(sys.stdout, _DropTransactionLines):
        sys.stdout = _DropTransactionLines(sys.stdout)


def print_deployment(deployment, manifest: Path | None = None) -> None:
    """Addresses of a deployment and where its manifest went."""
    table = Table(title="vperp deployment", show_lines=False)
    table.add_column("contract")
    table.add_column("address")
    table.add_row("collateral", deployment.token.address)
    table.add_row("Vault", deployment.vault.address)
    table.add_row("OracleAdapter", deployment.oracle.address)
    table.add_row("ClearingHouse", deployment.clearing_house.address)
    table.add_row("HouseAdmin (ClearingHouse administration)", deployment.clearing_house.admin())
    table.add_row(
        "HouseKeeper (liquidation, funding settlement)", deployment.clearing_house.keeper()
    )
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
