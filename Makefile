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

# Benchmarks (issue 7): never part of `make test`. `make bench BENCH_QUICK=1` is the ~2-minute run.
PEER := bench/.venv-pygeoapi
$(PEER)/.installed:
	test -x $(PEER)/bin/python || $(PYTHON) -m venv $(PEER)
	$(PEER)/bin/python -m pip install --quiet pygeoapi shapely orjson starlette 'uvicorn[standard]'
	touch $@

bench: $(STAMP) $(PEER)/.installed
	$(BIN)/python -m bench.run $(if $(BENCH_QUICK),--quick,) $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache
