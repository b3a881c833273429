# `make run` serves the app on the embedded default (SQLite, in-memory layer);
# `make test` runs every check and test on PostgreSQL and Redis.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test install frontend yclients lint bench

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

install: $(STAMP)

frontend/node_modules/.package-lock.json: frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund

frontend: frontend/node_modules/.package-lock.json
	cd frontend && npm run build

yclients/node_modules/.package-lock.json: yclients/package-lock.json
	cd yclients && npm ci --no-audit --no-fund

yclients: yclients/node_modules/.package-lock.json

run: install frontend
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python -m editor_project.server.serve --host 127.0.0.1 --port 8000

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

test: install frontend yclients lint
	$(BIN)/python -m devtools.services -- $(BIN)/pytest

bench: install yclients
	$(BIN)/python bench/run.py
