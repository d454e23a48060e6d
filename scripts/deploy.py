"""Deploy vperp on the active network: `brownie run scripts/deploy.py [--network ganache]`.

Parameters come from config/local.yaml, or the file named by VPERP_CONFIG.
"""

import os

from vperp import config
from vperp.deploy import deploy, write_manifest
from vperp.report import print_deployment


def main():
    """Deploy, wire and write deployments/<chain_id>.json."""
    params = config.load(os.environ.get("VPERP_CONFIG", config.DEFAULT_CONFIG))
    deployment = deploy(params)
    path = write_manifest(deployment, params)
    print_deployment(deployment, path)
