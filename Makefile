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
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(BIN)/dbmigrate .venv-checkov/bin/checkov
	@mkdir -p $(DAGSTER_HOME)

# checkov lives in its own virtualenv: its pins would fight Dagster's.
.venv-checkov/bin/checkov:
	$(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/pip install -q --upgrade pip
	.venv-checkov/bin/pip install -q 'checkov>=3.2,<4'

# Local source ("on-prem") and target ("Aurora") servers; `make down` removes them.
up: install
	@mkdir -p $(dir $(ENV_FILE)) $(DAGSTER_HOME)
	$(BIN)/dbmigrate dev up --state-dir $(STATE) > $(ENV_FILE)
	@echo "settings written to $(ENV_FILE); load them with: . $(ENV_FILE)"

down: install
	$(BIN)/dbmigrate dev down --state-dir $(STATE)
	rm -f $(ENV_FILE)

# End to end on the built-in local default: servers, demo data, the migration job, the report.
demo: up
	. ./$(ENV_FILE) && $(BIN)/dbmigrate demo-data --scale $(DEMO_SCALE) --replace
	. ./$(ENV_FILE) && $(BIN)/dbmigrate catalog refresh
	@echo "running: dagster job execute -m migration_assets -j full_migration (log: .dbmigrate/job.log)"
	@. ./$(ENV_FILE) && $(BIN)/dagster job execute -m migration_assets -j full_migration \
		> .dbmigrate/job.log 2>&1 || { tail -n 40 .dbmigrate/job.log; echo "FAILED: the migration job failed; full log in .dbmigrate/job.log"; exit 1; }
	@echo "=== Full load (from the job's verification_report asset) ==="
	@awk '/verification report$$/{on=1; next} on && /^\+/{n++} on{print} n==4{exit}' .dbmigrate/job.log
	@$(MAKE) --no-print-directory demo-report

demo-report:
	@echo
	@echo "=== Verification report (recomputed now from both servers) ==="
	@. ./$(ENV_FILE) && $(BIN)/dbmigrate schema validate && $(BIN)/dbmigrate verify
	@echo "Servers are still running. Explore in the UI:  . $(ENV_FILE) && $(BIN)/dagster dev -w workspace.yaml"
	@echo "Stop and delete them:                          make down"

lint: install
	$(BIN)/ruff check .
	terraform fmt -check -recursive terraform

test: lint
	$(BIN)/pytest

clean: down
	rm -rf $(VENV) .venv-checkov .dbmigrate $(DAGSTER_HOME)
