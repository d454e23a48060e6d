"""`make bench`: gas medians of every operation; writes bench/gas.md and bench/gas.json."""

from vperp import bench
from vperp.report import console


def main():
    """Run the benchmark and print the table."""
    bench.run()
    console.print((bench.BENCH_DIR / "gas.md").read_text())
