# Two commands do all the set-up on a fresh machine:
#   make demo   creates .venv, installs, and runs the whole nightly job on the sample drops in data/landing
#   make test   creates .venv, installs, and runs the test suite (what CI runs)
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DAGSTER_HOME ?= $(CURDIR)/data/dagster_home
export DAGSTER_TELEMETRY_DISABLED := 1

.PHONY: demo test install dev bench clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "needs $(PYTHON) (Python 3.11)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/cdp run --full-rebuild

test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider

dev: $(STAMP)
	$(BIN)/dagster dev -w workspace.yaml

clean:
	rm -rf data/state data/warehouse.db data/warehouse.db-* data/dagster_home

# Benchmarks (not part of the tests): make bench [SIZES="10000 100000"] [BENCH_DAYS=30] [SPLINK=1]
SIZES ?= 10000 100000
BENCH_DAYS ?= 30
BENCH_OUT ?= bench_out
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	@for n in $(SIZES); do \
	  echo "benchmark: $$n persons"; \
	  $(BIN)/python -m cdp_pipeline.bench.run --persons $$n --days $(BENCH_DAYS) --out $(BENCH_OUT) $(if $(SPLINK),--splink,) || exit 1; \
	done
	$(BIN)/python -m cdp_pipeline.bench.report $(BENCH_OUT) > BENCHMARKS.md
	@echo "wrote BENCHMARKS.md"

# Identity resolution alone at a size the whole nightly job does not reach (about 12 minutes at 1M
# on a 2-core machine): make bench-identity [PERSONS=1000000]; its table joins BENCHMARKS.md.
PERSONS ?= 1000000
.PHONY: bench-identity
bench-identity: $(STAMP)
	$(BIN)/python -m cdp_pipeline.bench.identity_scale --persons $(PERSONS) --days 2 --out $(BENCH_OUT)
	$(BIN)/python -m cdp_pipeline.bench.report $(BENCH_OUT) > BENCHMARKS.md
	@echo "wrote BENCHMARKS.md"

# Headless-Chromium screenshot of the global asset lineage graph for the README: make screenshot
# (starts and stops its own webserver; needs Debian's chromium: apt-get install -y chromium)
.PHONY: screenshot
screenshot: $(STAMP)
	scripts/screenshot_asset_graph.sh docs/asset-graph.png
