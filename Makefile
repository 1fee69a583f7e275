# The two commands of README.md. Both work on a fresh machine with Python 3.11+.
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test install install-dev lint demo

$(VENV)/.runtime: requirements.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt $(VENV)/.runtime
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

## make run: install, create instance/ (database, secret key, photo folder) and serve the app.
run: install
	$(PY) -m flask --app webapp db upgrade
	$(PY) -m flask --app webapp run --host $(HOST) --port $(PORT)

## make demo: an account (demo@skinlog.example / demo-password) with 3 sessions and 60 days of entries.
demo: install
	$(PY) -m flask --app webapp db upgrade
	$(PY) -m flask --app webapp demo

## make test: install the test tools, lint, and run every test (unit, route, end-to-end in Chromium).
test: install-dev
	$(VENV)/bin/ruff check .
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install-dev
	$(VENV)/bin/ruff check .
