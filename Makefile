# Two entry points: `make run` (service with demo data) and `make test` (lint, types, tests).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SRC := src tests migrations bench

.PHONY: run test install install-dev lint typecheck pytest security fuzz reliability clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python requirements.lock pyproject.toml
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.lock
	$(BIN)/pip install --quiet -r requirements-dev.lock
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

run: install
	$(BIN)/frontdesk demo
	$(BIN)/frontdesk serve

lint: install-dev
	$(BIN)/ruff check $(SRC)
	$(BIN)/ruff format --check $(SRC)

typecheck: install-dev
	$(BIN)/mypy

pytest: install-dev
	$(BIN)/pytest

test: lint typecheck pytest

# bandit over src (high severity fails) and pip-audit over requirements.lock.
security: install-dev
	$(BIN)/bandit -r src -q --severity-level high
	$(BIN)/python .ci/audit_dependencies.py

# A longer schema fuzzing pass (the normal test run makes 2 examples per operation and mode).
FUZZ_EXAMPLES ?= 25
fuzz: install-dev
	FRONTDESK_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest tests/robustness/test_fuzz.py -q

# Runs the robustness suite and writes docs/reliability.md from its counters.
reliability: install-dev
	$(BIN)/python -m tests.robustness.report

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
