"""Health check panel: runs ``bot.py doctor`` for this config in a subprocess (the dashboard never
talks to the exchange itself) and shows one row per check; otherwise the last stored report
(State table ``doctor:last``, written by every doctor run and by a live bot at start)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import streamlit as st

from daybreak.ui.columns import in_words
from daybreak.ui.fmt import utc
from storage import Store

BOT = Path(__file__).resolve().parents[2] / "bot.py"
TIMEOUT_SECONDS = 180
REPORT_KEY = "doctor:last"
_RESULT = "doctor_result"


def parse_lines(text: str) -> pd.DataFrame:
    """``bot.py doctor`` output -> rows ``status``, ``check``, ``detail``, ``fix`` (summary line dropped)."""
    rows = []
    for line in text.splitlines():
        status, _, rest = line.partition(" ")
        if status not in ("PASS", "FAIL", "SKIP"):
            continue
        name, _, detail = rest.strip().partition(": ")
        detail, _, fix = detail.partition(" (fix: ")
        rows.append({"status": status, "check": name, "detail": detail, "fix": fix.removesuffix(")")})
    return pd.DataFrame(rows, columns=["status", "check", "detail", "fix"])


def _run(config_path: Path, send: bool) -> None:
    cmd = [sys.executable, str(BOT), "doctor", "--config", str(config_path)] + (["--send-test"] if send else [])
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        st.session_state[_RESULT] = (None, f"bot.py doctor did not finish within {TIMEOUT_SECONDS} s")
        return
    st.session_state[_RESULT] = (proc.returncode, proc.stdout + proc.stderr)


def render(config_path: Path, store: Store | None) -> None:
    """Draw the panel for ``config_path``; ``store`` holds the last report (None: unavailable)."""
    st.subheader("Health check")
    c1, c2 = st.columns(2)
    c1.button(
        "Run health check",
        key="doctor_run",
        on_click=_run,
        args=(config_path, False),
        help="Exchange, keys and permissions, balance, storage, lock, alerts, config (bot.py doctor)",
    )
    c2.button("Run and send a test alert", key="doctor_run_send", on_click=_run, args=(config_path, True))
    result = st.session_state.get(_RESULT)
    if result is not None:
        code, text = result
        rows = parse_lines(text)
        failed = rows[rows["status"] == "FAIL"]
        if code == 0:
            st.success(f"All {len(rows)} checks passed.")
        else:
            st.error(f"{len(failed)} check(s) failed: {', '.join(failed['check'])}" if len(failed) else text)
        st.dataframe(rows, hide_index=True, width="stretch", key="doctor_rows", column_config=in_words(rows.columns))
        return
    raw = store.get_state(REPORT_KEY) if store is not None else None
    if not raw:
        st.caption("No health check has run on this store yet.")
        return
    report = json.loads(raw)
    rows = pd.DataFrame(report["checks"]).rename(columns={"name": "check"})[["status", "check", "detail", "fix"]]
    st.caption(f"Last report: {utc(report['at'])} ({(rows['status'] == 'FAIL').sum()} failed)")
    st.dataframe(rows, hide_index=True, width="stretch", key="doctor_rows", column_config=in_words(rows.columns))
