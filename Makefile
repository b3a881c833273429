# `make run` serves the app on the embedded default (SQLite, in-memory layer);
# `make test` runs every check and test on PostgreSQL and Redis (what CI runs);
# `make test-fast` only the unit, consumer and web tests, without browsers.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test test-fast install frontend yclients lint django-checks bench bench-references faults

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

install: $(STAMP)

frontend/node_modules/.package-lock.json: frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund

# The editor bundle, built into the documents app (documents/static/editor/),
# where Django's staticfiles finds it and the wheel packs it.
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
	$(MAKE) django-checks

# Models without their migration, and the deploy checks with production settings
# (an in-memory database: neither needs data, and nothing is left behind).
django-checks: install
	DATABASE_URL=sqlite://:memory: $(BIN)/python manage.py makemigrations --check --dry-run
	DATABASE_URL=sqlite://:memory: DEBUG=false ALLOWED_HOSTS=docs.example.com \
		SECURE_SSL_REDIRECT=true SECRET_KEY="$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(64))')" \
		$(BIN)/python manage.py check --deploy --fail-level WARNING

test: install frontend yclients lint
	$(BIN)/python -m devtools.services -- $(BIN)/pytest

# No browsers, no live servers: for the edit-test loop, not a substitute for `make test`.
test-fast: install yclients
	$(BIN)/python -m devtools.services -- $(BIN)/pytest \
		documents/tests/unit documents/tests/consumer documents/tests/web

# The reference servers the benchmark runs beside the project (Hocuspocus, y-websocket).
bench/references/node_modules/.package-lock.json: bench/references/package-lock.json
	cd bench/references && npm ci --no-audit --no-fund

bench-references: bench/references/node_modules/.package-lock.json

# The project beside the reference servers, then the browser latency: figures and PASS/MISS
# per bar (BENCH_ARGS="--quick", "--only a b", "--skip-browser", "--strict"...).
$(VENV)/.bench-stamp: $(STAMP)
	$(BIN)/pip install -q -e '.[test,bench]'
	touch $@

bench: install $(VENV)/.bench-stamp frontend yclients bench-references
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# Faults against two server processes on throwaway PostgreSQL and Redis: a
# script that prints figures (and exits non-zero when a bar is missed).
faults: install yclients
	$(BIN)/python bench/faults.py
