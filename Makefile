# Two commands from nothing: `make demo` and `make test`. Everything else here serves them.
VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed-stamp
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/skillibrium
# Test processes (pytest-xdist). One, until a process that drove Chromium can still open a database
# connection: Playwright marks its event loop as running between calls, and Django then refuses
# (docs/decisions/0018-tests-on-every-core.md). `auto` (one per core) halves the time of the other tests.
PYTEST_WORKERS ?= 0

.PHONY: demo test lint typecheck pytest bench clean

$(PY):
	"$$(scripts/find-python)" -m venv $(VENV)

$(STAMP): $(PY) pyproject.toml requirements.lock
	$(PY) -m pip install -q --disable-pip-version-check --upgrade "pip>=25"
	$(PY) -m pip install -q --disable-pip-version-check -c requirements.lock -e ".[dev]"
	touch $(STAMP)

# `make demo PORT=8100`: the app on 8100, its Merge sandbox on 8865 (the port plus 765).
PORT ?= 8000

demo: $(STAMP)
	@mkdir -p var
	SKILLIBRIUM_DEBUG=1 SKILLIBRIUM_SELF_SIGNUP=1 $(PY) manage.py demo --port $(PORT)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	SKILLIBRIUM_DEBUG=1 $(VENV)/bin/mypy skillibrium merge_sandbox

pytest: $(STAMP)
	DATABASE_URL=$(TEST_DATABASE_URL) scripts/ensure-services
	DATABASE_URL=$(TEST_DATABASE_URL) SKILLIBRIUM_DEBUG=1 $(VENV)/bin/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

test: lint typecheck pytest

bench: $(STAMP)
	DATABASE_URL=$(TEST_DATABASE_URL) SKILLIBRIUM_DEBUG=1 $(PY) -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
