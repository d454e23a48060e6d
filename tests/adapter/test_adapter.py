"""The Brownie ↔ Vyper 0.4.3 adapter (brownie_hooks.py), on whichever network the run uses."""

import json
from pathlib import Path

import brownie
import pytest
from brownie import AdapterProbe
from brownie.project import get_loaded_projects

import brownie_hooks

ROOT = Path(brownie_hooks.__file__).parent


def test_collect_imports__follows_project_and_package_modules():
    source = (ROOT / "contracts/mocks/AdapterProbe.vy").read_text()
    found = brownie_hooks.collect_imports({"contracts/mocks/AdapterProbe.vy": source})
    assert "interfaces/IProbe.vyi" in found
    assert "modules/fixed_point.vy" in found
    # transitive: fixed_point imports snekmate math; ownable_2step imports `from . import ownable`
    assert "snekmate/utils/math.vy" in found
    assert "snekmate/auth/ownable_2step.vy" in found
    assert "snekmate/auth/ownable.vy" in found
    assert found["interfaces/IProbe.vyi"] == (ROOT / "interfaces/IProbe.vyi").read_text()


def test_collect_imports__builtin_interfaces_are_left_to_vyper():
    found = brownie_hooks.collect_imports({"x.vy": "from ethereum.ercs import IERC20\n"})
    assert found == {}


def test_flatten_source_maps__object_becomes_compressed_string():
    output = {
        "contracts": {
            "a.vy": {
                "a": {
                    "evm": {
                        "bytecode": {"sourceMap": {"pc_pos_map_compressed": "1:2:0:-;"}},
                        "deployedBytecode": {"sourceMap": "3:4:0:-;"},
                    }
                }
            }
        }
    }
    evm = brownie_hooks.flatten_source_maps(output)["contracts"]["a.vy"]["a"]["evm"]
    assert evm["bytecode"]["sourceMap"] == "1:2:0:-;"
    assert evm["deployedBytecode"]["sourceMap"] == "3:4:0:-;"


def test_build_artifact__has_string_source_map_and_pc_map():
    project = get_loaded_projects()[0]
    build = json.loads((Path(project._path) / "build/contracts/AdapterProbe.json").read_text())
    assert isinstance(build["deployedSourceMap"], str) and build["deployedSourceMap"]
    assert build["pcMap"], "brownie derived no pc map from the source map"
    assert build["compiler"]["evm_version"] == "shanghai"


@pytest.fixture(scope="module")
def probe(owner):
    return AdapterProbe.deploy({"from": owner})


def test_probe__project_module_math_rounds_both_ways(probe):
    assert probe.scaled(3, False) == 4  # 4.5 down
    assert probe.scaled(3, True) == 5  # 4.5 up


def test_probe__snekmate_ownership_exported(probe, owner, attacker):
    assert probe.owner() == owner
    probe.transfer_ownership(attacker, {"from": owner})
    assert probe.pending_owner() == attacker
    assert probe.owner() == owner


def test_probe__revert_string_matches(probe, owner):
    with brownie.reverts("probe: zero value"):
        probe.store(0, {"from": owner})


def test_probe__non_owner_revert_string_from_snekmate(probe, attacker):
    with brownie.reverts("ownable: caller is not the owner"):
        probe.store(1, {"from": attacker})


def test_probe__event_from_interface_is_decoded(probe, owner):
    tx = probe.store(7, {"from": owner})
    assert tx.events["Stored"]["caller"] == owner
    assert tx.events["Stored"]["amount"] == 7
    assert probe.stored() == 7


def test_script_finder__imports_script_under_dotted_directory(tmp_path):
    import importlib
    import sys

    root = tmp_path / "clone.x1" / "project"
    (root / "scripts").mkdir(parents=True)
    (root / "scripts" / "job.py").write_text("ANSWER = 42\n")
    finder = brownie_hooks.ScriptFinder(root)
    dotted = ".".join([*(root / "scripts").parts[1:], "job"])
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module(dotted)
    sys.meta_path.insert(0, finder)
    try:
        assert importlib.import_module(dotted).ANSWER == 42
    finally:
        sys.meta_path.remove(finder)


def test_attach__busy_port_gives_clear_error_instead_of_attaching():
    """A second brownie command while this suite's chain holds the port stops with a message."""
    import os
    import subprocess
    import sys

    script = "from brownie import network\nnetwork.connect('development')\n"
    env = dict(os.environ)
    env.pop("VPERP_ATTACH", None)
    out = subprocess.run(
        [sys.executable, "-c", f"import brownie_hooks\n{script}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode != 0
    assert "already in use by another process" in out.stderr


def test_rebuild__a_contract_whose_imported_module_changed_is_stale(monkeypatch, tmp_path):
    """Brownie compares a contract's own source only; the adapter also compares the hash of its
    transitive imports, recorded at compile time (`build/vperp-imports.json`)."""
    project = get_loaded_projects()[0]
    path = "contracts/mocks/AdapterProbe.vy"
    source = (ROOT / path).read_text()
    recorded = brownie_hooks._read_imports_hashes()
    assert recorded[path] == brownie_hooks.imports_hash(path, source)
    assert project._compare_build_json("AdapterProbe") is False  # up to date
    # an imported module's content changes: the hash moves and the contract is stale
    stale = dict(recorded, **{path: "0" * 40})
    record = tmp_path / "vperp-imports.json"
    record.write_text(json.dumps(stale))
    monkeypatch.setattr(brownie_hooks, "IMPORTS_HASHES", record)
    assert project._compare_build_json("AdapterProbe") is True
    edited = {"modules/fixed_point.vy": "# edited\n"}
    real = brownie_hooks.collect_imports
    monkeypatch.setattr(
        brownie_hooks, "collect_imports", lambda sources: {**real(sources), **edited}
    )
    assert brownie_hooks.imports_hash(path, source) != recorded[path]
