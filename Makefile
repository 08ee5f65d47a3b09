# KAM — the two commands: `make run` and `make test`. Both do the whole set-up.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
PORT ?= 8000
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export PYTHONUNBUFFERED := 1

# Arguments of bench/report.py, e.g. BENCH_ARGS="--scale small" or "--only score,risk".
BENCH_ARGS ?=

.PHONY: run test test-citus bench setup install chromium services migrate messages seed lint format lock stop-services fuzz clean

run: setup ## Serve the app with the interactive and batch Celery workers, beat, the SMTP receiver of needs and the channel sink (Ctrl-C stops all)
	$(PY) manage.py seed_demo --once
	$(PY) manage.py serve --port $(PORT) --stop-services

test: setup chromium ## The whole test suite against real PostgreSQL and Redis, browser tests included; then the Citus suites when the Citus source is there
	$(BIN)/pytest
	$(PY) -m kam.citus_cluster test $(CITUS_TESTS) -- $(CITUS_PYTEST_ARGS)

# The suites that run on the Citus cluster: tenancy and row-level security, the isolation
# sweep, the APIs, scoring, risk, and the cluster's own (distribution, placement, a worker down).
CITUS_TESTS ?= tests/citus tests/kam/test_rls.py tests/kam/test_analyze.py tests/kam/test_stage.py tests/reliability/test_isolation_sweep.py \
	tests/accounts/test_import.py \
	tests/kam/test_api.py tests/accounts/test_api.py tests/teams/test_api.py tests/scoring tests/risk \
	tests/service/test_api.py tests/growth/test_api.py tests/growth/test_metrics.py tests/growth/test_whitespace.py tests/growth/test_forecast.py tests/growth/test_catalogue_orders.py \
	tests/renewals/test_services.py tests/renewals/test_api.py tests/portfolio/test_engine.py \
	tests/messaging/test_delivery.py
# The page tests of risk and scoring read through the same selectors the APIs above run on
# the cluster; they stay in the plain suite, so that CI keeps well under its half hour.
CITUS_PYTEST_ARGS ?= --ignore-glob=tests/risk/test_pages_*.py --ignore=tests/risk/test_notifications_pages.py \
	--ignore=tests/scoring/test_pages.py

test-citus: install messages ## The Citus suites on a local coordinator and two workers (builds Citus once from the source tarball CITUS_SRC, or CI's copy beside the checkout)
	$(PY) -m kam.citus_cluster test $(CITUS_TESTS) -- $(CITUS_PYTEST_ARGS)

bench: setup ## Every bench in one sitting; their figures into docs/performance.md
	$(PY) bench/report.py $(BENCH_ARGS)

setup: install services messages migrate

install: $(VENV)/.installed

chromium: ## Debian's Chromium for the browser tests (apt-get, when missing)
	@scripts/ensure-chromium

$(VENV)/.installed: requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --requirement requirements.lock
	@touch $@

services: install ## Start the embedded PostgreSQL and Redis unless DATABASE_URL / REDIS_URL are set
	@if [ -z "$$DATABASE_URL" ] || [ -z "$$REDIS_URL" ]; then $(PY) -m kam.embedded start; fi

messages: install
	@cd $(CURDIR) && $(PY) manage.py compilemessages --ignore=.venv --verbosity 0

migrate: install
	$(PY) manage.py migrate --noinput --verbosity 1

seed: setup
	$(PY) manage.py seed_demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

lock: ## Re-pin requirements.lock from requirements.in in a fresh virtual environment
	rm -rf $(VENV).lock && $(PYTHON) -m venv $(VENV).lock
	$(VENV).lock/bin/pip install --quiet --upgrade pip
	$(VENV).lock/bin/pip install --quiet --requirement requirements.in
	(echo "# Pinned by \`make lock\` from requirements.in (pip freeze of a fresh venv). Edit requirements.in, then run \`make lock\`."; \
	 $(VENV).lock/bin/pip freeze --exclude-editable) > requirements.lock
	rm -rf $(VENV).lock

# Examples per API operation and generation mode (valid, invalid) for `make fuzz`.
FUZZ_EXAMPLES ?= 100

fuzz: setup ## Fuzz the API against its OpenAPI schema (schemathesis) on a live test server
	KAM_FUZZ_LIVE=1 KAM_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) KAM_FUZZ_BUDGET=3600 \
		$(BIN)/pytest tests/reliability/test_api_fuzz.py -q

stop-services: ## Stop the embedded PostgreSQL and Redis
	$(PY) -m kam.embedded stop

clean: stop-services
	rm -rf $(VENV) var staticfiles
