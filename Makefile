# The commands the README gives. Each one installs what it needs first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export FLASK_APP := survey_app

.PHONY: install install-app port-free compile-translations run test lint typecheck translations clean

# The port `make run` serves on (make run PORT=5001); the demo's printed and QR addresses
# follow it unless PUBLIC_BASE_URL is set.
PORT ?= 5000
HOST := 127.0.0.1
export FLASK_RUN_PORT := $(PORT)
export FLASK_RUN_HOST := $(HOST)

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

# Two stamps: what the app needs (make run), and that plus the test and benchmark tools
# (make test), so that a `make run` never makes `make test` skip its tools.
$(VENV)/.installed-app: pyproject.toml | $(BIN)/activate
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/activate
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed-app

# Compiled catalogs are built, not committed.
compile-translations: $(VENV)/.installed-app
	$(BIN)/pybabel -q compile -d translations

install-app: $(VENV)/.installed-app compile-translations

install: $(VENV)/.installed-test compile-translations

# Checked before anything is installed: a port in use fails at once, not after the install.
port-free:
	@if $(PYTHON) -c 'import socket, sys; sys.exit(socket.socket().connect_ex(("$(HOST)", $(PORT))) != 0)' 2>/dev/null; then \
		echo "Port $(PORT) on $(HOST) is already in use. Stop what uses it, or choose another port, e.g. make run PORT=$$(($(PORT) + 1))" >&2; \
		exit 1; \
	fi

## make run: install the app, migrate, seed, load the demo and serve http://127.0.0.1:5000
## (make run PORT=5001 serves on another port; the printed and QR addresses follow it)
run: port-free
	@$(MAKE) --no-print-directory install-app
	$(BIN)/flask db upgrade
	$(BIN)/flask seed
	$(BIN)/flask demo
	$(BIN)/flask run

## make serve: install, migrate and serve wsgi:app with gunicorn (gunicorn.conf.py; see
## docs/deployment.md for the settings a production deployment needs)
.PHONY: serve
serve: install-app
	$(BIN)/flask db upgrade
	$(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

## make test: install, lint, type-check and run the whole suite (SQLite, and PostgreSQL
## too when TEST_DATABASE_URL names a database) in one worker per core; PYTEST_ARGS adds
## pytest options (PYTEST_ARGS=tests/unit), PYTEST_WORKERS=0 runs it in one process
PYTEST_WORKERS ?= auto
test: install lint typecheck
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

## make cluster-test: Debian's nginx with deploy/nginx.conf in front of two app hosts, each
## in its own network namespace with its own gunicorn, sharing PostgreSQL and Redis (as root;
## installs nginx-light when missing; CLUSTER_DATABASE_URL names the PostgreSQL server, on
## which the test creates and drops a database of its own)
CLUSTER_DATABASE_URL ?= $(or $(TEST_DATABASE_URL),postgresql://postgres@127.0.0.1:5432/postgres)
.PHONY: cluster-test
cluster-test: install
	@if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then \
		echo "== installing Debian's nginx for the cluster test"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -q >/dev/null && \
		apt-get install -y -q --no-install-recommends nginx-light >/dev/null; \
	fi
	TEST_DATABASE_URL=$(CLUSTER_DATABASE_URL) $(BIN)/python -m pytest -s -m cluster tests/cluster $(PYTEST_ARGS)

## make screenshots: regenerate docs/screenshots/ from the demo data in Chromium
.PHONY: screenshots
screenshots: install
	$(BIN)/python -m tests.screenshots docs/screenshots

## make lint: ruff, and the import rules of docs/architecture.md (import-linter)
lint:
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

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
translations: $(VENV)/.installed-app
	$(BIN)/pybabel extract -F babel.cfg -k _l -o translations/messages.pot --no-location --sort-output --omit-header .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --ignore-obsolete --no-fuzzy-matching --width 100
	$(BIN)/python -m survey_app.web.i18n_catalogs fill-source translations/vi/LC_MESSAGES/messages.po

## make voice-clips: rebuild the read-aloud clip of each question whose words changed
## (espeak-ng's Vietnamese voice, Ogg Opus; needs apt-get install espeak-ng opus-tools)
.PHONY: voice-clips
voice-clips: $(VENV)/.installed-app
	$(BIN)/python -m survey_app.voice_build

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache .mypy_cache
