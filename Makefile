# LoanSyncro: `make run` starts everything, `make test` runs the whole suite.
# Settings come from the environment (DATABASE_URL, AMQP_URI, GATEWAY_PORT, ...);
# the defaults point at PostgreSQL and RabbitMQ on 127.0.0.1.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# Test processes in parallel: one per core by default.
JOBS ?= auto

.DEFAULT_GOAL := help
.PHONY: help install migrate run test test-unit test-integration test-e2e bench services demo check clean

help:
	@echo "make run       install, migrate and start every service; prints the URL (Ctrl-C stops)"
	@echo "make test      run the whole test suite against the local PostgreSQL and RabbitMQ"
	@echo "make demo      register a demo user with realistic loans on a running system"
	@echo "make bench     run the benchmarks (results: docs/benchmarks.md)"
	@echo "make services  install and start PostgreSQL and RabbitMQ (Debian/Ubuntu, as root)"
	@echo "make check     check that PostgreSQL and RabbitMQ are reachable"

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

check: install
	@$(PY) -m loansyncro.cli check

migrate: install
	@$(PY) -m loansyncro.cli migrate

run: install
	@$(PY) -m loansyncro.cli run

test: install
	$(PY) -m pytest -n $(JOBS) --dist loadgroup tests

test-unit: install
	$(PY) -m pytest -n $(JOBS) tests/unit

test-integration: install
	$(PY) -m pytest -n $(JOBS) --dist loadgroup tests/integration

test-e2e: install
	$(PY) -m pytest tests/e2e

bench: install
	$(PY) -m bench

demo: install
	@$(PY) -m loansyncro.cli demo

services:
	@sh deploy/dev/services.sh

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis var
