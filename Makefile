# Two commands do all set-up: `make serve` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve test lint fuzz bench worker clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

serve: $(STAMP)
	$(BIN)/gpserver serve

worker: $(STAMP)
	$(BIN)/gpserver worker

lint: $(STAMP)
	$(BIN)/ruff format --check src tests
	$(BIN)/ruff check src tests
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

fuzz: $(STAMP)
	GPSERVER_FUZZ_EXAMPLES=$${GPSERVER_FUZZ_EXAMPLES:-300} $(BIN)/pytest -m fuzz -p no:randomly tests/fuzz -q

clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache
