PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint typecheck format backtest bench-wallet bench-collect bench-recon bench-recon-games bench-formats bench-sim bench-floor bench-profile bench-backtest bench-ledger-check bench-views bench-backup clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/pitwatch generate
	$(BIN)/pitwatch demo --install

test: $(STAMP)
	$(BIN)/pytest -n auto --dist loadfile

test-fast: $(STAMP)
	$(BIN)/pytest -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m ground.layers

# The packages, tests and benchmarks as [tool.mypy] in pyproject.toml says.
typecheck: $(STAMP)
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The published backtest table (docs/backtest.md): a busy evening, a busy first day, the
# mixed week and quiet days, through the production rules before and after, side by side.
backtest: $(STAMP)
	$(BIN)/python -m pitwatch.backtest.publish

bench-wallet: $(STAMP)
	$(BIN)/python benchmarks/bench_wallet.py

bench-collect: $(STAMP)
	$(BIN)/python benchmarks/bench_collect_overhead.py
	$(BIN)/python benchmarks/bench_collect_scrape.py

bench-recon: $(STAMP)
	$(BIN)/python benchmarks/bench_recon.py

# wallet ⟷ game provider, out of core: 10M, 30M and 100M transactions a side (long: hours
# at 100M on 2 cores; the CSV files need about 11 GB of disk per 100M rows)
bench-recon-games: $(STAMP)
	$(BIN)/python benchmarks/bench_recon.py --provider-rows 10000000 30000000 100000000

bench-formats: $(STAMP)
	$(BIN)/python benchmarks/bench_formats.py

bench-sim: $(STAMP)
	$(BIN)/python benchmarks/bench_sim.py

bench-floor: $(STAMP)
	$(BIN)/python benchmarks/bench_wallet_floor.py

bench-profile: $(STAMP)
	@test -x $(BIN)/py-spy || $(BIN)/pip install --quiet -e '.[profile]'
	$(BIN)/python benchmarks/profile_split.py

bench-backtest: $(STAMP)
	$(BIN)/python benchmarks/bench_backtest.py

# The full ledger check over 10M entries on PostgreSQL (PITWATCH_BENCH_DATABASE_URL).
bench-ledger-check: $(STAMP)
	$(BIN)/python benchmarks/bench_ledger_check.py
# A views-mode scrape (business counters from the views) over 10M rows on PostgreSQL.
bench-views: $(STAMP)
	$(BIN)/python benchmarks/bench_views_scrape.py
# Backup and verified restore of a 10M-entry PostgreSQL wallet (ENTRIES=1000000 for less).
bench-backup: $(STAMP)
	$(BIN)/python benchmarks/bench_backup.py $(if $(ENTRIES),--entries $(ENTRIES))

clean:
	rm -rf $(VENV) var/*.db
