# adrelay — the two commands are `make demo` and `make test`; both set everything up first.
SHELL := /bin/bash
PY := .venv/bin/python
PYTEST_ARGS ?=

.PHONY: help venv up down status test demo lint format typecheck contract bench clean monitor monitor-down

help:
	@echo "make demo    set everything up, then publish sample campaigns to the three sandboxes"
	@echo "make test    set everything up, then run the whole test suite"
	@echo "make up | down | status    the local runtime (Kafka, PostgreSQL, sandboxes)"
	@echo "make lint | typecheck | contract | bench"
	@echo "make monitor | monitor-down    Prometheus + consumer-lag exporter beside the local runtime"

venv:
	@deploy/local/bootstrap.sh

up: venv
	@$(PY) deploy/local/runtime.py up

down:
	@if [ -x $(PY) ]; then $(PY) deploy/local/runtime.py down; fi

status: venv
	@$(PY) deploy/local/runtime.py status

test: up
	$(PY) -m pytest -q --durations=15 $(PYTEST_ARGS)

demo: up
	$(PY) deploy/local/demo.py

lint: venv
	.venv/bin/ruff check shared services sandbox tests deploy bench
	.venv/bin/ruff format --check shared services sandbox tests deploy bench

format: venv
	.venv/bin/ruff format shared services sandbox tests deploy bench
	.venv/bin/ruff check --fix shared services sandbox tests deploy bench

typecheck: venv
	.venv/bin/mypy
	.venv/bin/mypy sandbox bench

contract: venv
	.venv/bin/adrelay contract write

bench: up
	$(PY) -m bench

monitor: up
	@$(PY) deploy/monitoring/monitor.py up

monitor-down:
	@if [ -x $(PY) ]; then $(PY) deploy/monitoring/monitor.py down; fi

clean: down
	rm -rf .runtime .venv
