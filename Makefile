# The commands of README.md. run/demo/serve work on a fresh machine with Python 3.11+; test also
# needs Debian's postgresql, redis-server and chromium.
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 5000

WORKERS ?= 4

.PHONY: run serve test test-sqlite test-postgres install install-dev lint demo

$(VENV)/.runtime: requirements.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt $(VENV)/.runtime
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

# The reminder tests' Web Push service (web-push-testing), pinned by its lock file, installed into
# the project folder (never globally).
PUSH_SERVICE := tests/push_service
$(PUSH_SERVICE)/node_modules/.installed: $(PUSH_SERVICE)/package.json $(PUSH_SERVICE)/package-lock.json
	npm ci --prefix $(PUSH_SERVICE) --no-audit --no-fund
	touch $@

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev $(PUSH_SERVICE)/node_modules/.installed

## make run: install, create instance/ (database, secret key, photo folder) and serve the app;
## it sends due reminders from a thread of its own (REMINDERS_IN_PROCESS), so no cron is needed.
run: install
	$(PY) -m flask --app webapp db upgrade
	REMINDERS_IN_PROCESS=1 $(PY) -m flask --app webapp run --host $(HOST) --port $(PORT)

## make serve: production server: migrate, then gunicorn with $(WORKERS) workers (webapp/gunicorn_conf.py).
## Set DATABASE_URL, PHOTO_STORAGE, SECRET_KEY, RATELIMIT_STORAGE_URI first; see docs/deployment.md.
serve: install
	$(PY) -m flask --app webapp db upgrade
	BIND=$(HOST):$(PORT) WEB_CONCURRENCY=$(WORKERS) \
		$(VENV)/bin/gunicorn -c python:webapp.gunicorn_conf "webapp:create_app()"

## make demo: an account (demo@skinlog.example / demo-password) with 3 sessions and 60 days of entries.
demo: install
	$(PY) -m flask --app webapp db upgrade
	$(PY) -m flask --app webapp demo

## make test: install the test tools, lint, and run every test twice: on SQLite with photos in a
## folder, then on a throw-away PostgreSQL cluster with photos in S3 (moto's server over HTTP).
## Needs Debian's postgresql, redis-server and chromium (.ci/run installs them).
test: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	@status=0; \
	$(MAKE) --no-print-directory test-sqlite || status=1; \
	$(MAKE) --no-print-directory test-postgres || status=1; \
	exit $$status

test-sqlite: install-dev
	TEST_DATABASE=sqlite TEST_DATABASE_URL= TEST_PHOTO_STORAGE= $(PY) -m pytest $(PYTEST_ARGS)

test-postgres: install-dev
	TEST_DATABASE=postgresql TEST_DATABASE_URL= TEST_PHOTO_STORAGE=s3 $(PY) -m pytest $(PYTEST_ARGS)

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
