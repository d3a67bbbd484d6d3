# Two commands for people: `make run` and `make test`. Everything else is a step they call.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
# One process per core, two threads each, a listening socket each (benchmarks/load.py says why).
WORKERS ?= $(shell nproc 2>/dev/null || sysctl -n hw.ncpu 2>/dev/null || echo 2)
# pytest-xdist processes for `make test`: one per core (on 2 cores, 3 was slower than 2).
# Slow tests are collected first (tests/conftest.py) and an idle process takes over half of
# another's queue (worksteal), so both end together.
TEST_WORKERS ?= auto
# The demo tenant reads its secret from this variable; set your own outside a demo.
VAPI_SECRET_DEMO ?= demo-secret
VAPI_SECRET_PLOMBERIE ?= plomberie-secret
export VAPI_SECRET_DEMO VAPI_SECRET_PLOMBERIE

.PHONY: setup run test lint format i18n bench clean

$(BIN)/.installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

setup: $(BIN)/.installed

run: setup
	@# Each worker binds its own socket (--reuse-port), so a second server would share the port
	@# silently: refuse to start while something listens on it.
	@$(BIN)/python -c "import socket; s = socket.socket(); \
		s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', $(PORT)))" \
		2>/dev/null || { echo "port $(PORT) is in use: stop what listens there, or set PORT"; exit 1; }
	$(BIN)/flask --app wsgi init-db
	@echo "Serving the shipped tenants on http://127.0.0.1:$(PORT) (demo secret: $$VAPI_SECRET_DEMO)"
	$(BIN)/gunicorn --worker-class gthread --workers $(WORKERS) --threads 2 --reuse-port \
		--bind 127.0.0.1:$(PORT) --no-control-socket wsgi:app

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: lint
	$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal

# Translators: refresh the template and base catalogs from backend/prompts.py, then check them.
i18n: setup
	$(BIN)/pybabel extract -F babel.cfg -k N_:1c,2 --no-default-keywords --project=vapi-caller-id \
		--add-comments=TRANSLATORS: --sort-by-file -o locales/messages.pot .
	@# Only the base catalogs follow the template; variant and regional files hold overrides.
	for po in $$(ls -d locales/*/LC_MESSAGES/messages.po | grep -v '_[A-Z]*/'); do \
		$(BIN)/pybabel update --no-fuzzy-matching --width=100 -i locales/messages.pot -o $$po \
			-l $$(basename $$(dirname $$(dirname $$po))); \
	done
	$(BIN)/flask --app wsgi i18n check

bench: setup
	$(BIN)/python benchmarks/nlu.py
	$(BIN)/python benchmarks/load.py

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache
