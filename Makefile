# Two commands on a fresh clone: `make demo` and `make test`.
# Uses the active virtual environment, else creates .venv here.
PYTHON ?= python3
VENV ?= .venv
ENV_DIR := $(if $(VIRTUAL_ENV),$(VIRTUAL_ENV),$(CURDIR)/$(VENV))
BIN := $(ENV_DIR)/bin
PY := $(BIN)/python
STAMP := $(ENV_DIR)/.nbrepro-installed
PYTEST_ARGS ?=

.PHONY: demo test install lint typecheck pytest bench clean

$(PY):
	$(PYTHON) -m venv $(ENV_DIR)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/nbrepro demo

lint: install
	$(BIN)/ruff check nbrepro tests benchmarks
	$(BIN)/ruff format --check nbrepro tests benchmarks

typecheck: install
	$(BIN)/mypy

pytest: install
	$(PY) -m pytest $(PYTEST_ARGS)

test: lint typecheck pytest

bench: install
	$(PY) -m benchmarks

clean:
	rm -rf .nbrepro-demo build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
