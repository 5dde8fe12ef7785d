# siteselect developer entry points. `make demo` and `make test` are the README Quickstart.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: demo test install test-deps webassets lint format demo-data clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

install: $(BIN)/python
	$(PIP) install -e .

demo: install
	$(BIN)/siteselect run configs/demo.yaml

test-deps: $(BIN)/python
	$(PIP) install -e ".[test]"
	@$(MAKE) --no-print-directory webassets

# Local copies of the map's CDN assets for the headless-browser tests (npm registry).
webassets:
	@if command -v npm >/dev/null 2>&1; then \
		cd tests/webassets && npm ci --no-audit --no-fund --loglevel=error; \
	else \
		echo "npm not found: browser tests will be skipped (install nodejs and npm to run them)"; \
	fi

test: test-deps
	$(BIN)/python -m pytest

lint: $(BIN)/python
	$(BIN)/ruff check siteselect tests bench
	$(BIN)/ruff format --check siteselect tests bench

format: $(BIN)/python
	$(BIN)/ruff format siteselect tests bench
	$(BIN)/ruff check --fix siteselect tests bench

demo-data: install
	$(BIN)/siteselect demo-data --out layers/demo

clean:
	rm -rf $(VENV) outputs/demo tests/webassets/node_modules tests/artifacts .pytest_cache
