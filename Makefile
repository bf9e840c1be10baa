# The commands the README gives. Each one installs what it needs first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export FLASK_APP := survey_app

.PHONY: install compile-translations run test lint typecheck translations clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# Compiled catalogs are built, not committed.
compile-translations: $(VENV)/.installed
	$(BIN)/pybabel -q compile -d translations

install: $(VENV)/.installed compile-translations

## make run: install, migrate, seed, load the demo and serve http://127.0.0.1:5000
run: install
	$(BIN)/flask db upgrade
	$(BIN)/flask seed
	$(BIN)/flask demo
	$(BIN)/flask run --host 127.0.0.1 --port 5000

## make serve: install, migrate and serve wsgi:app with gunicorn (gunicorn.conf.py; see
## docs/deployment.md for the settings a production deployment needs)
.PHONY: serve
serve: install
	$(BIN)/flask db upgrade
	$(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

## make test: install, lint, type-check and run the whole suite (SQLite, and PostgreSQL
## too when TEST_DATABASE_URL names a database)
test: install lint typecheck
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## make screenshots: regenerate docs/screenshots/ from the demo data in Chromium
.PHONY: screenshots
screenshots: install
	$(BIN)/python -m tests.screenshots docs/screenshots

lint:
	$(BIN)/ruff check .

typecheck:
	$(BIN)/mypy

## make bench: install, then measure the survey page, submissions, tallies over 1, 3 and 10
## million responses, page weight and Lighthouse, and the QR sheet; writes
## bench/results/latest.json and docs/performance.md (under 15 minutes)
.PHONY: bench bench-quick bench-tools
bench-tools:
	bench/tools.sh

bench: install bench-tools
	$(BIN)/python -m bench

## make bench-quick: the same with 1 million responses and shorter phases (under 5 minutes);
## writes bench/results/quick.json and bench/results/quick.md
bench-quick: install bench-tools
	$(BIN)/python -m bench --quick

## make translations: extract the strings and update both catalogs
translations: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -o translations/messages.pot --no-location --sort-output --omit-header .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --ignore-obsolete --no-fuzzy-matching --width 100
	$(BIN)/python -m survey_app.i18n_catalogs fill-source translations/vi/LC_MESSAGES/messages.po

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache .mypy_cache
