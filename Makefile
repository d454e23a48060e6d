# vperp: the two commands a newcomer needs are `make demo` and `make test`.
# Every target installs what is missing first (virtualenv, pip and npm packages), once.

PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
PY_STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed
export PATH := $(CURDIR)/node_modules/.bin:$(BIN):$(PATH)
# Test selection for one run: make test TESTS=tests/unitary/vault
TESTS ?= tests
# Tests that also run on Ganache (the user's second deploy target).
GANACHE_TESTS ?= tests/adapter tests/integration/test_ganache_e2e.py tests/tools
VYPER_SOURCES := contracts modules
PURELIB = $(shell $(BIN)/python -c "import sysconfig;print(sysconfig.get_paths()['purelib'])")

.PHONY: setup demo test test-anvil test-ganache lint format bench deploy clean

setup: $(PY_STAMP) $(NPM_STAMP)

$(PY_STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

demo: setup
	brownie run scripts/demo.py

deploy: setup
	brownie run scripts/deploy.py $(if $(NETWORK),--network $(NETWORK),)

test: setup
	brownie test $(TESTS) --network development
	brownie test $(GANACHE_TESTS) --network ganache

test-anvil: setup
	brownie test $(TESTS) --network development

test-ganache: setup
	brownie test $(GANACHE_TESTS) --network ganache

bench: setup
	brownie run scripts/bench.py

lint: setup
	ruff format --check .
	ruff check .
	mamushi --check --line-length 100 $(VYPER_SOURCES) interfaces
	@# modules that `uses:` another module only compile inside the contracts that initialise
	@# them, so natrix reaches them through ClearingHouse and HouseKeeper
	natrix lint -p $(CURDIR) $(PURELIB) -d NTX1 NTX4 NTX11 -- $(filter-out contracts/ClearingHouse.vy,$(wildcard contracts/*.vy contracts/mocks/*.vy)) $(shell grep -L '^uses:' modules/*.vy)
	@# NTX4 ("could be view") misreads functions whose only writes are external calls; the
	@# house's administration entry points forward msg.data to HouseAdmin, so their arguments
	@# are used there, which natrix cannot see (NTX10)
	natrix lint -p $(CURDIR) $(PURELIB) -d NTX1 NTX4 NTX10 NTX11 -- contracts/ClearingHouse.vy

format: setup
	ruff format .
	ruff check --fix .
	mamushi --line-length 100 $(VYPER_SOURCES) interfaces

clean:
	rm -rf build reports .hypothesis
