# financedash: `make run` to start, `make test` to check. Only Python 3.11 and make needed:
# uv is bootstrapped into .tools/ from PyPI when it is not on PATH.
SHELL := /bin/bash
PYTHON ?= python3.11
HOST ?= 127.0.0.1
PORT ?= 8000
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := .venv
# Use the operating system's certificate store (corporate or proxy CAs live there).
export UV_SYSTEM_CERTS := 1

SYSTEM_UV := $(shell command -v uv 2>/dev/null)
UV := $(or $(SYSTEM_UV),.tools/bin/uv)
PY := .venv/bin/python
MANAGE := $(PY) manage.py

.PHONY: install run demo test test-fast lint format bench screenshots migrate superuser clean help messages

help:
	@echo "make run     install, migrate and serve on http://$(HOST):$(PORT)"
	@echo "make demo    the same with generated market data and a demo household (login demo/demo),"
	@echo "             in its own database demo.sqlite3"
	@echo "make test    the whole suite (SQLite; set DATABASE_URL/REDIS_URL for PostgreSQL+Redis)"
	@echo "make lint    ruff check + format check + the import layers (lint-imports)"
	@echo "make messages  collect new UI strings into locale/nb/LC_MESSAGES/django.po (needs"
	@echo "             GNU gettext's xgettext), to be translated there"
	@echo "make bench   timing benchmarks against the household (tests/benchmarks): table and targets"
	@echo "             in artifacts/bench.txt and bench.json; BENCH_SCALE=small for a quick run"
	@echo "make screenshots  retake the README's screenshots (docs/screenshots/) of the demo household"

.tools/bin/uv:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv

.venv/.synced: pyproject.toml uv.lock | $(if $(SYSTEM_UV),,.tools/bin/uv)
	$(UV) sync --locked --python $(PYTHON)
	@touch $@

# The compiled translations (.mo) are built, not committed: babel compiles them in pure
# Python, so a fresh machine needs no GNU gettext (Django's compilemessages would).
CATALOGUES := $(patsubst %.po,%.mo,$(wildcard locale/*/LC_MESSAGES/*.po))

locale/nb/LC_MESSAGES/%.mo: locale/nb/LC_MESSAGES/%.po .venv/.synced
	.venv/bin/pybabel compile -i $< -o $@ -l nb

install: .venv/.synced $(CATALOGUES)

messages: install
	$(MANAGE) makemessages -l nb --no-location --no-obsolete --ignore=.venv --ignore=.tools --ignore=tests --ignore=staticfiles
	$(MANAGE) makemessages -d djangojs -l nb --no-location --no-obsolete --ignore=.venv --ignore=.tools --ignore=staticfiles --ignore=static/vendor

migrate: install
	$(MANAGE) migrate --noinput

# One ASGI server for HTTP and WebSocket (financedash/asgi.py). --reload restarts it when a
# Python file or a template changes (Django's own template reloading needs runserver);
# forwarded-for headers are never trusted (the login lockout counts the connection's address);
# no access log: the app logs each request itself, without the query string (tokens).
UVICORN := .venv/bin/uvicorn financedash.asgi:application --host $(HOST) --port $(PORT) \
	--no-proxy-headers --no-access-log --reload --reload-dir financedash --reload-dir marketdata \
	--reload-dir portfolios --reload-dir pensions --reload-dir templates \
	--reload-include '*.html'

# DEBUG stays off unless asked for (`make run DEBUG=true` or `DEBUG=true make run`): an
# error shows the friendly 500 page, never Django's debug page with settings and source.
# Static files come from their source folders (STATIC_FROM_SOURCE): no collectstatic needed.
RUN_ENV = DEBUG=$${DEBUG:-false} STATIC_FROM_SOURCE=true

run: migrate
	$(RUN_ENV) $(UVICORN)

# The demo has a database of its own (and no Redis): its generated prices never reach the
# one `make run` uses, and its demo user never stands in for the owner there.
DEMO_ENV := DATABASE_URL=sqlite:///$(CURDIR)/demo.sqlite3 REDIS_URL= MARKETDATA_PROVIDER=demo

demo: install
	$(DEMO_ENV) $(MANAGE) migrate --noinput
	$(DEMO_ENV) $(MANAGE) load_demo
	$(DEMO_ENV) $(RUN_ENV) $(UVICORN)

# Two workers (pytest-xdist): the suite's browser and server tests wait on I/O, so even a
# two-core machine halves the run. TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= 2
test: install
	$(PY) -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

lint: install
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/lint-imports

format: install
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

bench: install
	$(PY) -m pytest tests/benchmarks -m benchmark -p no:randomly -q $(PYTEST_ARGS)

# The browser tests take the same shots into artifacts/ on every run; this writes them where
# the README shows them (Debian's chromium, like the other browser tests).
screenshots: install
	SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots $(PY) -m pytest tests/browser/test_readme_screenshots.py -p no:randomly -q $(PYTEST_ARGS)

superuser: migrate
	$(MANAGE) createsuperuser

clean:
	rm -rf .venv .tools staticfiles
