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

# Two stamps: what the app needs (make run), and that plus the test and supply-chain tools
# (make test), so that a `make run` never makes `make test` skip its tools. Both install the
# exact versions of the lock files, each file checked against its hash, then the app itself
# without dependencies; a changed lock (make lock) installs again.
APP_LOCK := requirements/app.lock
TEST_LOCK := requirements/test.lock

$(VENV)/.installed-app: $(APP_LOCK) pyproject.toml | $(BIN)/activate
	$(BIN)/python -m pip install --quiet --require-hashes -r $(APP_LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.installed-test: $(TEST_LOCK) pyproject.toml | $(BIN)/activate
	$(BIN)/python -m pip install --quiet --require-hashes -r $(TEST_LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@ $(VENV)/.installed-app

## make lock: pin pyproject.toml's dependencies, with their hashes, in requirements/*.lock
## (pip-tools; Python 3.11 on Linux). Pins already in a lock are kept unless they no longer
## fit: LOCK_ARGS=--upgrade takes the newest versions, LOCK_ARGS='-P flask' one package's newest
.PHONY: lock
LOCK_ARGS ?=
PIP_COMPILE := CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --generate-hashes \
	--allow-unsafe --strip-extras --no-emit-find-links --no-emit-index-url $(LOCK_ARGS)
lock: $(VENV)/.installed-test
	$(PIP_COMPILE) -o $(APP_LOCK) pyproject.toml
	$(PIP_COMPILE) --extra test -c $(APP_LOCK) -o $(TEST_LOCK) pyproject.toml

## make sbom: the CycloneDX bill of materials of the locked app dependencies, with their
## hashes, in dist/sbom.cdx.json
.PHONY: sbom audit wheelhouse
sbom: $(VENV)/.installed-test
	@mkdir -p dist
	PYTHONWARNINGS=ignore::UserWarning $(BIN)/cyclonedx-py requirements \
		--pyproject pyproject.toml --output-reproducible --of JSON -o dist/sbom.cdx.json \
		$(APP_LOCK)
	@echo "dist/sbom.cdx.json: $$($(BIN)/python -c 'import json; b = json.load(open("dist/sbom.cdx.json")); print(len(b["components"]), "components, CycloneDX", b["specVersion"])')"

## make audit: scan the app lock for known vulnerabilities (pip-audit, PyPI's advisory
## service); fails on one that requirements/audit-ignore.txt does not accept, warns loudly
## but passes when the service cannot be reached (AUDIT_STRICT=1: fails then too)
audit: $(VENV)/.installed-test
	$(BIN)/python requirements/audit.py $(APP_LOCK)

## make wheelhouse: dist/wheelhouse/, every locked wheel, the app's own wheel and the lock,
## to install on a server with no internet (docs/deployment.md); built for this machine's
## Python and platform, which must be the server's (Python 3.11 on x86-64 Linux)
wheelhouse: $(VENV)/.installed-test compile-translations
	rm -rf dist/wheelhouse build
	$(BIN)/python -m pip download --quiet --require-hashes --only-binary=:all: \
		-d dist/wheelhouse -r $(APP_LOCK)
	$(BIN)/python -m pip wheel --quiet --no-deps -w dist/wheelhouse .
	cp $(APP_LOCK) dist/wheelhouse/app.lock
	@echo "dist/wheelhouse: $$(ls dist/wheelhouse/*.whl | wc -l) wheels"

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
	rm -rf $(VENV) instance .pytest_cache .ruff_cache .mypy_cache dist build
