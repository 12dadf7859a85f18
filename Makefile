# Two entry points for a fresh Debian/Ubuntu machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STATE := .dbmigrate/dev
ENV_FILE := .dbmigrate/dev.env
DEMO_SCALE ?= 0.1
export DAGSTER_HOME := $(CURDIR)/.dagster_home

.PHONY: install demo demo-report up down test lint clean

$(BIN)/dbmigrate: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c requirements.lock -e '.[dev]'  # the image's versions (tests/test_dockerfile.py)
	touch $@

install: $(BIN)/dbmigrate .venv-checkov/bin/checkov
	@mkdir -p $(DAGSTER_HOME) && cp dagster.local.yaml $(DAGSTER_HOME)/dagster.yaml  # sqlite, run monitoring

# checkov lives in its own virtualenv: its pins would fight Dagster's.
.venv-checkov/bin/checkov:
	$(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/pip install -q --upgrade pip
	.venv-checkov/bin/pip install -q 'checkov>=3.2,<4'

# Local source ("on-prem") and target ("Aurora") servers; `make down` removes them.
up: install
	@mkdir -p $(dir $(ENV_FILE)) $(DAGSTER_HOME)
	umask 077 && $(BIN)/dbmigrate dev up --state-dir $(STATE) > $(ENV_FILE)  # it holds the passwords
	@echo "settings written to $(ENV_FILE); load them with: . $(ENV_FILE)"

down: install
	$(BIN)/dbmigrate dev down --state-dir $(STATE)
	rm -f $(ENV_FILE)

# End to end on the built-in local default, live: servers, demo data, a write workload during
# the full load, change capture from its snapshot, the sensor launching the live verification.
demo: install
	@$(BIN)/dbmigrate dev down --state-dir $(STATE) > /dev/null 2>&1 || true  # a re-run starts over
	@$(MAKE) --no-print-directory up
	. ./$(ENV_FILE) && $(BIN)/dbmigrate demo-data --scale $(DEMO_SCALE) --replace
	. ./$(ENV_FILE) && $(BIN)/dbmigrate catalog refresh --batches 16  # the demo shows 16 partitions per table
	@. ./$(ENV_FILE) && bash scripts/demo.sh
	@$(MAKE) --no-print-directory demo-report

demo-report:
	@echo
	@echo "=== Verification report after the cutover (recomputed now from both servers: the target, now primary, and the old source, its replica) ==="
	@. ./$(ENV_FILE) && $(BIN)/dbmigrate schema validate && $(BIN)/dbmigrate verify
	@echo "Servers are still running. Explore in the UI:  . $(ENV_FILE) && DAGSTER_HOME=$(DAGSTER_HOME) $(BIN)/dg dev"
	@echo "Stop and delete them:                          make down"

lint: install
	$(BIN)/ruff check .
	terraform fmt -check -recursive terraform

test: lint
	$(BIN)/pytest

clean: down
	rm -rf $(VENV) .venv-checkov .dbmigrate $(DAGSTER_HOME)
