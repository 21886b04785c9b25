# The two commands a newcomer runs: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin


.PHONY: setup demo test check contracts faults perf down clean portal-setup clients-setup

$(BIN)/rps: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

## Install everything (Python packages, Kafka jars, PostgreSQL, the portal's assets and browser) and start the local services.
setup: $(BIN)/rps portal-setup clients-setup
	$(BIN)/rps infra up

## The resident portal's GOV.UK Frontend (npm ci) and Debian's chromium for its browser tests.
portal-setup: portal/node_modules/.package-lock.json
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends chromium; }

portal/node_modules/.package-lock.json: portal/package.json portal/package-lock.json
	cd portal && npm ci --no-audit --no-fund

## The second-language clients the integration tests run (tests/integration/clients): the Node.js
## publisher and the AsyncAPI check (npm ci), the Java delivery reader (Maven, into ~/.m2).
clients-setup: clients/node/node_modules/.package-lock.json \
  clients/asyncapi-check/node_modules/.package-lock.json clients/java/target/classpath.txt

clients/node/node_modules/.package-lock.json: clients/node/package.json clients/node/package-lock.json
	cd clients/node && npm ci --no-audit --no-fund

clients/asyncapi-check/node_modules/.package-lock.json: clients/asyncapi-check/package.json \
  clients/asyncapi-check/package-lock.json
	cd clients/asyncapi-check && npm ci --no-audit --no-fund

clients/java/target/classpath.txt: clients/java/pom.xml $(wildcard clients/java/src/main/java/uk/gov/rps/clients/*.java)
	cd clients/java && mvn -B -q -Dstyle.color=never package
	touch $@

## Set everything up and run the whole story against real Kafka.
demo: setup
	$(BIN)/rps demo

## Lint, type-check and run the test suite (unit, integration against real Kafka and PostgreSQL, e2e).
test: setup check
	$(BIN)/pytest

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

## The fault suite: 10,000 hostile inputs through Kafka and the gateway, 100,000 events through
## two workers killed 24 times (RPS_KILL_EVENTS, RPS_KILLS), security and ACL checks, a broker of a
## three-broker cluster SIGKILLed, crash and outage tests (`make test` runs a short seeded subset).
## Figures in docs/faults.md.
faults: setup
	RPS_HOSTILE_COUNT=$${RPS_HOSTILE_COUNT:-10000} $(BIN)/pytest -m 'not quarantine' -s \
	  tests/faults tests/integration/streams/test_worker_guarantees.py \
	  tests/integration/consumers/test_subscriber_crash.py \
	  tests/integration/producers/test_gateway_process.py $(FAULTS_ARGS)

down: $(BIN)/rps
	$(BIN)/rps infra down

clean: down
	rm -rf $(VENV)
