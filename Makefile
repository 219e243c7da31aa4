# Set-up for a fresh machine: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-fast bench install clean instrumentation-envs

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# A fresh warehouse each time: a second run would add a second fleet over the same days.
demo: $(STAMP)
	rm -f demo.duckdb demo.duckdb.wal
	$(BIN)/inferledger --db demo.duckdb demo --days 7

# The whole suite, slow and server-starting tests included (what CI runs).
test: $(STAMP) instrumentation-envs
	$(BIN)/python -m pytest -m '' -q

# The fast default suite.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q

# One venv / npm folder per instrumentation library (tests/instrumentations/), built once.
instrumentation-envs:
	PYTHON=$(PYTHON) tests/instrumentations/build_envs.sh openinference_openai openinference_anthropic otel_openai_v2 openllmetry anthropic_native vercel_ai

bench: $(STAMP)
	for b in benchmarks/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) demo.duckdb demo.duckdb.wal demo-out showback
