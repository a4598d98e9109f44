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
COMPOSE ?= $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose)
PYTEST_ARGS ?=
export WHYLOGS_NO_ANALYTICS := 1

.PHONY: help install test demo up down logs clean

help: ## Show this help
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}'

$(STAMP): pyproject.toml requirements-*.txt services/*/requirements.txt
	@test -n "$(PYTHON)" || { echo "error: Python 3.11 or 3.12 is needed (whylogs has no wheels for other versions)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[seed,logger,monitor,embedded,test]'
	@# The editable install maps only the packages that existed when it ran; this puts the service
	@# folders on sys.path too, so a package added later imports without a reinstall.
	printf '%s\n' $(abspath $(wildcard services/*)) > "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')/clara-services.pth"
	@touch $@

install: $(STAMP) ## Create .venv and install the services, their console commands and the test tools

test: $(STAMP) ## Run the whole test suite against a throwaway MongoDB
	$(BIN)/python -m pytest $(PYTEST_ARGS)

demo: $(STAMP) ## Run the stack without Docker: embedded database (data in .data/), seed, logger, monitor on :5004
	$(BIN)/clara-demo

up: ## Start the stack with Docker Compose, then open http://localhost:5004
	$(COMPOSE) up --build -d
	@echo "CLARA Monitor: http://localhost:5004"

down: ## Stop the Compose stack (keeps the database volume)
	$(COMPOSE) down

logs: ## Follow the Compose stack's logs
	$(COMPOSE) logs -f

clean: ## Remove the virtual environment, caches and demo data
	rm -rf $(VENV) .pytest_cache .data artifacts build *.egg-info
