# Waypoint's front door. `make run` and `make test` set everything up on a fresh machine.
SHELL := /bin/bash
PY := .venv/bin/python
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
PYTEST_ARGS ?=

.PHONY: help setup bytecode run run-cluster up-cluster test test-fast lint fmt kafka kafka-jars fhir-validator browser topics token up down golden bench bench-large faults clean

help:
	@echo "make run      set up and start Kafka + the seven processes (Ctrl-C stops)"
	@echo "make run-cluster  three Kafka brokers, PostgreSQL, two replicas of each process, HAProxy"
	@echo "make test     set up and run every test (unit, contract, Kafka, PostgreSQL, e2e)"
	@echo "make lint     ruff + import-linter + mypy --strict;  make fmt: format"
	@echo "make kafka    run only the local Apache Kafka broker;  make topics: create topics"
	@echo "make token    print a development token;  make up/down: docker compose"
	@echo "make up-cluster  docker compose's cluster profile (three brokers, replicas, HAProxy)"
	@echo "make bench    benchmarks, as ratios against raw baselines (bench/results/)"
	@echo "make bench-large  a rebuild of 1,000,000 events, its memory against 100,000's"
	@echo "make faults   long fault-injection runs and fuzzing (FAULTS_SCALE, FUZZ_EXAMPLES)"

# --- set-up -------------------------------------------------------------------------------
setup: .venv/.synced bytecode kafka-jars fhir-validator browser node_modules/.package-lock.json

.venv/.synced: pyproject.toml uv.lock shared/pyproject.toml services/*/pyproject.toml
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 \
		|| python3 -m pip install --quiet uv
	$(UV) sync --all-packages --frozen --compile-bytecode
	@touch $@

# Bytecode compiled ahead, as uv does above for the dependencies: where the environment forbids
# writing it at import (PYTHONDONTWRITEBYTECODE=1), every process would otherwise compile each
# module it imports on every start (5 s of CPU for a web process on a slow host, 2.5 s compiled).
# Only what changed since the last run is compiled again.
bytecode: .venv/.synced
	@$(PY) -m compileall -q -j 0 shared/src services/*/src devkit/src >/dev/null

kafka-jars:
	@bash deploy/ensure-system-packages.sh
	@$(PY) -m waypoint_devkit.local_kafka fetch

# HL7's FHIR R4 definitions and FHIRPath engine (Maven Central), and the validator compiled on them.
fhir-validator: .venv/.synced
	@bash deploy/ensure-system-packages.sh
	@$(PY) -m waypoint_devkit.fhir_validation prepare

# Debian's Chromium and its chromedriver, for the browser test of the embeddable timeline page.
browser:
	@command -v chromium >/dev/null 2>&1 && [ -x /usr/bin/chromedriver ] \
		|| { apt-get update -qq && apt-get install -y -qq chromium chromium-driver; }

# The locked Node tools of the tests (the AsyncAPI parser, axe-core), from package-lock.json.
node_modules/.package-lock.json: package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq nodejs npm; }
	npm ci --silent --no-audit --no-fund --ignore-scripts
	@touch $@

# --- running -------------------------------------------------------------------------------
run: setup
	$(PY) -m waypoint_devkit.launcher

# The same suite as production runs it, in miniature (docs/operations.md, "Cluster").
run-cluster: setup
	$(PY) -m waypoint_devkit.launcher --cluster

kafka: setup
	$(PY) -m waypoint_devkit.local_kafka run

topics: setup
	.venv/bin/waypoint-topics

# Development unless WAYPOINT_ENV says otherwise (production refuses the development secret).
token: .venv/.synced
	@WAYPOINT_ENV=$${WAYPOINT_ENV:-development} .venv/bin/waypoint-token

up:
	docker compose --profile single up --build -d

down:
	docker compose --profile single --profile cluster --profile observability down

# docker-compose.yml's cluster profile: three brokers, PostgreSQL, two replicas of each process, HAProxy.
up-cluster:
	docker compose --profile cluster up --build -d

# --- checking ------------------------------------------------------------------------------
# The test folders have no __init__.py and share module names (conftest); mypy names their
# modules by their path from the repository root, as pytest's importlib mode does.
MYPY_TESTS := shared/tests services/intake/tests services/goals/tests services/progress/tests

lint: .venv/.synced
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/lint-imports
	.venv/bin/mypy
	.venv/bin/mypy --explicit-package-bases $(MYPY_TESTS)

fmt: .venv/.synced
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

test: setup lint
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: .venv/.synced
	$(PY) -m pytest -m "not kafka and not postgres and not e2e and not java and not browser" $(PYTEST_ARGS)

bench: setup
	@command -v wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk; }
	cd bench && ../$(PY) command_throughput.py
	cd bench && ../$(PY) relay_throughput.py
	cd bench && ../$(PY) idle_cpu.py
	cd bench && ../$(PY) projector_throughput.py
	cd bench && ../$(PY) projector_parts.py
	cd bench && ../$(PY) rebuild_throughput.py
	cd bench && ../$(PY) e2e_latency.py
	cd bench && ../$(PY) rate_limit_isolation.py
	cd bench && ../$(PY) event_sizes.py

# A rebuild of 1,000,000 events: its peak memory ÷ that of 100,000 (bench/results/rebuild_large.json).
bench-large: setup
	cd bench && ../$(PY) rebuild_throughput.py --large

# Longer fault tests (more commands, more kills) and more fuzzing than `make test` runs.
FAULTS_SCALE ?= 10
FUZZ_EXAMPLES ?= 150
faults: setup
	FAULTS_SCALE=$(FAULTS_SCALE) FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) \
		$(PY) -m pytest tests/faults tests/fuzz -p no:cacheprovider $(PYTEST_ARGS)

golden: .venv/.synced
	$(PY) -m waypoint_shared.catalog.golden

clean:
	rm -rf var .pytest_cache .ruff_cache
