# Daybreak: `make run` (paper bot + dashboard) and `make test` (whole suite) on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CONFIG ?= config.json

.PHONY: run bot dashboard test venv tools browser bench clean

$(VENV)/.stamp: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.stamp-dev: $(VENV)/.stamp requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.stamp

.tools/node_modules/.bin/dynalite: .tools/package.json
	cd .tools && npm install --no-audit --no-fund --loglevel=error
	touch $@

tools: .tools/node_modules/.bin/dynalite

# Debian's Chromium for the one real-browser dashboard test (never `playwright install`).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null; fi; }

# Paper bot and dashboard together; Ctrl-C stops both.
run: venv
	@mkdir -p data logs
	@trap 'kill 0' INT TERM EXIT; \
	$(PY) -m streamlit run dashboard.py --server.port 8501 --server.headless true --browser.gatherUsageStats false --server.fileWatcherType none -- --config $(CONFIG) & \
	$(PY) bot.py run --config $(CONFIG); \
	wait

bot: venv
	$(PY) bot.py run --config $(CONFIG)

dashboard: venv
	$(PY) -m streamlit run dashboard.py --server.port 8501 --server.headless true --browser.gatherUsageStats false --server.fileWatcherType none -- --config $(CONFIG)

test: $(VENV)/.stamp-dev tools browser
	$(PY) -m pytest -q -p no:cacheprovider tests

bench: $(VENV)/.stamp-dev tools
	$(PY) benchmarks/strategies.py
	$(PY) benchmarks/storage.py
	$(PY) benchmarks/backtest_speed.py
	$(PY) benchmarks/live_polling.py

clean:
	rm -rf $(VENV) .tools/node_modules
