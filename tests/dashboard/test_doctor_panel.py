"""The dashboard's health-check button runs ``bot.py doctor`` for its config (a subprocess; the
config names an exchange id ccxt does not have, so nothing leaves the machine) and shows each check."""
from __future__ import annotations

import json

from tests.dashboard.helpers import dashboard_app, frame_with, write_config


def test_health_check_button_shows_each_check_and_the_stored_report(deployment, monkeypatch, tmp_path):
    cfg = json.loads(deployment.config_path.read_text())
    write_config(deployment.config_path.parent, deployment.db_path, exchange="nosuchexchange",
                 storage=cfg["storage"])
    monkeypatch.delenv("DAYBREAK_NOTIFY_URLS", raising=False)
    at = dashboard_app(deployment.config_path, monkeypatch).run()
    assert any("No health check has run" in c.value for c in at.caption)
    at.button(key="doctor_run").click().run(timeout=180)
    assert not at.exception
    rows = frame_with(at, "status", "check", "fix").set_index("check")
    assert rows.loc["exchange", "status"] == "FAIL" and "not a ccxt exchange id" in rows.loc["exchange", "detail"]
    assert rows.loc["storage", "status"] == "PASS" and rows.loc["config", "status"] == "PASS"
    assert any("check(s) failed: exchange" in e.value for e in at.error)

    at = dashboard_app(deployment.config_path, monkeypatch).run()   # a new session: the stored report
    stored = frame_with(at, "status", "check", "fix").set_index("check")
    assert stored.loc["exchange", "status"] == "FAIL" and any("Last report:" in c.value for c in at.caption)
