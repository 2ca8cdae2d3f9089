# Set-up lives here so that a fresh clone needs nothing but Python 3.11+ and make.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
SAMPLES := $(sort $(wildcard samples/*.txt samples/*.csv))
SAMPLE_MAPS := $(addprefix --map ,$(sort $(wildcard samples/*.map.toml)))

.PHONY: demo test lint unit bench clean

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

test: lint unit

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/bench_audit.py

clean:
	rm -rf $(VENV) out .pytest_cache .ruff_cache
