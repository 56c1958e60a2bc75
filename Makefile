# Petites Mains: `make run` starts the bot (try-it mode without a token), `make test` runs every
# check. Both set up .venv first; `make test` also installs Debian's Chromium for the browser test
# and Debian's PostgreSQL server for the suite's second run.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
UV := $(BIN)/uv
# Ranges live in pyproject.toml; what is installed is pinned in these lock files (`make lock`).
LOCK_RUN := requirements/run.lock
LOCK_DEV := requirements/dev.lock
STAMP_RUN := $(VENV)/.installed-run
STAMP := $(VENV)/.installed-dev

.PHONY: run test lint typecheck pytest system-deps bench volume faultrun faultrun-pg lock clean

$(UV):
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"

$(STAMP_RUN): $(UV) $(LOCK_RUN) pyproject.toml
	$(UV) pip install --quiet --compile-bytecode --python $(BIN)/python -r $(LOCK_RUN)
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $@

$(STAMP): $(UV) $(LOCK_DEV) pyproject.toml
	$(UV) pip install --quiet --compile-bytecode --python $(BIN)/python -r $(LOCK_DEV)
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $@ $(STAMP_RUN)

# After changing the dependencies in pyproject.toml: pin them again (tests/test_lock.py checks).
lock: $(UV)
	$(UV) pip compile --quiet --universal --python-version 3.11 pyproject.toml -o $(LOCK_RUN)
	$(UV) pip compile --quiet --universal --python-version 3.11 --extra dev pyproject.toml \
		-o $(LOCK_DEV)

run: $(STAMP_RUN)
	$(BIN)/python -m bot

# mypy (one core for tens of seconds from a cold cache) runs beside the tests, which mostly wait:
# its report is printed after theirs, and either failing fails `make test`.
test: $(STAMP) lint system-deps
	@$(BIN)/mypy >$(VENV)/typecheck.log 2>&1 & typecheck=$$!; \
	$(MAKE) --no-print-directory pytest; tests=$$?; \
	wait $$typecheck; typed=$$?; echo "$(BIN)/mypy"; cat $(VENV)/typecheck.log; \
	[ $$tests = 0 ] && [ $$typed = 0 ]

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# Each pass on PYTEST_WORKERS processes (pytest-xdist; 0: one): most of the suite waits on the
# bot, the sandbox or the database rather than using the CPU, and every test has its own files,
# ports and PostgreSQL schema. worksteal: the first worker starts on the long tests (collected
# first) while the other works through the rest, and a worker done early takes queued tests.
PYTEST_WORKERS ?= 2
PYTEST_ARGS := -n $(PYTEST_WORKERS) --dist worksteal

# The whole suite on SQLite, then again on a throwaway PostgreSQL cluster (installed with apt-get
# when missing and root; skipped with the reason outside CI when it cannot be had, never in CI).
pytest: $(STAMP) system-deps
	$(BIN)/pytest $(PYTEST_ARGS)
	bash scripts/postgres-cluster.sh run $(BIN)/pytest $(PYTEST_ARGS)

# /usr/bin/chromium for tests/browser/ (apt-get, only when missing and only as root).
system-deps:
	bash scripts/install-system-deps.sh

# Serving a crowd through the sandbox with Telegram-like limits, below and far above the ceiling.
bench: $(STAMP)
	$(BIN)/python -m bench.crowd --workers 60 --think 1.5 --seconds 60
	$(BIN)/python -m bench.crowd --workers 300 --think 1.2 --seconds 60
	# The cost regime (issue 11): limits off, 1,000 messages/s; answers per bot CPU-second.
	$(BIN)/python -m bench.crowd --workers 300 --think 1.2 --seconds 60 --no-limits --rate 1000
	# Dynamic overlap as the running bot buys answers (issue 16): fixed overlap 5, then dynamic,
	# five seeds a crowd beside the offline rounds' figures (about 17 minutes a crowd).
	for crowd in good spammy biased; do \
		$(BIN)/python -m bench.overlap_live --crowd $$crowd --items 300 --seeds 0-4; done

# Realistic volumes (issue 11): 10,000 workers, 100,000 open items, 1,000,000 past answers.
volume: $(STAMP)
	rm -f /tmp/petites-mains-volume.db
	$(BIN)/python -m bench.volume --db /tmp/petites-mains-volume.db --scale 1
	$(BIN)/python -m bench.volume_figures --db /tmp/petites-mains-volume.db --bot-seconds 30
	# One refit of a dynamic label batch of 10,000 items (issue 16: dynamic overlap in the bot).
	$(BIN)/python -m bench.refit_scale --items 10000

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
