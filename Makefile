# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run test install install-dev bench clean

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

## Runs the whole test suite against a real PostgreSQL (TEST_DATABASE_URL, default 127.0.0.1:5432).
test: $(DEV_STAMP)
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) .jobrunner
