# Petites Mains: `make run` starts the bot (try-it mode without a token), `make test` runs every
# check. Both set up .venv first; `make test` also installs Debian's Chromium for the browser test
# and Debian's PostgreSQL server for the suite's second run.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck pytest system-deps bench faultrun faultrun-pg clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m bot

test: $(STAMP) lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# The whole suite on SQLite, then again on a throwaway PostgreSQL cluster (installed with apt-get
# when missing and root; skipped with the reason outside CI when it cannot be had, never in CI).
pytest: $(STAMP) system-deps
	$(BIN)/pytest
	bash scripts/postgres-cluster.sh run $(BIN)/pytest

# /usr/bin/chromium for tests/browser/ (apt-get, only when missing and only as root).
system-deps:
	bash scripts/install-system-deps.sh

# Serving a crowd through the sandbox with Telegram-like limits, below and far above the ceiling.
bench: $(STAMP)
	$(BIN)/python -m bench.crowd --workers 60 --think 1.5 --seconds 60
	$(BIN)/python -m bench.crowd --workers 300 --think 1.2 --seconds 60

# Crashes and Bot API failures under load, nothing lost (issue 11): one bot process on SQLite.
faultrun: $(STAMP)
	$(BIN)/python -m bench.faultrun --workers 40 --seconds 120 --kills 6

# The same with the crowd of `make bench` (60 workers, 1.5 s) served by three bot processes in
# webhook mode on one throwaway PostgreSQL, behind bench/fleet.py's router, six kills (issue 17).
faultrun-pg: $(STAMP)
	bash scripts/postgres-cluster.sh run sh -c '$(BIN)/python -m bench.faultrun --processes 3 \
	    --database-url "$$PM_TEST_POSTGRES?search_path=faultrun" --workers 60 --think 1.5 \
	    --seconds 120 --kills 6 --cap-cents 60'

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
