"""Config versions on the dashboard: a save is stored as a version (with the config it replaced),
the panel shows each version's diff, and one click rolls a change back."""

from __future__ import annotations

import json

from daybreak.ops.config_file import load_config
from storage.records import ConfigVersionRecord
from tests.dashboard.helpers import frame_with, open_page


def test_a_dashboard_change_rolls_back_in_one_click(deployment, monkeypatch):
    original = json.loads(deployment.config_path.read_text())
    at = open_page(deployment.config_path, monkeypatch, "config")
    at.number_input(key="cfg.params.MA_Crossover.short_period").set_value(20)
    next(b for b in at.button if b.label == "Save config").click().run()
    assert any("as config version 2" in s.value for s in at.success)
    saved = json.loads(deployment.config_path.read_text())
    v2, v1 = deployment.store.list_config_versions()
    assert (v1.version, v1.author, v1.document) == (1, "file edit", original), "the replaced config is kept"
    assert (v2.version, v2.author, v2.document) == (2, "dashboard:local", saved)

    at = open_page(deployment.config_path, monkeypatch, "config")
    table = frame_with(at, "version", "who")
    assert table["version"].tolist() == [2, 1] and table["state"].tolist() == ["in file", ""]
    (diff,) = [c.value for c in at.code if "version 1" in c.value]
    assert '-      "short_period": 50,' in diff and '+      "short_period": 20,' in diff
    at.selectbox(key="versions_pick").select(1).run()
    at.button(key="versions_rollback").click().run()
    assert not at.exception
    assert any("Rolled back to version 1 as config version 3" in s.value for s in at.success)
    assert json.loads(deployment.config_path.read_text()) == original
    v3 = deployment.store.get_config_version(3)
    assert (v3.author, v3.note, v3.document) == ("dashboard:local", "rollback to version 1", original)
    assert load_config(deployment.config_path).params["MA_Crossover"]["short_period"] == 50
    assert at.number_input(key="cfg.params.MA_Crossover.short_period").value == 50, "the editor shows it"


def test_rolling_back_a_restart_only_key_says_so(deployment, monkeypatch):
    current = json.loads(deployment.config_path.read_text())
    deployment.store.put_config_version(ConfigVersionRecord(1, 1, "cli", dict(current, exchange="binance")))
    deployment.store.put_config_version(ConfigVersionRecord(2, 2, "cli", current))
    at = open_page(deployment.config_path, monkeypatch, "config")
    at.selectbox(key="versions_pick").select(1).run()
    at.button(key="versions_rollback").click().run()
    warning = " ".join(w.value for w in at.warning)
    assert "It changes exchange" in warning and "restart" in warning
    assert json.loads(deployment.config_path.read_text())["exchange"] == "binance"


def test_an_invalid_old_version_is_refused_and_the_file_kept(deployment, monkeypatch):
    before = deployment.config_path.read_bytes()
    current = json.loads(before)
    deployment.store.put_config_version(ConfigVersionRecord(1, 1, "cli", dict(current, algos={"Gone": True})))
    deployment.store.put_config_version(ConfigVersionRecord(2, 2, "cli", current))
    at = open_page(deployment.config_path, monkeypatch, "config")
    at.selectbox(key="versions_pick").select(1).run()
    at.button(key="versions_rollback").click().run()
    assert any(
        "Not rolled back: config version 1 cannot be rolled back to" in e.value and "Gone" in e.value for e in at.error
    )
    assert deployment.config_path.read_bytes() == before
    assert [r.version for r in deployment.store.list_config_versions()] == [2, 1]
