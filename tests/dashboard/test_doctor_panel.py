"""The dashboard's health-check button runs ``bot.py doctor`` for its config (a subprocess) and
shows each check. The exchange is reached through a proxy on a closed loopback port, so the
request fails at once and nothing leaves the machine."""

from __future__ import annotations

import json

from tests.dashboard.helpers import frame_with, open_page, write_config


def test_health_check_button_shows_each_check_and_the_stored_report(deployment, monkeypatch, tmp_path):
    cfg = json.loads(deployment.config_path.read_text())
    write_config(deployment.config_path.parent, deployment.db_path, exchange="binanceus", storage=cfg["storage"])
    monkeypatch.delenv("DAYBREAK_NOTIFY_URLS", raising=False)
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # discard port: connection refused
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    at = open_page(deployment.config_path, monkeypatch, "config")
    assert any("No health check has run" in c.value for c in at.caption)
    at.button(key="doctor_run").click().run(timeout=180)
    assert not at.exception
    rows = frame_with(at, "status", "check", "fix").set_index("check")
    assert rows.loc["exchange", "status"] == "FAIL"
    assert rows.loc["storage", "status"] == "PASS" and rows.loc["config", "status"] == "PASS"
    assert any("check(s) failed: exchange" in e.value for e in at.error)

    at = open_page(deployment.config_path, monkeypatch, "config")  # a new session: the stored report
    stored = frame_with(at, "status", "check", "fix").set_index("check")
    assert stored.loc["exchange", "status"] == "FAIL" and any("Last report:" in c.value for c in at.caption)
