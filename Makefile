# Two commands: `make run` serves the demo site, `make test` runs the whole suite. Nothing else to install.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
HOST ?= 127.0.0.1
PORT ?= 5000
export FLASK_APP := directory

.PHONY: run test test-postgres lint bench browser-deps clean translations messages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP) $@

run: $(STAMP) translations
	$(BIN)/flask init-db
	$(BIN)/flask seed-demo --if-empty
	$(BIN)/flask serve --host $(HOST) --port $(PORT)

lint: $(TEST_STAMP)
	$(BIN)/ruff check directory scrapers tests bench migrations/env.py
	$(BIN)/ruff format --check directory scrapers tests bench migrations/env.py

browser-deps:
	@bash .ci/browser-deps

test: $(TEST_STAMP) lint browser-deps translations
	$(BIN)/python -m pytest -q

# The database tests again, against the local PostgreSQL (see README).
test-postgres: $(TEST_STAMP) translations
	TEST_DATABASE_URL=$${TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test} \
		$(BIN)/python -m pytest -q -m db

bench: $(TEST_STAMP) translations
	$(BIN)/python -m bench

# The interface's languages (README, "Languages"): `make translations` compiles the catalogs (run and test do
# it; create_app compiles nothing); `make messages` extracts the marked words and updates every catalog.
CATALOGS := directory/translations
translations: $(STAMP)
	$(BIN)/pybabel -q compile -d $(CATALOGS)

messages: $(STAMP)
	$(BIN)/pybabel -q extract -F babel.cfg --no-location --sort-output --project "LEAD directory" \
		-o $(CATALOGS)/messages.pot .
	$(BIN)/pybabel -q update -i $(CATALOGS)/messages.pot -d $(CATALOGS) --no-wrap

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
