# One entry point for people and CI. Every target installs what it needs first (scripts/bootstrap.sh).
SHELL := /bin/bash
STACK ?= dev
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 5000

CHARTS ?= build/charts

.PHONY: bootstrap test lint plan run bench clean chart-sources charts

bootstrap:
	@scripts/bootstrap.sh

## test: every test (infra under Pulumi mocks, the shop on SQLite and PostgreSQL, Chromium, scanners)
test: bootstrap
	$(PY) -m pytest $(PYTEST_ARGS)

lint: bootstrap
	$(VENV)/bin/ruff check .

## plan: what `pulumi up` would create for STACK, offline (resource tree, outputs, manifests, capacity, zone loss, cost)
plan: bootstrap
	$(PY) -m dhakacart_infra.plan --stack $(STACK)

## chart-sources: helm pull --untar of every chart the program pins, into CHARTS (needs the chart repositories)
chart-sources: bootstrap
	$(PY) -m dhakacart_infra.charts pull --charts $(CHARTS)

## charts: render every release of both stacks from CHARTS and record their facts (dhakacart_infra/charts/facts)
charts: bootstrap
	$(PY) -m dhakacart_infra.charts record --charts $(CHARTS)

## run: the storefront on http://127.0.0.1:$(PORT), SQLite, demo catalog
run: bootstrap
	cd app && ../$(VENV)/bin/flask --app dhakacart db upgrade && ../$(VENV)/bin/flask --app dhakacart seed \
	  && ../$(VENV)/bin/flask --app dhakacart run --port $(PORT)

## bench: the benchmarks in bench/ (results go into README)
bench: bootstrap
	$(PY) -m bench

clean:
	rm -rf build .pytest_cache app/instance
