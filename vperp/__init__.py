"""vperp: Python tooling for the vperp perpetual-futures protocol (deploy, keepers, sim, CLI)."""

__version__ = "0.1.0"
