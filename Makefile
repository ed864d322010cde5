# calmline — the two commands in the README are the contract:
#   make demo   installs everything into .venv and runs the demo
#   make test   installs everything into .venv and runs the whole test suite (lint, types, tests)
PY := $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install demo test lint typecheck unit schema clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $@

demo: install
	$(BIN)/calmline demo

lint: install
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src/calmline/events src/calmline/engine src/calmline/store src/calmline/service.py

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest --cov=calmline --cov-report=term:skip-covered

test: lint typecheck unit

schema: install
	$(BIN)/calmline schema --out docs/schema

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage
