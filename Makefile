# Set-up for a fresh machine: `make demo` and `make test` (see README.md) do everything.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# Python keeps the bytecode of what it imports (and pytest its rewritten test modules) under
# __pycache__/: a shell that sets PYTHONDONTWRITEBYTECODE would make every run compile ~240
# modules again, a third of `make test-fast`'s minute.
unexport PYTHONDONTWRITEBYTECODE

# Debian packages the tests need: prometheus (promtool and a real Prometheus) and
# prometheus-alertmanager, both started by the tests on loopback. An area that needs
# another one adds it here; chromium renders the showback in tests/test_showback_browser.py.
DEB_PACKAGES := prometheus prometheus-alertmanager chromium

.PHONY: demo test test-fast lint deb-packages bench install clean instrumentation-envs

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV) || \
	    { echo "'$(PYTHON) -m venv' failed: install Debian's python3-venv (apt-get install python3-venv)"; exit 1; }
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Installs only what is missing, as root (apt-get update, then apt-get install); otherwise
# says which packages to install, and the tests that need them fail naming the program.
deb-packages:
	@missing=""; \
	for p in $(DEB_PACKAGES); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:$$missing"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null || exit 1; \
	else \
	    echo "*** the tests need these Debian packages, which are not installed:$$missing"; \
	    echo "*** install them as root:  sudo apt-get install -y --no-install-recommends$$missing"; \
	    echo "*** (or run make test as root); tests that need them fail until then"; \
	fi

# A fresh warehouse each time: a second run would add a second fleet over the same days.
demo: $(STAMP)
	rm -f demo.duckdb demo.duckdb.wal
	$(BIN)/inferledger --db demo.duckdb demo --days 7

lint: $(STAMP)
	$(BIN)/python -m ruff check .

# The whole suite, slow and server-starting tests included (what CI runs).
test: deb-packages $(STAMP) lint instrumentation-envs
	$(BIN)/python -m pytest -m '' -q

# The fast default suite (no slow or server-marked tests).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q

# One venv / npm folder per instrumentation library (tests/instrumentations/), built once.
instrumentation-envs:
	PYTHON=$(PYTHON) tests/instrumentations/build_envs.sh openinference_openai openinference_anthropic otel_openai_v2 openllmetry anthropic_native openlit traceloop vercel_ai

bench: $(STAMP)
	for b in benchmarks/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) demo.duckdb demo.duckdb.wal demo-out showback
