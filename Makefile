# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run test check install install-dev bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(DEV_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(STAMP)
install-dev: $(DEV_STAMP)

## Runs the service: API + worker, embedded PostgreSQL unless DATABASE_URL is set, demo data, tokens printed.
run: $(STAMP)
	$(BIN)/jobrunner run

## The static checks (docs/architecture.md): the layers (import-linter contracts in
## pyproject.toml), ruff lint and format, mypy over src/.
check: $(DEV_STAMP)
	$(BIN)/lint-imports
	$(BIN)/ruff check src
	$(BIN)/ruff format --check src
	$(BIN)/mypy

## The static checks, then the whole test suite against a real PostgreSQL
## (TEST_DATABASE_URL, default 127.0.0.1:5432).
test: check
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) .jobrunner
