# customers-api — every target installs what it needs (pinned) on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Python 3.13: on PATH, or pyenv's build of it.
PYTHON313 ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13) $(shell command -v python3.13))
PY313_DIR := $(dir $(PYTHON313))
VENV := .venv
PY := $(VENV)/bin/python
SAM := .venv-sam/bin/sam
PORT ?= 3000
export SAM_CLI_TELEMETRY := 0
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# `make run WEBHOOK_RETRY_SCHEDULE=0,2,5` or `RATE_LIMIT_PER_SECOND=0` (or the same in the environment)
# reaches the local stack.
export WEBHOOK_RETRY_SCHEDULE
export RATE_LIMIT_PER_SECOND

.PHONY: help check-python install openapi run test test-unit test-integration test-e2e test-infra lint bench build validate deploy clean

help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

check-python:
	@test -x "$(PYTHON313)" || { echo "Python 3.13 not found: install it (e.g. pyenv install 3.13) or set PYTHON313=" >&2; exit 1; }
	@command -v java >/dev/null || { echo "java not found: DynamoDB Local needs Java 17+ (apt-get install -y openjdk-17-jre-headless)" >&2; exit 1; }
	@command -v npm >/dev/null || { echo "npm not found: apt-get install -y nodejs npm" >&2; exit 1; }

$(VENV)/.installed: requirements/dev.txt pyproject.toml | check-python
	$(PYTHON313) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet -r requirements/dev.txt
	$(VENV)/bin/pip install --quiet --no-deps -e .
	touch $@

.venv-sam/.installed: requirements/sam.txt | check-python
	$(PYTHON313) -m venv .venv-sam
	.venv-sam/bin/pip install --quiet -r requirements/sam.txt
	touch $@

.venv-checkov/.installed: requirements/checkov.txt | check-python
	$(PYTHON313) -m venv .venv-checkov
	.venv-checkov/bin/pip install --quiet -r requirements/checkov.txt
	touch $@

node_modules/.installed: package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed node_modules/.installed .venv-sam/.installed .venv-checkov/.installed ## set up everything

run: $(VENV)/.installed node_modules/.installed ## the local stack on 127.0.0.1:$(PORT) (Ctrl-C stops it)
	$(PY) -m local_stack --port $(PORT)

test: install lint ## every test tier (unit, integration, e2e, infrastructure)
	PATH="$(abspath $(PY313_DIR)):$$PATH" $(PY) -m pytest tests

test-unit: $(VENV)/.installed ## unit tests only (seconds)
	$(PY) -m pytest tests/unit

test-integration: $(VENV)/.installed node_modules/.installed ## DAL and fan-out on DynamoDB Local
	$(PY) -m pytest tests/integration

test-e2e: $(VENV)/.installed node_modules/.installed ## real HTTP against a local stack
	$(PY) -m pytest tests/e2e

test-infra: install ## sam validate --lint, cfn-lint, checkov, sam build per stage, events/ samples
	PATH="$(abspath $(PY313_DIR)):$$PATH" $(PY) -m pytest tests/infrastructure

lint: $(VENV)/.installed ## ruff and mypy
	$(VENV)/bin/ruff check layers functions tools tests
	$(VENV)/bin/mypy

bench: $(VENV)/.installed node_modules/.installed ## benchmarks → docs/benchmarks.md
	$(PY) -m benchmarks --out docs/benchmarks.md $(BENCH_ARGS)

openapi: $(VENV)/.installed ## regenerate docs/openapi.json from the code
	$(PY) -m local_stack.openapi

build: .venv-sam/.installed ## sam build (arm64, no container)
	PATH="$(abspath $(PY313_DIR)):$$PATH" $(SAM) build

validate: .venv-sam/.installed .venv-checkov/.installed ## sam validate --lint, and checkov
	$(SAM) validate --lint --region us-east-1
	.venv-checkov/bin/checkov -f template.yaml --framework cloudformation --compact --quiet --skip-download

STAGE ?= dev
deploy: build ## sam deploy --config-env $(STAGE) (checks for AWS credentials first)
	$(PY) -m customers_admin.preflight --stage $(STAGE)
	$(SAM) deploy --config-env $(STAGE)

clean: ## remove build output and local data
	rm -rf .aws-sam .local .pytest_cache
