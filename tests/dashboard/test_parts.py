"""Pure pieces of the dashboard: config path precedence, limit distances, schema mapping."""
from __future__ import annotations

from pathlib import Path

import pytest

from daybreak.core.risk_settings import RiskSettings
from daybreak.ui.launch import ENV_VAR, config_path
from daybreak.ui.schema_inputs import field_specs, merge_changes
from daybreak.ui.status import heartbeat_is_stale, limit_rows, other_limit_facts


@pytest.mark.parametrize("argv, env, expected", [
    ([], {}, "config.json"),
    ([], {ENV_VAR: "/env/c.json"}, "/env/c.json"),
    (["--config", "/cli/c.json"], {ENV_VAR: "/env/c.json"}, "/cli/c.json"),
    (["--", "--config", "/cli/c.json"], {}, "/cli/c.json"),
    (["tests/dashboard", "-q", "-x"], {ENV_VAR: "/env/c.json"}, "/env/c.json"),  # pytest's argv
])
def test_config_path_cli_over_env_over_default(argv, env, expected):
    assert config_path(argv, env) == Path(expected)


def test_limit_rows_give_distance_to_trigger_and_off_rules():
    rows = {r["limit"]: r for r in limit_rows({
        "daily_loss_used": 40.0, "daily_loss_limit": 150.0, "trades_today": 10, "max_trades_per_day": 10,
        "loss_streak": 2, "max_consecutive_losses": None, "paused_until": None})}
    assert rows["Daily loss"]["left"] == 110.0
    assert rows["Trades today"]["left"] == 0
    assert rows["Loss streak"]["left"] is None  # rule off
    assert set(rows) == {"Daily loss", "Trades today", "Loss streak"}
    facts = other_limit_facts({"day": "2021-05-12", "manual_pause": None, "paused_until": 5, "trades_today": 1})
    assert facts == {"day": "2021-05-12"}  # unknown keys are still shown, unset ones are not


def test_heartbeat_stale_after_three_polls():
    assert not heartbeat_is_stale(15.0, 5.0)
    assert heartbeat_is_stale(15.1, 5.0)


def test_risk_schema_fields_map_to_inputs():
    specs = {s.name: s for s in field_specs(RiskSettings)}
    assert set(specs) == set(RiskSettings.model_fields)
    assert specs["sizing"].kind == "choice" and specs["sizing"].nullable
    assert specs["sizing"].options == ("amount", "stake", "equity_fraction", "risk")
    assert specs["max_trades_per_day"].kind == "int" and specs["max_trades_per_day"].minimum == 1
    assert specs["stop_loss_ratio"].kind == "float" and specs["stop_loss_ratio"].maximum == 1.0
    assert specs["day_timezone"].kind == "text" and specs["day_timezone"].default == "UTC"


def test_merge_changes_touches_only_changed_fields():
    current = {"a": 1, "b": None, "keep": "x"}
    shown = {"a": 1, "b": None, "c": None}
    assert merge_changes(current, shown, {"a": 1, "b": None, "c": None}) == current
    assert merge_changes(current, shown, {"a": None, "b": None, "c": 5}) == {"b": None, "keep": "x", "c": 5}



def test_alert_counters_line_flags_failures():
    from daybreak.ui.status import alerts_line

    assert alerts_line(None) == (False, "Alerts: off (no notification URLs configured, or notify.enabled is false)")
    trouble, text = alerts_line({"sent": 7, "targets": 2, "suppressed": 1, "failed": 0, "dropped": 0})
    assert not trouble and text.startswith("Alerts: 7 sent to 2 target(s)")
    trouble, text = alerts_line({"sent": 7, "targets": 2, "suppressed": 0, "failed": 3, "dropped": 1,
                                 "last_error": "json://h/x: HTTP 500", "last_error_at": 1_620_000_000.0})
    assert trouble and "3 delivery(ies) failed, 1 dropped" in text
    assert "last error (2021-05-03 00:00:00 UTC): json://h/x: HTTP 500" in text
