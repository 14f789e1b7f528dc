# MPP Elektronik: one Makefile for the whole platform. `make` lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash
LOCALCTL := python3 deploy/local/localctl.py
# The project's own pinned uv, installed by `make python` (and up, servers, install) into the
# cache: called by its path, so nothing here depends on a uv on PATH.
UV_BIN := $(shell $(LOCALCTL) uv-path)
UV := $(UV_BIN) run --frozen
PYTEST := $(UV) pytest -p no:cacheprovider
# Python may keep compiled modules (__pycache__, ignored by git) even where the environment says
# not to: without them every service start compiles the whole dependency tree again, 3 s of CPU.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: help up down status logs reset web restart servers install python lint format test test-faults test-security soak backup restore test-unit test-integration test-e2e bench bench-more bench-tools browser seed-volume seed-volume-drop contracts dlq-replay outbox-replay

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}'

up: ## Install what is missing, start Kafka, PostgreSQL, S3, Mailpit and the five services; print the URLs
	@$(LOCALCTL) up

down: ## Stop everything (data is kept)
	@$(LOCALCTL) down

status: ## Show each component's health
	@$(LOCALCTL) status

logs: ## Follow one component's log: make logs SERVICE=catalog
	@$(LOCALCTL) logs $(SERVICE)

reset: ## Stop everything and wipe the data folder
	@$(LOCALCTL) reset

web: ## Build the web apps (citizen /, officer /petugas/, command center /ops/) into web/dist
	@$(LOCALCTL) web

restart: ## Restart one component after a change: make restart SERVICE=gateway
	@$(LOCALCTL) restart $(SERVICE)

servers: ## Install and start only the servers the tests need (Kafka, PostgreSQL, S3, Mailpit)
	@$(LOCALCTL) servers

install: ## Install uv, the Python environment, Kafka and the Go-built servers, without starting them
	@$(LOCALCTL) install

python: ## Install the project's uv and the Python environment (uv.lock) only
	@$(LOCALCTL) python

lint: python ## ruff and mypy over the whole workspace, tsc over the web apps
	$(UV) ruff check .
	$(UV) ruff format --check .
	$(UV) mypy -p mpp_shared -p catalog -p applications -p documents -p notifications -p gateway
	$(UV) mypy deploy/local benchmarks
	cd web && { test -d node_modules || npm ci --no-audit --no-fund; } && npx tsc --noEmit

format: python ## Apply ruff's formatting and safe fixes
	$(UV) ruff check --fix .
	$(UV) ruff format .

# The browser tests run in a pytest process of their own: Playwright's sync API keeps its event
# loop in the test thread, and the async fixtures torn down after it (the in-process services) can
# hang at the end of the session.
BROWSER_TESTS := $(wildcard tests/e2e/test_web_*.py)
SECURITY_TESTS := tests/e2e/security
FAULT_TESTS := tests/e2e/faults
SOAK_TESTS := tests/e2e/soak

test: servers lint browser ## Lint, unit, integration and end-to-end tests on the real servers
	$(PYTEST) --durations=10 --ignore=$(SECURITY_TESTS) --ignore=$(FAULT_TESTS) --ignore=$(SOAK_TESTS) $(addprefix --ignore=,$(BROWSER_TESTS))
	$(PYTEST) --durations=5 $(BROWSER_TESTS)

test-security: servers ## The platform attacked from outside: forged tokens at every port, the API fuzzed (schemathesis); CI runs it after make test
	$(PYTEST) --durations=5 -s $(SECURITY_TESTS)

test-faults: servers ## Under a stream of 20 calls a second, kill each service and stop each server in turn; then check nothing was lost or done twice (report in build/faults/)
	$(PYTEST) --durations=10 -s $(FAULT_TESTS)

soak: servers ## Ten minutes of mixed load (MPP_SOAK_SECONDS to change it): no error, no service's memory growing more than 10% after the warm-up
	$(PYTEST) -s $(SOAK_TESTS)

backup: python ## Back up every service's database and the S3 bucket into .data/backups/<UTC time>/ (NAMESPACE=, TO= optional)
	$(UV) python -m mpp_shared.backup backup $(if $(NAMESPACE),--namespace $(NAMESPACE)) $(if $(TO),--to $(TO))

restore: python ## Restore a backup, services stopped: make restore DIR=.data/backups/<time> (FORCE=1 to restore under running services)
	@test -n "$(DIR)" || { echo "usage: make restore DIR=.data/backups/<time>"; exit 1; }
	$(UV) python -m mpp_shared.backup restore $(DIR) $(if $(NAMESPACE),--namespace $(NAMESPACE)) $(if $(FORCE),--force)

test-unit: python ## Unit tests only (no servers)
	$(PYTEST) -m "not integration and not e2e"

test-integration: servers ## Integration tests on the real servers
	$(PYTEST) -m integration

test-e2e: servers ## End-to-end tests: the services as processes behind the gateway
	$(PYTEST) -m e2e --ignore=$(SECURITY_TESTS) --ignore=$(FAULT_TESTS) --ignore=$(SOAK_TESTS)

bench: servers bench-tools ## Every scenario on the year `make seed-volume` loaded, beside its ceiling: benchmarks/results/<date>.{json,md,png}
	$(UV) python benchmarks/bench.py
	$(UV) python benchmarks/bench_event_pipeline.py

bench-more: servers ## Smaller benchmarks: the search index alone, sign-in's password hashing
	$(UV) python benchmarks/bench_catalog_search.py
	$(UV) python benchmarks/bench_gateway.py

browser: ## Debian's Chromium, which the browser tests drive, installed if missing
	@test -x "$${MPP_CHROMIUM:-/usr/bin/chromium}" || { \
	  echo "==> install Chromium (Debian's package, for the browser tests) ..."; \
	  apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

bench-tools:
	@command -v wrk >/dev/null && command -v nginx >/dev/null || { \
	  echo "==> install wrk and nginx (Debian's packages) ..."; \
	  apt-get install -y -qq --no-install-recommends wrk nginx >/dev/null; }

seed-volume: servers ## Load a year of Sinjai (60,000 applications, 40,000 citizens, 150,000 documents, 500,000 messages) into the namespace `volume`; run services with MPP_NAMESPACE=volume
	$(UV) python benchmarks/seed_volume.py load

seed-volume-drop: ## Drop the namespace `volume`'s databases (what seed-volume loaded)
	$(UV) python benchmarks/seed_volume.py drop

contracts: python ## Write the events' JSON Schemas and AsyncAPI document to build/contracts
	$(UV) mpp-contracts build/contracts

dlq-replay: python ## Replay a consumer's dead-letter topic: make dlq-replay SERVICE=applications
	$(UV) mpp-dlq $(SERVICE)

outbox-replay: python ## Put the events a service's outbox parked back to publish: make outbox-replay SERVICE=applications
	$(UV) python -m mpp_shared.outbox $(SERVICE) --replay
