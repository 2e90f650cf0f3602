# Seedbed: `make demo` and `make test` set up everything they need in .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PG_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: install demo test test-sqlite test-postgres bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,ray]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/seedbed demo $(ARGS)

## The whole suite on the embedded default (SQLite), then again on PostgreSQL when one answers.
test: test-sqlite test-postgres

test-sqlite: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 tests

test-postgres: $(STAMP)
	@if $(BIN)/python -c "import psycopg,sys; psycopg.connect('$(PG_URL)', connect_timeout=3).close()" 2>/dev/null; then \
		SEEDBED_TEST_DATABASE_URL=$(PG_URL) $(BIN)/python -m pytest -q -n 2 tests/integration tests/unit/state; \
	elif [ -n "$$SEEDBED_REQUIRE_POSTGRES" ]; then \
		echo "PostgreSQL at $(PG_URL) is required but does not answer"; exit 1; \
	else \
		echo "note: no PostgreSQL at $(PG_URL); skipped the PostgreSQL pass (set PG_URL to run it)"; \
	fi

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
