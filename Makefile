# Daybreak: `make run` (paper bot + dashboard) and `make test` (whole suite) on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CONFIG ?= config.json
# The dashboard listens on loopback only. Serving the network is explicit: DASHBOARD_ADDRESS=0.0.0.0
# (the page then requires DAYBREAK_DASHBOARD_PASSWORD_HASH; see README "Dashboard").
DASHBOARD_ADDRESS ?= 127.0.0.1
STREAMLIT = $(PY) -m streamlit run dashboard.py --server.port 8501 --server.address $(DASHBOARD_ADDRESS) \
	--server.headless true --browser.gatherUsageStats false --server.fileWatcherType none

.PHONY: run bot dashboard test venv tools browser bench clean

$(VENV)/.stamp: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.stamp-dev: $(VENV)/.stamp requirements-dev.txt requirements-ray.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

$(VENV)/.stamp-bench: $(VENV)/.stamp-dev requirements-bench.txt
	$(PY) -m pip install --quiet -r requirements-bench.txt
	touch $@

venv: $(VENV)/.stamp

.tools/node_modules/.bin/dynalite: .tools/package.json
	cd .tools && npm install --no-audit --no-fund --loglevel=error
	touch $@

tools: .tools/node_modules/.bin/dynalite

# Debian's Chromium for the real-browser dashboard tests (never `playwright install`), and
# shellcheck for the deploy script's lint test.
browser:
	@{ command -v chromium && command -v shellcheck; } >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium shellcheck >/dev/null; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium shellcheck >/dev/null; fi; }

# Paper bot and dashboard together; Ctrl-C stops both.
run: venv
	@mkdir -p data logs
	@trap 'kill 0' INT TERM EXIT; \
	$(STREAMLIT) -- --config $(CONFIG) & \
	$(PY) bot.py run --config $(CONFIG); \
	wait

bot: venv
	$(PY) bot.py run --config $(CONFIG)

dashboard: venv
	$(STREAMLIT) -- --config $(CONFIG)

test: $(VENV)/.stamp-dev tools browser
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/mypy daybreak storage strategies
	DAYBREAK_REQUIRE_TOOLS=1 $(PY) -m pytest -q -rs -p no:cacheprovider tests

bench: $(VENV)/.stamp-bench tools browser
	$(PY) benchmarks/strategies.py
	$(PY) benchmarks/storage.py
	$(PY) benchmarks/inbox_cost.py
	$(PY) benchmarks/dashboard.py
	$(PY) benchmarks/backtest_speed.py
	$(PY) benchmarks/optimize_speed.py
	$(PY) benchmarks/live_polling.py

clean:
	rm -rf $(VENV) .tools/node_modules
