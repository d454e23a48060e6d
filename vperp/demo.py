"""`make demo`: deploy on the local chain, trade a little, show positions and ledgers."""

from __future__ import annotations

from brownie import accounts, network
from rich.table import Table

from vperp import actions, config
from vperp.chain_tools import advance
from vperp.deploy import deploy, write_manifest
from vperp.report import console, fmt, print_deployment, quiet

WAD = 10**18
USDC = 10**6
HOUR = 3600


def positions_table(d, traders: dict, market_id: int) -> Table:
    """The Lens view of the named traders in one market."""
    name = d.market_names[market_id]
    view = d.lens.market(market_id)
    table = Table(title=f"{name} positions (mark {fmt(view['mark_price'], 2)})")
    columns = ("trader", "size", "open notional", "margin", "uPnL", "margin ratio", "liq. price")
    for col in (*columns, "liquidatable"):
        table.add_column(col, justify="right")
    rows = d.lens.positions(market_id, list(traders.values()))
    for label, row in zip(traders, rows, strict=True):
        table.add_row(
            label,
            fmt(row["size"]),
            fmt(row["open_notional"], 2),
            fmt(row["margin"], 2),
            fmt(row["unrealised_pnl"], 2),
            f"{row['margin_ratio'] / WAD:.2%}" if row["size"] else "-",
            fmt(row["liquidation_price"], 2) if row["liquidation_price"] else "-",
            "[bold red]yes[/]" if row["liquidatable"] else "no",
        )
    return table


def ledgers_table(d, traders: dict) -> Table:
    """The vault's ledgers and the accounting identity."""
    led = d.lens.ledgers(list(traders.values()))
    table = Table(title="Vault ledgers (USD)")
    table.add_column("ledger")
    table.add_column("amount", justify="right")
    for key in ("total_free", "total_margin", "insurance_fund", "fee_pool", "counterparty_balance"):
        table.add_row(key.replace("_", " "), fmt(led[key], 6))
    table.add_row("tokens held × scale", fmt(led["token_balance"] * led["scale"], 6))
    return table


def main() -> None:
    """Deploy, then: two traders deposit, go long and short ETH-USD, funding is settled, one
    closes; a leveraged long is liquidated after a drop."""
    quiet()
    params = config.load()
    console.print(f"[bold]vperp demo[/] on {network.show_active()} (chain id {network.chain.id})")
    d = deploy(params)
    print_deployment(d, write_manifest(d, params))
    alice, bob = accounts[2], accounts[3]
    traders = {"alice": alice, "bob": bob}
    house, eth = d.clearing_house, d.vamms[0]
    for name, who in traders.items():
        actions.fund(d.token, d.vault, who, 10_000 * USDC)
        console.print(f"{name} deposited 10,000 USDC")
    actions.trade(house, eth, alice, 0, 5 * WAD, 2_000 * WAD)
    console.print("alice opened 5 ETH long with 2,000 USD margin (5x)")
    actions.trade(house, eth, bob, 0, -2 * WAD, 1_000 * WAD)
    console.print("bob opened 2 ETH short with 1,000 USD margin (4x)")
    console.print(positions_table(d, traders, 0))
    console.print(
        "one hour passes: the feeds publish their heartbeat rounds and a keeper pokes the oracle "
        "every 10 minutes"
    )
    advance(d, HOUR, accounts[4])
    ev = house.settle_funding(0, {"from": accounts[4]}).events["FundingSettled"]
    console.print(
        f"funding settled: over the last hour mark TWAP {fmt(ev['mark_twap'], 2)} vs index TWAP "
        f"{fmt(ev['index_twap'], 2)} ({ev['charged_seconds']} valid seconds): rate "
        f"{ev['rate'] / WAD:.5%} per hour, i.e. longs pay {fmt(ev['funding_per_hour'], 6)} per "
        "ETH per hour from now on, charged every second until the next settlement"
    )
    advance(d, HOUR, accounts[4])
    console.print(
        f"one more hour: alice owes {fmt(house.pending_funding(alice, 0), 6)}, "
        f"bob is owed {fmt(-house.pending_funding(bob, 0), 6)}"
    )
    tx = actions.close(house, eth, bob, 0)
    ev = tx.events["PositionChanged"]
    console.print(
        f"bob closed: realised PnL {fmt(ev['realised_pnl'], 2)}, fee {fmt(ev['fee'], 2)}, "
        f"funding received {fmt(-ev['funding_paid'], 6)}"
    )
    console.print(positions_table(d, traders, 0))
    liquidation(d, traders)
    console.print(ledgers_table(d, {**traders, "keeper": accounts[4]}))


def liquidation(d, traders: dict) -> None:
    """carol goes 9x long; spot drops 7 %; an arbitrageur drags the vAMM after it; a keeper
    liquidates what the Lens flags."""
    house, eth, publisher = d.clearing_house, d.vamms[0], d.publishers[0]
    carol, arb, keeper = accounts[5], accounts[6], accounts[4]
    traders.update(carol=carol, arb=arb)
    actions.fund(d.token, d.vault, carol, 10_000 * USDC)
    actions.fund(d.token, d.vault, arb, 500_000 * USDC)
    actions.trade(house, eth, carol, 0, 20 * WAD, 4_500 * WAD)
    console.print("carol opened 20 ETH long with 4,500 USD margin (~9x)")
    spot = eth.mark_price() * 93 // 100
    publisher.set_price(spot)  # a 7 % move: the feed publishes a round at once
    actions.move_mark(house, eth, arb, 0, spot)
    console.print(
        f"spot drops 7 % to {fmt(spot, 2)} (beyond the feed's "
        f"{publisher.deviation / WAD:.1%} deviation threshold: a round at once); "
        "an arbitrageur shorts the vAMM after it"
    )
    console.print(positions_table(d, traders, 0))
    for row in d.lens.positions(0, list(traders.values())):
        if row["liquidatable"]:
            ev = house.liquidate(row["trader"], 0, {"from": keeper}).events["Liquidated"]
            kind = "partially" if ev["size"] else "fully"
            console.print(
                f"keeper liquidated {row['trader'][:10]}… {kind}: closed "
                f"{fmt(-ev['base_closed'])} ETH, penalty {fmt(ev['penalty'], 2)}, keeper reward "
                f"{fmt(ev['reward'], 2)}, bad debt {fmt(ev['bad_debt'], 2)}"
            )
    console.print(positions_table(d, traders, 0))
