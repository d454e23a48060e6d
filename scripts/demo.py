"""`make demo`: deploy vperp to a fresh local chain and show it working."""

from vperp import demo


def main():
    """Run the demo scenario."""
    demo.main()
