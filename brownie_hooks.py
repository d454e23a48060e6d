"""Adapter between Brownie 1.22 and Vyper 0.4.3 (and this project's local chains).

Brownie imports this file from the project root whenever it loads sources, i.e. on every brownie
command (compile, test, run, console), before it connects to a network. It fixes six things:

1. Vyper 0.4 imports. Brownie sends only the files under ``contracts/`` to the compiler, so ``.vyi``
   interfaces and Vyper 0.4 modules (``import``/``uses:``/``initializes:``/``exports:``) are not
   found. :func:`compile_json` follows every import of every source, transitively, and adds the
   imported files (from this project, e.g. ``interfaces/IVault.vyi`` or ``modules/fixed_point.vy``,
   and from installed packages, e.g. ``snekmate/auth/ownable_2step.vy``) to the standard-JSON
   ``interfaces`` with their content. Modules live outside ``contracts/`` so that Brownie does not
   try to deploy them.
2. Source maps. Vyper 0.4.3 reports ``evm.*.sourceMap`` as an object; Brownie expects the solc
   string, which is that object's ``pc_pos_map_compressed``.
3. Test-result hashing. ``brownie test`` hashes each test file together with every imported module
   whose path lies inside the project; with the virtualenv in ``.venv/`` that includes compiled
   extension modules, which it cannot read. :func:`test_file_hash` skips the virtualenv.
4. Script imports. ``brownie run`` imports a script by turning its absolute path into a dotted
   module name (``/tmp/x.y/project/scripts/demo.py`` -> ``tmp.x.y.project.scripts.demo``), which
   fails when a directory above the project has a ``.`` in its name. :class:`ScriptFinder`
   resolves exactly those names to the project's script files.
5. Local chains. ``node_modules/.bin`` goes first on ``PATH`` so Brownie launches the pinned anvil
   and Ganache; a ``ganache`` network id is registered (shanghai hardfork, quiet, non-zero gas
   price because Ganache has no zero base fee); and Brownie refuses to attach silently to whatever
   already listens on a development port.
6. Mined transactions reported dropped. Under load anvil can report a sender's new nonce a moment
   before the mined transaction's receipt can be looked up; Brownie then marks the transaction
   dropped and a blocking call raises "Tx dropped without known replacement" (``tx.wait()``
   returns it with status -2). Before Brownie's verdict stands, :func:`mined_receipt` polls
   ``eth_getTransactionReceipt`` for up to :data:`RECEIPT_GRACE_SECONDS`; when the receipt shows
   up, Brownie confirms the transaction as it does any mined one. A transaction whose receipt
   never shows up is still dropped, and still raises.

7. Rebuilds after module changes. Brownie decides whether a contract needs recompiling from the
   hash of its own source only, so editing ``modules/funding.vy`` left every contract that
   imports it with stale bytecode. :func:`imports_hash` hashes a source's transitive imports; it
   is recorded for every compiled source (``build/vperp-imports.json``) and a contract whose
   imports changed since is compiled again.

Everything here is exercised by ``tests/adapter``.
"""

from __future__ import annotations

import os
import re
import site
import socket
import sys
import warnings
from pathlib import Path, PurePosixPath

from tenacity import (
    Retrying,
    retry_if_exception_type,
    retry_if_result,
    stop_after_delay,
    wait_fixed,
)
from vyper.cli import vyper_json

PROJECT_ROOT = Path(__file__).resolve().parent
# A line that imports something: `import a.b as c`, `from a.b import c`, `from ..x import y`.
_IMPORT_RE = re.compile(
    r"^[ \t]*(?:from[ \t]+(\.*[\w.]*)[ \t]+)?import[ \t]+([\w.]+)", re.MULTILINE
)
_VYPER_SUFFIXES = (".vy", ".vyi")


def _search_roots() -> list[Path]:
    """Directories that absolute Vyper imports are resolved against, in priority order."""
    roots = [PROJECT_ROOT]
    for entry in [*site.getsitepackages(), *sys.path]:
        path = Path(entry)
        if path.is_dir() and path not in roots:
            roots.append(path)
    return roots


def _candidates(base: PurePosixPath) -> list[PurePosixPath]:
    return [base.with_name(base.name + suffix) for suffix in _VYPER_SUFFIXES]


def _resolve(importer: PurePosixPath, module: str | None, name: str) -> list[PurePosixPath]:
    """Relative paths an import may refer to (Vyper tries them in this order)."""
    if module is None:  # `import a.b.c`
        return _candidates(PurePosixPath(*name.split(".")))
    dots = len(module) - len(module.lstrip("."))
    parts = [p for p in module.lstrip(".").split(".") if p] + [name]
    if dots == 0:  # `from a.b import c`
        return _candidates(PurePosixPath(*parts))
    base = importer.parent
    for _ in range(dots - 1):
        base = base.parent
    return _candidates(base.joinpath(*parts))


def collect_imports(sources: dict[str, str]) -> dict[str, str]:
    """Return ``{relative path: content}`` for every file the given sources import, transitively.

    Imports that resolve to no file (Vyper built-ins such as ``ethereum.ercs``) are left to the
    compiler.
    """
    roots = _search_roots()
    found: dict[str, str] = {}
    queue = [(PurePosixPath(path), text) for path, text in sources.items()]
    while queue:
        importer, text = queue.pop()
        for module, name in _IMPORT_RE.findall(text):
            for rel in _resolve(importer, module or None, name):
                key = rel.as_posix()
                if key in found or key in sources:
                    break
                hit = next((r / rel for r in roots if (r / rel).is_file()), None)
                if hit is not None:
                    found[key] = hit.read_text(encoding="utf-8")
                    queue.append((rel, found[key]))
                    break
    return found


def flatten_source_maps(output: dict) -> dict:
    """Replace each object-shaped ``sourceMap`` by the solc-style string Brownie parses."""
    for contracts in output.get("contracts", {}).values():
        for contract in contracts.values():
            for key in ("bytecode", "deployedBytecode"):
                code = contract.get("evm", {}).get(key, {})
                if isinstance(code.get("sourceMap"), dict):
                    code["sourceMap"] = code["sourceMap"]["pc_pos_map_compressed"]
    return output


_original_compile_json = getattr(vyper_json.compile_json, "__wrapped__", vyper_json.compile_json)


def compile_json(input_json, *args, **kwargs):
    """``vyper_json.compile_json`` with imported files added and Brownie-shaped source maps."""
    sources = None
    if isinstance(input_json, dict) and input_json.get("language") == "Vyper":
        sources = {path: value["content"] for path, value in input_json["sources"].items()}
        interfaces = input_json.setdefault("interfaces", {})
        for path, content in collect_imports(sources).items():
            interfaces.setdefault(path, {"content": content})
        input_json.setdefault("settings", {}).setdefault("search_paths", ["."])
    output = flatten_source_maps(_original_compile_json(input_json, *args, **kwargs))
    if sources:
        record_imports_hashes(sources)
    return output


compile_json.__wrapped__ = _original_compile_json
vyper_json.compile_json = compile_json


# --- rebuilds after module changes -----------------------------------------------------------

IMPORTS_HASHES = PROJECT_ROOT / "build" / "vperp-imports.json"


def imports_hash(path: str, source: str) -> str:
    """sha1 of every file `source` (at project-relative `path`) imports, transitively."""
    import hashlib

    found = collect_imports({path: source})
    digest = hashlib.sha1()
    for name in sorted(found):
        digest.update(name.encode() + b"\0" + found[name].encode() + b"\0")
    return digest.hexdigest()


def _read_imports_hashes() -> dict:
    import json

    try:
        return json.loads(IMPORTS_HASHES.read_text())
    except (OSError, ValueError):
        return {}


def record_imports_hashes(sources: dict[str, str]) -> None:
    """Remember the imports' hash of each source just compiled."""
    import json

    recorded = _read_imports_hashes()
    for path, source in sources.items():
        recorded[path] = imports_hash(path, source)
    IMPORTS_HASHES.parent.mkdir(parents=True, exist_ok=True)
    IMPORTS_HASHES.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")


def _install_import_aware_rebuilds() -> None:
    from brownie.project.main import Project

    compare = Project._compare_build_json
    if getattr(compare, "_vperp", False):
        return

    def compare_build_json(self, contract_name) -> bool:
        if compare(self, contract_name):
            return True
        try:
            path = self._sources.get_source_path(contract_name)
            source = self._sources.get(contract_name)
        except KeyError:
            return True
        if not str(path).endswith(".vy"):
            return False
        relative = Path(path)
        if relative.is_absolute():
            relative = relative.relative_to(PROJECT_ROOT)
        key = relative.as_posix()
        return _read_imports_hashes().get(key) != imports_hash(key, source)

    compare_build_json._vperp = True
    Project._compare_build_json = compare_build_json


# --- test-result hashing ---------------------------------------------------------------------


def test_file_hash(path) -> str:
    """Hash of a test file's AST and of the project's own Python modules it imports."""
    import ast
    import hashlib
    from importlib.util import find_spec

    path = Path(path)
    trees = [ast.parse(path.read_text(encoding="utf-8"))]
    venv = Path(sys.prefix).resolve()
    for node in trees[0].body:
        name = node.names[0].name if isinstance(node, ast.Import) else getattr(node, "module", None)
        if not isinstance(node, (ast.Import, ast.ImportFrom)) or not name:
            continue
        try:
            origin = find_spec(name).origin
        except (ImportError, AttributeError, ValueError):
            continue
        if origin and origin.endswith(".py"):
            origin_path = Path(origin).resolve()
            if PROJECT_ROOT in origin_path.parents and venv not in origin_path.parents:
                trees.append(ast.parse(origin_path.read_text(encoding="utf-8")))
    return hashlib.sha1("\n".join(ast.dump(t) for t in trees).encode()).hexdigest()


# --- script imports ---------------------------------------------------------------------------


class ScriptFinder:
    """Import hook for the dotted absolute-path names ``brownie run`` gives project scripts."""

    def __init__(self, root: Path):
        self.modules: dict[str, Path] = {}
        self.packages: set[str] = set()
        for script in (root / "scripts").glob("**/*.py"):
            dotted = ".".join([*script.parts[1:-1], script.stem])
            self.modules[dotted] = script
            names = dotted.split(".")
            self.packages.update(".".join(names[:i]) for i in range(1, len(names)))

    def find_spec(self, fullname, path=None, target=None):
        """A file spec for a project script, an empty package spec for its parents."""
        from importlib.machinery import ModuleSpec, PathFinder
        from importlib.util import spec_from_file_location

        if fullname in self.modules:
            return spec_from_file_location(fullname, self.modules[fullname])
        if fullname in self.packages and PathFinder.find_spec(fullname, path) is None:
            # a parent the normal import cannot find (a directory with a "." in its name)
            spec = ModuleSpec(fullname, None, is_package=True)
            spec.submodule_search_locations = []
            return spec
        return None


def _install_script_finder() -> None:
    if not any(isinstance(f, ScriptFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, ScriptFinder(PROJECT_ROOT))


# --- local chains -----------------------------------------------------------------------------

GANACHE_NETWORK = {
    "id": "ganache",
    "name": "Ganache 7 (shanghai)",
    # Ganache logs every RPC call unless quiet, which fills Brownie's stdout pipe and stalls it.
    "cmd": "ganache --logging.quiet true",
    "host": "http://127.0.0.1",
    "cmd_settings": {
        "port": 8545,
        "gas_limit": 30_000_000,
        "accounts": 10,
        "evm_version": "shanghai",
        "mnemonic": "brownie",
    },
}
# Ganache has no option for a zero base fee, so zero-priced transactions never get mined there.
NETWORK_SETTINGS = {"ganache": {"gas_price": "2 gwei"}}


class PortBusyError(ConnectionError):
    """A development network's port is already taken by another process."""


def port_is_busy(host: str, port: int) -> bool:
    """True when something already accepts TCP connections on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _install_network_hooks() -> None:
    # Brownie's own chain.snapshot()/revert() trip its "call chain.* instead" warning.
    warnings.filterwarnings("ignore", r"rpc\.\w+ should not be called directly", FutureWarning)
    bin_dir = PROJECT_ROOT / "node_modules" / ".bin"
    if bin_dir.is_dir() and str(bin_dir) not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"

    from brownie._config import CONFIG
    from brownie.test.managers import base as test_managers

    test_managers._get_ast_hash = test_file_hash
    from brownie.network import rpc

    CONFIG.networks.setdefault("ganache", dict(GANACHE_NETWORK))
    # Brownie sends gas price 0 on development networks: anvil must run with a zero base fee.
    development = CONFIG.networks.get("development", {})
    if development.get("cmd") == "anvil":
        development.setdefault("cmd_settings", {})["base_fee"] = 0

    set_active = CONFIG.set_active_network
    if not getattr(set_active, "_vperp", False):

        def set_active_network(id_=None):
            network = set_active(id_)
            network["settings"].update(NETWORK_SETTINGS.get(network["id"], {}))
            return network

        set_active_network._vperp = True
        CONFIG.set_active_network = set_active_network

    rpc_class = type(rpc)  # brownie.network.rpc is the Rpc singleton
    attach = rpc_class.attach
    if not getattr(attach, "_vperp", False):

        def refuse_attach(self, laddr):
            if os.environ.get("VPERP_ATTACH") == "1":
                return attach(self, laddr)
            raise PortBusyError(
                f"{laddr} is already in use by another process, so no fresh local chain can be "
                "launched there. Stop that process (e.g. `pkill -f anvil`) or set VPERP_ATTACH=1 "
                "to attach to it on purpose."
            )

        refuse_attach._vperp = True
        rpc_class.attach = refuse_attach


# --- transactions reported dropped -----------------------------------------------------------

# How long a transaction Brownie marks dropped is given to show a receipt, and how often to look.
RECEIPT_GRACE_SECONDS = 5.0
RECEIPT_POLL_SECONDS = 0.1


def mined_receipt(txid: str):
    """The receipt of ``txid`` once the node serves it with a block hash, or None when it does not
    within :data:`RECEIPT_GRACE_SECONDS`."""
    from brownie import web3
    from web3.exceptions import TransactionNotFound

    poll = Retrying(
        retry=retry_if_exception_type(TransactionNotFound)
        | retry_if_result(lambda receipt: receipt is None or receipt["blockHash"] is None),
        stop=stop_after_delay(RECEIPT_GRACE_SECONDS),
        wait=wait_fixed(RECEIPT_POLL_SECONDS),
        retry_error_callback=lambda _state: None,
    )
    return poll(web3.eth.get_transaction_receipt, txid)


def confirm_if_mined(tx, required_confs: int) -> bool:
    """For a ``TransactionReceipt`` Brownie has marked dropped: if its receipt shows up within the
    grace period, run Brownie's own confirmation again (it finds the receipt this time and sets
    block, status, logs and gas as for any mined transaction) and put ``tx`` back into
    ``brownie.history``, which forgets dropped transactions. True when ``tx`` is no longer
    dropped."""
    from brownie.network.state import TxHistory
    from brownie.network.transaction import Status

    receipt = mined_receipt(tx.txid)
    if receipt is None:
        return False
    tx._await_confirmation(receipt["blockNumber"], required_confs)
    if tx.status == Status.Dropped:
        return False
    history = TxHistory()._list  # reading the list drops every transaction marked dropped
    if tx not in history:  # back in chain order: before the first one mined in a later block
        later = (
            i
            for i, other in enumerate(history)
            if other.block_number is not None and other.block_number > tx.block_number
        )
        history.insert(next(later, len(history)), tx)
    return True


def _install_dropped_tx_hooks() -> None:
    """Wrap the two places where Brownie gives up on a transaction it marked dropped (once: each
    wrapper carries ``_vperp``) so that :func:`confirm_if_mined` gets a say first."""
    from brownie.exceptions import TransactionError
    from brownie.network.account import _PrivateKeyAccount
    from brownie.network.transaction import Status, TransactionReceipt

    # Every transaction sent from a Brownie account waits here; "Tx dropped without known
    # replacement" is raised here when the receipt is marked dropped and nothing replaced it.
    await_confirmation = _PrivateKeyAccount._await_confirmation
    if not getattr(await_confirmation, "_vperp", False):

        def await_mined(self, receipt, required_confs, gas_strategy, gas_iter):
            try:
                return await_confirmation(self, receipt, required_confs, gas_strategy, gas_iter)
            except TransactionError:
                if receipt.status != Status.Dropped or not confirm_if_mined(
                    receipt, required_confs
                ):
                    raise
                return receipt

        await_mined._vperp = True
        await_mined.__wrapped__ = await_confirmation
        _PrivateKeyAccount._await_confirmation = await_mined

    # A transaction sent with required_confs=0 is confirmed later by tx.wait(n), which marks it
    # dropped (status -2) in the same way, without raising.
    wait = TransactionReceipt.wait
    if not getattr(wait, "_vperp", False):

        def wait_mined(self, required_confs):
            wait(self, required_confs)
            if required_confs >= 1 and self.status == Status.Dropped:
                confirm_if_mined(self, required_confs)

        wait_mined._vperp = True
        wait_mined.__wrapped__ = wait
        TransactionReceipt.wait = wait_mined


_install_script_finder()
_install_network_hooks()
_install_import_aware_rebuilds()
_install_dropped_tx_hooks()
