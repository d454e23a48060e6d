"""The deploy script's library: wiring, manifest, parameter validation."""

import json

import pytest

from vperp import config
from vperp.deploy import read_manifest, write_manifest


def test_deploy__wires_everything(deployment, params):
    house, vault = deployment.clearing_house, deployment.vault
    assert house.vault() == vault and vault.clearing_house() == house
    assert vault.collateral() == deployment.token
    assert house.market_count() == len(params.markets) == 2
    for i, (vamm, m) in enumerate(zip(deployment.vamms, params.markets, strict=True)):
        info = house.market(i)
        assert info["vamm"] == vamm and vamm.clearing_house() == house
        assert vamm.mark_price() == m.price
        assert info["initial_margin_ratio"] == m.initial_margin_ratio
        assert deployment.feeds[i].latestRoundData()[1] == m.price * 10**m.oracle.decimals // 10**18
    assert deployment.lens.clearing_house() == house
    assert house.guardian() == params.guardian


def test_write_manifest__addresses_block_and_parameters(deployment, params, tmp_path):
    path = write_manifest(deployment, params, tmp_path)
    manifest = json.loads(path.read_text())
    assert manifest["contracts"]["clearing_house"] == deployment.clearing_house.address
    assert manifest["contracts"]["markets"]["BTC-USD"]["id"] == 1
    assert manifest["block"] == deployment.block > 0
    assert manifest["parameters"]["markets"][0]["initial_margin_ratio"] == 10**17
    assert read_manifest(manifest["chain_id"], tmp_path) == manifest


def test_config__rejects_missing_and_out_of_range(tmp_path):
    good = (config.DEFAULT_CONFIG).read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(good.replace("    fee_rate: 0.001\n", "", 1))
    with pytest.raises(config.ConfigError, match="missing fee_rate"):
        config.load(bad)
    bad.write_text(good.replace("price: 2000 ", "price: 5000000 "))
    with pytest.raises(config.ConfigError, match="outside the oracle bounds"):
        config.load(bad)
    bad.write_text(good.replace("decimals: 6", "decimals: 19"))
    with pytest.raises(config.ConfigError, match="between 0 and 18"):
        config.load(bad)


def test_config__oracle_deviation_required_and_between_0_and_1(tmp_path):
    good = (config.DEFAULT_CONFIG).read_text()
    assert [m.oracle.deviation for m in config.load().markets] == [5 * 10**15] * 2
    bad = tmp_path / "bad.yaml"
    line = "      deviation: 0.005"
    assert line in good
    for value in ("0", "1", "-0.01", "1.5"):
        bad.write_text(good.replace(line, f"      deviation: {value}", 1))
        with pytest.raises(config.ConfigError, match="deviation must lie between 0 and 1"):
            config.load(bad)
    bad.write_text("\n".join(x for x in good.splitlines() if "deviation:" not in x))
    with pytest.raises(config.ConfigError, match="missing deviation"):
        config.load(bad)
