# The two commands a newcomer needs are `make run` and `make test`;
# everything else is here for contributors and CI.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONFIG ?= development.ini
ADDON_DIRS := $(wildcard addons/*/pyproject.toml)
ADDON_PACKAGES := $(filter-out %.egg-info,$(wildcard addons/*/pyramidion_*))
PYTEST_ARGS ?=
BENCH_ARGS ?=

.PHONY: help install run test test-fast test-postgresql lint format coverage bench clean

help:
	@echo "make run              set everything up and serve the demo app on http://localhost:6543"
	@echo "make test             run the whole test suite on SQLite (or on the database PYRAMIDION_TEST_DATABASE_URL names)"
	@echo "make test-fast        the suite without the tests marked slow (subprocesses, distribution builds): for day-to-day work"
	@echo "make test-postgresql  run the suite against PostgreSQL at 127.0.0.1:5432 (database test)"
	@echo "make lint             ruff check, ruff format --check, mypy --strict and the import contracts"
	@echo "make format           apply ruff's formatting and import sorting"
	@echo "make coverage         run the tests with branch coverage"
	@echo "make bench            served benchmarks: the logged-in page against Django and Flask, and more (needs wrk; see docs/performance.md)"

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is required") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall when any distribution's metadata changes.
$(VENV)/.installed: $(BIN)/python pyproject.toml $(ADDON_DIRS)
	@# The core's distribution was called "pyramidion" before pyramidion-core:
	@# remove the old one, or both would register the same entry points.
	rm -rf src/pyramidion.egg-info
	$(BIN)/python -m pip uninstall --quiet --yes pyramidion 2>/dev/null || true
	$(BIN)/python -m pip install --quiet -e ".[dev]" \
		$(foreach d,$(ADDON_DIRS),-e "./$(patsubst %/,%,$(dir $(d)))[testing]")
	@touch $@

# jQuery (the copy the forms add-on serves; npm audit checks it) and axe-core
# (the browser tests' accessibility checks) come from the npm registry, pinned
# in package-lock.json; without npm or the registry, those checks say they skip.
node_modules/.installed: package.json package-lock.json
	@if ! command -v npm >/dev/null 2>&1; then \
		echo "npm not found: accessibility checks will be skipped (apt-get install -y npm)"; \
	elif npm ci --no-audit --no-fund --loglevel=error; then touch $@; \
	else echo "npm ci failed: accessibility checks will be skipped until it succeeds"; fi

install: $(VENV)/.installed node_modules/.installed

# Pyramid 2.1 still imports pkg_resources, whose deprecation warning would
# greet every newcomer; it is Pyramid's to remove, not something to act on.
run: export PYTHONWARNINGS = ignore:pkg_resources is deprecated as an API:UserWarning
run: install
	$(BIN)/pyramidion db upgrade $(CONFIG)
	$(BIN)/pyramidion auth ensure-admin $(CONFIG) --base-url http://localhost:6543
	$(BIN)/pyramidion serve $(CONFIG)

test: install
	$(BIN)/pytest $(PYTEST_ARGS)

# Day-to-day: everything but the tests marked slow. CI runs `make test`.
test-fast: install
	$(BIN)/pytest -m "not slow" $(PYTEST_ARGS)

test-postgresql: install
	PYRAMIDION_TEST_DATABASE_URL=$${PYRAMIDION_TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test} \
		$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy src $(ADDON_PACKAGES) benchmarks
	$(BIN)/lint-imports --no-cache

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

coverage: install
	$(BIN)/pytest --cov --cov-report=term-missing $(PYTEST_ARGS)

# Not part of make test: it takes minutes and needs wrk (apt-get install -y wrk).
bench: install
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) node_modules build dist .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
