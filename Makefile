# Two commands set everything up: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
# The local Stripe fake the demo pays through (devtools/stripe_fake.py).
STRIPE_FAKE_PORT ?= 5010
# `make run` is the local demo: a SQLite file in instance/, a generated secret key, online
# payment through the local Stripe fake. The demo invoices' PDFs are rendered beside the
# server, at a lower priority, while it already answers ("PDF en préparation" meanwhile).
DEMO_ENV := COOP_DEMO=1 COOP_BASE_URL=http://$(HOST):$(PORT) \
	COOP_STRIPE_API_BASE=http://127.0.0.1:$(STRIPE_FAKE_PORT)

.PHONY: install install-test run test test-fast lint format translations messages clean

# uv installs in seconds what pip takes a minute over: it is used when it is on PATH or
# installed in $(PYTHON) (`pip install uv`), pip otherwise; both read setup.cfg's ranges.
UV ?= $(shell command -v uv 2>/dev/null || { $(PYTHON) -m uv --version >/dev/null 2>&1 && echo "$(PYTHON) -m uv"; })
ifneq ($(strip $(UV)),)
# --seed puts pip in the virtualenv too, for whoever installs something by hand. Python
# caches the bytecode of the modules it imports, once; where it may not
# (PYTHONDONTWRITEBYTECODE), uv compiles every module at install, as pip does, rather
# than each process compiling what it imports again.
MAKE_VENV = $(UV) venv --quiet --seed --allow-existing --python $(PYTHON) $(VENV)
PIP_INSTALL = $(UV) pip install --quiet --python $(BIN)/python \
	$(if $(PYTHONDONTWRITEBYTECODE),--compile-bytecode)
else
MAKE_VENV = $(PYTHON) -m venv $(VENV) && $(BIN)/pip install --quiet --upgrade pip
PIP_INSTALL = $(BIN)/pip install --quiet
endif

$(BIN)/coop: setup.cfg pyproject.toml
	$(MAKE_VENV)
	$(PIP_INSTALL) -e .
	touch $@

$(VENV)/.test-deps: $(BIN)/coop
	$(PIP_INSTALL) -e ".[test,dev]"
	touch $@

translations: $(BIN)/coop
	$(BIN)/pybabel compile -d translations --statistics 2>&1 | grep -v '^$$' || true
	@test -f translations/en/LC_MESSAGES/messages.mo

install: $(BIN)/coop translations

install-test: install $(VENV)/.test-deps

run: install
	$(DEMO_ENV) $(BIN)/coop db upgrade
	$(DEMO_ENV) $(BIN)/coop seed-demo --if-empty
	@echo "coop is served on http://$(HOST):$(PORT), its Stripe fake on http://127.0.0.1:$(STRIPE_FAKE_PORT)  (Ctrl+C stops both)"
	@$(DEMO_ENV) $(BIN)/coop-devtools stripe-fake serve --port $(STRIPE_FAKE_PORT) & fake=$$!; \
	$(DEMO_ENV) nice $(BIN)/coop invoices render & render=$$!; \
	trap 'kill $$fake $$render 2>/dev/null' EXIT INT TERM; \
	$(DEMO_ENV) $(BIN)/coop run --host $(HOST) --port $(PORT)

# Set COOP_TEST_DATABASE_URL=postgresql+psycopg://... to run every database test on PostgreSQL too.
test: install-test
	$(BIN)/pytest -n auto --dist loadgroup --cov --cov-report=term:skip-covered

test-fast: install-test
	$(BIN)/pytest -q -m "not browser" -x

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: install-test
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# After changing user-facing text: extract it and update the English catalog.
messages: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k N_ --no-location --omit-header -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .coverage htmlcov
