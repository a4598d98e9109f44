# CLARA Monitor: `make` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
# The first Python 3.12 or 3.11 on PATH: whylogs' compiled sketches exist for those two only.
PYTHON ?= $(shell for p in python3.12 python3.11 python3; do \
	  command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 12))' 2>/dev/null && { echo $$p; break; }; \
	done)
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The lock: every version that `make install` and the images install, pinned (pip -c). `make lock` writes
# it with uv, itself pinned here, resolved once for CPython 3.11 and 3.12 alike.
LOCK := constraints.txt
UV_VERSION := 0.13.8
UV_VENV := build/uv-$(UV_VERSION)
COMPOSE ?= $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose)
# The end-to-end stack: compose.yaml plus compose.test.yaml, under a project name of its own so that it
# never touches the stack (or the database volume) of `make up`.
E2E_PROJECT ?= clara-e2e
E2E_COMPOSE = $(COMPOSE) -p $(E2E_PROJECT) -f compose.yaml -f compose.test.yaml
# Written by ci/docker/setup.sh on a machine that cannot pull python:3.12-slim or mongo:7: the local
# BASE_IMAGE and MONGO_IMAGE that replace them (absent elsewhere, and then the defaults hold).
-include build/docker-images.env
PYTEST_ARGS ?=
export WHYLOGS_NO_ANALYTICS := 1

.PHONY: help install lock lint typecheck test test-fast coverage e2e run demo up down logs rotate-db-passwords clean

help: ## Show this help
	@grep -hE '^[a-zA-Z0-9_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-20s\033[0m %s\n", $$1, $$2}'

# Every distribution of the workspace, editable: clara-common, the three services (each a pyproject.toml of
# its own under services/) and the workspace itself (the demo and the test tools), at the lock's versions.
WORKSPACE := $(foreach service,$(wildcard services/*/pyproject.toml),./$(dir $(service))) '.[test]'
$(STAMP): pyproject.toml services/*/pyproject.toml $(LOCK)
	@test -n "$(PYTHON)" || { echo "error: Python 3.11 or 3.12 is needed (whylogs has no wheels for other versions)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade -c $(LOCK) pip
	@# setuptools warns that a folder named like a package may shadow it; the services' flat layout is meant.
	PYTHONWARNINGS="ignore:Editable installation" \
	  $(BIN)/pip install --quiet -c $(LOCK) --build-constraint $(LOCK) $(foreach path,$(WORKSPACE),-e $(path))
	@touch $@

install: $(STAMP) ## Create .venv and install the services, their console commands and the test tools

# The lock's input is what `make install` installs, plus the e2e runner's requirements, pip and the build
# backend; the workspace's own distributions are left out (pip takes no local paths as constraints).
# Without hashes: pip's hash-checking mode refuses editable and local-folder installs, which every
# install here has. tests/unit/test_lock.py fails when a pyproject.toml asks for a version the lock lacks.
lock: ## Refresh constraints.txt after a change to a pyproject.toml (UPGRADE=1: every package to its newest allowed)
	@test -n "$(PYTHON)" || { echo "error: Python 3.11 or 3.12 is needed"; exit 1; }
	@test -x $(UV_VENV)/bin/uv || { $(PYTHON) -m venv $(UV_VENV) && $(UV_VENV)/bin/pip install --quiet uv==$(UV_VERSION); }
	{ printf -- '-e %s\n' $(WORKSPACE); printf '%s\n' '-r tests/e2e/requirements.txt' pip 'setuptools>=77'; } | \
	  $(UV_VENV)/bin/uv pip compile - --universal --python-version 3.11 $(if $(UPGRADE),--upgrade) --quiet \
	    --custom-compile-command 'make lock' \
	    $(foreach name,$(shell sed -n 's/^name = "\(.*\)"$$/\1/p' pyproject.toml services/*/pyproject.toml),--no-emit-package $(name)) \
	    -o $(LOCK)

lint: $(STAMP) ## Lint and check the formatting of every Python file with ruff (rules in pyproject.toml)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP) ## Type-check with mypy --strict the modules listed in pyproject.toml [tool.mypy]
	$(BIN)/mypy

test: $(STAMP) ## Run the whole test suite against a throwaway MongoDB
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: $(STAMP) ## Run the unit tests only (no database, no browser): seconds
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

# Only what runs in the pytest process is measured: code in the subprocesses that some tests start (a
# monitor, clara-logger --once) is not. Narrow it with PYTEST_ARGS, e.g. PYTEST_ARGS=tests/unit.
coverage: $(STAMP) ## Run the test suite with line and branch coverage of the services and print the total
	$(BIN)/python -m pytest --cov --cov-branch --cov-report=term $(PYTEST_ARGS)

# `run` starts the stack's services (waiting for a healthy mongo, the seed's success, a healthy logger
# and monitor) and then the runner, and exits with the runner's status. Not `up --abort-on-container-exit`:
# the seed's normal exit would stop the stack. The monitor is published on a free loopback port only.
# Afterwards the e2e images' superseded (dangling) versions are pruned; the current ones stay as cache.
e2e: ## Run tests/e2e in Docker Compose against the whole stack on a throwaway database, then remove it all
	@status=0; \
	export MONITOR_HOST=127.0.0.1 MONITOR_PORT=0; \
	$(E2E_COMPOSE) build || status=$$?; \
	if [ $$status -eq 0 ]; then $(E2E_COMPOSE) run --rm -T test-runner || status=$$?; fi; \
	if [ $$status -ne 0 ]; then \
	  echo "make e2e: failed ($$status); the services' last log lines:"; \
	  $(E2E_COMPOSE) logs --no-color --tail=60 mongo-secrets mongo mongo-users mongo-seed logger monitor || true; \
	fi; \
	$(E2E_COMPOSE) down -v --remove-orphans || true; \
	docker image prune -f --filter label=com.docker.compose.project=$(E2E_PROJECT) >/dev/null || true; \
	exit $$status

run: ## Run the stack: Docker Compose when a Docker engine answers, else without Docker (make demo)
	@if docker info >/dev/null 2>&1; then $(MAKE) --no-print-directory up; \
	else echo "No Docker engine answers: running without Docker (make demo)."; $(MAKE) --no-print-directory demo; fi

# A taken port (MONITOR_PORT, default 5004) or a demo already running on .data/mongo stops it with one line.
demo: $(STAMP) ## Run the stack without Docker: embedded database (data in .data/), seed, logger, monitor on :5004 (MONITOR_PORT)
	$(BIN)/clara-demo

# The database passwords missing from .env are generated into it first (never one that is set). When
# any was added, every container is recreated: a stack started before (with passwords generated in its
# volumes) gets the new ones applied by mongo-users, and its services must log in again with them.
# The monitor's port is checked first (scripts/check-monitor-port.sh): taken by another program, it stops
# here with one line naming MONITOR_PORT, before anything is built or started.
up: ## Start the stack with Docker Compose (database passwords missing from .env generated into it), then open http://localhost:5004
	@port=$$(COMPOSE="$(COMPOSE)" scripts/check-monitor-port.sh .env) || exit $$?; \
	added=$$(scripts/ensure-env-secrets.sh .env) || exit $$?; \
	if [ -n "$$added" ]; then echo "make up: generated into .env (git-ignored):" $$added; fi; \
	echo "$(COMPOSE) up --build -d$${added:+ --force-recreate}"; \
	$(COMPOSE) up --build -d $${added:+--force-recreate} && \
	echo "CLARA Monitor: http://localhost:$${port%%-*}"

# Drops the four passwords from .env; `make up` then generates new ones, mongo-users logs in as root with
# the stored root password and sets the new ones, and every container starts again with them.
rotate-db-passwords: ## Replace the database passwords in .env with new random ones and apply them to the running stack
	@test -f .env || { echo "make rotate-db-passwords: no .env here (make up writes one)"; exit 1; }
	@kept=$$(grep -Ev '^[[:space:]]*(export[[:space:]]+)?MONGO_(ROOT|MONITOR|LOGGER|SEED)_PASSWORD=' .env || true); \
	if [ -n "$$kept" ]; then printf '%s\n' "$$kept" > .env; else : > .env; fi
	@$(MAKE) --no-print-directory up

down: ## Stop the Compose stack (keeps the database volume)
	$(COMPOSE) down

logs: ## Follow the Compose stack's logs
	$(COMPOSE) logs -f

clean: ## Remove the virtual environment, caches and demo data
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage .coverage.* htmlcov .data artifacts build *.egg-info services/*/*.egg-info scripts/*.egg-info
