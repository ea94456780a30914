"""The real dashboard in a real browser: ``streamlit run dashboard.py -- --config <config>`` over a
store filled by a real replay, and headless Chromium (Debian's, never ``playwright install``)
walking every page through the sidebar as a person would. No page may show an exception box;
each page's screenshot is saved under ``reports/dashboard/`` (test artifacts, git-ignored)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from storage.sqlite import SQLiteStore
from tests.conftest import require_tool
from tests.dashboard.helpers import DASHBOARD, ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = ROOT / "reports" / "dashboard"
TITLES = ("Operations", "Performance", "Trades", "Chart", "Signals", "Logs", "Config")


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


def serve(config_path: Path, log: Path):
    """Start ``streamlit run dashboard.py`` on a free port; returns (process, base URL)."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "DAYBREAK_CONFIG"}  # the CLI flag must do it
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(DASHBOARD),
                "--server.port",
                str(port),
                "--server.address",
                "127.0.0.1",
                "--server.headless",
                "true",
                "--browser.gatherUsageStats",
                "false",
                "--server.fileWatcherType",
                "none",
                "--",
                "--config",
                str(config_path),
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    _wait_healthy(f"http://127.0.0.1:{port}/_stcore/health", proc, log)
    return proc, f"http://127.0.0.1:{port}/"


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture
def served(replayed, tmp_path):
    proc, url = serve(replayed.config_path, tmp_path / "streamlit.log")
    try:
        yield url
    finally:
        stop(proc)


def settle(page) -> None:
    """Wait until the app has finished running (no running indicator) and charts have painted."""
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"] svg')", timeout=60_000)
    page.wait_for_timeout(1200)


def test_every_page_in_chromium_without_an_exception(served, replayed):
    from playwright.sync_api import (
        sync_playwright,  # lazy: the test is skipped without Chromium
    )

    store = SQLiteStore(replayed.db_path)
    closed = sum(t.pnl is not None for t in store.list_trades())
    store.close()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 2200})
            page.goto(served)
            page.get_by_role("heading", name="Operations").wait_for(timeout=90_000)
            for title in TITLES:
                page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
                page.get_by_role("heading", name=title, exact=True).wait_for(timeout=60_000)
                settle(page)
                assert page.get_by_test_id("stException").count() == 0, f"exception box on {title}"
                shot = ARTIFACTS / f"{title.lower()}.png"
                page.screenshot(path=str(shot))
                assert shot.stat().st_size > 10_000
                if title == "Operations":
                    assert page.get_by_text("REPLAY · SHUTDOWN").is_visible()
                    assert page.get_by_text("Daily checklist").is_visible()
                if title == "Trades":
                    assert page.get_by_text(f"Round trips ({closed})").is_visible()
                if title == "Performance":  # equity with drawdown, P&L per strategy, daily P&L
                    assert page.get_by_test_id("stVegaLiteChart").count() == 3
                if title == "Chart":
                    assert page.get_by_test_id("stVegaLiteChart").count() >= 1
            print(f"screenshots: {ARTIFACTS}")
        finally:
            browser.close()
