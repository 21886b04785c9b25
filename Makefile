# The two commands a newcomer runs: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin


.PHONY: test-quarantine
.PHONY: setup demo test check contracts faults perf down clean

$(BIN)/rps: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

## Install everything (Python packages, Kafka jars, PostgreSQL) and start the local services.
setup: $(BIN)/rps
	$(BIN)/rps infra up

## Set everything up and run the whole story against real Kafka.
demo: setup
	$(BIN)/rps demo

## Lint, type-check and run the test suite (unit, integration against real Kafka and PostgreSQL, e2e).
test: setup check
	$(BIN)/pytest

## The quarantined tests (known to fail inside a full run; see pyproject's markers).
test-quarantine: setup
	$(BIN)/pytest -m quarantine

check: $(BIN)/rps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## Regenerate the checked-in JSON Schema, AsyncAPI and OpenAPI documents.
contracts: $(BIN)/rps
	$(BIN)/rps contracts generate
	$(BIN)/rps gateway openapi --write

## Measure throughput, latency, growth and memory against the passthrough ceiling (table + JSON in artifacts/perf/).
perf: $(BIN)/rps
	$(BIN)/python -m tests.perf.suite $(PERF_ARGS)

down: $(BIN)/rps
	$(BIN)/rps infra down

clean: down
	rm -rf $(VENV)
