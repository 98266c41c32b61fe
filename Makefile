# Two commands for a newcomer: `make run` (the demo) and `make test` (the whole suite).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run test lint install install-dev migrate bench clean

$(VENV)/.installed: requirements.txt
	@bash scripts/ensure-venv.sh "$(PYTHON)" "$(VENV)"
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

run: install
	$(PY) -m tds_dash run

migrate: install
	$(PY) -m tds_dash migrate

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

test: install-dev lint
	@bash scripts/install-test-deps.sh
	$(PY) -m pytest $(PYTEST_ARGS)

bench: install-dev
	@bash scripts/install-test-deps.sh
	$(PY) bench/throughput.py
	$(PY) bench/latency.py
	$(PY) bench/outage.py
	$(PY) bench/startup.py

clean:
	rm -rf $(VENV) .pytest_cache
