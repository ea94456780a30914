"""The real page in a real browser: ``streamlit run dashboard.py -- --config <temp config>`` and
headless Chromium (Debian's, never ``playwright install``). The P&L and the trades are shown."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import replace
from pathlib import Path

import pytest

from daybreak.reporting.stats import TOTAL, summarize
from tests.conftest import require_tool
from tests.dashboard.helpers import DASHBOARD, ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]



@pytest.fixture(autouse=True)
def _chromium():
    require_tool(CHROMIUM, "needs Debian's chromium (make browser)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path, deadline_s: float = 90) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise AssertionError(f"streamlit exited with {proc.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.read().strip() == b"ok":
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"streamlit did not come up:\n{log.read_text()}")


@pytest.fixture
def served(deployment, tmp_path):
    port = _free_port()
    log = tmp_path / "streamlit.log"
    env = {k: v for k, v in os.environ.items() if k != "DAYBREAK_CONFIG"}  # the CLI flag must do it
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(DASHBOARD), "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none", "--", "--config", str(deployment.config_path)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_healthy(f"http://127.0.0.1:{port}/_stcore/health", proc, log)
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_page_shows_pnl_and_trades_in_chromium(served, deployment, tmp_path):
    from playwright.sync_api import sync_playwright

    status = deployment.store.get_status()
    deployment.store.put_status(replace(status, timestamp=int(time.time() * 1000)))  # a live bot
    trades = deployment.store.list_trades(newest_first=True)
    total = summarize(trades)[TOTAL]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 3200})
            page.goto(served)
            pnl_metric = page.get_by_test_id("stMetric").filter(has_text="Total P&L (USDT)")
            pnl_metric.wait_for(timeout=90_000)
            assert f"{total['pnl']:,.2f}" in pnl_metric.inner_text()
            wins = page.get_by_test_id("stMetric").filter(has_text="Wins / losses")
            assert f"{int(total['wins'])} / {int(total['losses'])}" in wins.inner_text()
            assert page.get_by_text(f"Trades ({len(trades)}, newest first)").is_visible()
            page.get_by_test_id("stDataFrame").first.wait_for()
            page.get_by_test_id("stVegaLiteChart").first.wait_for(state="attached")
            page.wait_for_timeout(1500)  # let the grids paint before the picture
            shot = tmp_path / "dashboard.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
            print(f"screenshot: {shot}")
        finally:
            browser.close()
