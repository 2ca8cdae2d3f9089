# Set-up lives here so that a fresh clone needs nothing but Python 3.11+ and make.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
SAMPLES := $(sort $(wildcard samples/*.txt samples/*.csv))
SAMPLE_MAPS := $(addprefix --map ,$(sort $(wildcard samples/*.map.toml)))

.PHONY: demo test lint unit bench clean browser fuzz

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"

# Stamp files record which install a venv has, so `make test` after `make demo` adds the dev extras.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(VENV)/.installed $@

demo: $(VENV)/.installed
	@mkdir -p out
	$(BIN)/trace-audit audit $(SAMPLES) $(SAMPLE_MAPS) --html out/report.html --fail-on never

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

unit: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q

# Headless Chromium for the browser tests (tests/browser): Debian's packages, installed
# only when missing. Without root or apt-get it says why and the browser tests then fail
# with the same advice (they are never skipped).
CHROMIUM ?= /usr/bin/chromium
CHROMEDRIVER ?= /usr/bin/chromedriver
browser:
	@if [ -x $(CHROMIUM) ] && [ -x $(CHROMEDRIVER) ]; then \
		echo "browser: $(CHROMIUM) and $(CHROMEDRIVER) are installed"; \
	elif ! command -v apt-get >/dev/null 2>&1; then \
		echo "browser: $(CHROMIUM) or $(CHROMEDRIVER) is missing and there is no apt-get: install Chromium and its chromedriver there, or the browser tests will fail"; \
	elif [ "$$(id -u)" != 0 ]; then \
		echo "browser: $(CHROMIUM) or $(CHROMEDRIVER) is missing and installing needs root: run 'sudo make browser' (apt-get install chromium chromium-driver), or the browser tests will fail"; \
	else \
		DEBIAN_FRONTEND=noninteractive apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver; \
	fi

test: browser lint unit

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/bench_audit.py

# The property tests (parsers, map and rule loaders, engine) for FUZZ_SECONDS in all, e.g.
# `make fuzz FUZZ_SECONDS=600`: each test gets a share of the time, many more examples
# than in `make test`. Failing examples stay in .hypothesis/ and are replayed first by the
# next run; the exit status is non-zero on a failure. tests/conftest.py holds the budget.
FUZZ_SECONDS ?= 600
fuzz: $(VENV)/.installed-dev
	TRACE_AUDITOR_FUZZ_SECONDS=$(FUZZ_SECONDS) $(BIN)/python -m pytest -q -m hypothesis -p no:cacheprovider tests

clean:
	rm -rf $(VENV) out .pytest_cache .ruff_cache
