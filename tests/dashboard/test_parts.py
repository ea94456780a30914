"""Pure pieces of the dashboard: config path precedence, health from the status row, limit
distances, the checklist, number formatting, schema mapping."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from daybreak.core.config import Config
from daybreak.core.markets import load_snapshot
from daybreak.core.risk_settings import RiskSettings
from daybreak.ops.logs import LogRecord
from daybreak.ui import checklist
from daybreak.ui.fmt import Precision, duration, money, pct, when
from daybreak.ui.health import (
    ERROR,
    IDLE,
    OK,
    WARN,
    assess,
    heartbeat_is_stale,
    limit_rows,
    limit_text,
)
from daybreak.ui.launch import ENV_VAR, config_path
from daybreak.ui.schema_inputs import field_specs, merge_changes
from storage.records import StatusRecord

NOW = 1_800_000_000_000


@pytest.mark.parametrize(
    "argv, env, expected",
    [
        ([], {}, "config.json"),
        ([], {ENV_VAR: "/env/c.json"}, "/env/c.json"),
        (["--config", "/cli/c.json"], {ENV_VAR: "/env/c.json"}, "/cli/c.json"),
        (["--", "--config", "/cli/c.json"], {}, "/cli/c.json"),
        (["tests/dashboard", "-q", "-x"], {ENV_VAR: "/env/c.json"}, "/env/c.json"),  # pytest's argv
    ],
)
def test_config_path_cli_over_env_over_default(argv, env, expected):
    assert config_path(argv, env) == Path(expected)


def status(state="RUNNING", ts=NOW, **detail) -> StatusRecord:
    return StatusRecord(ts, "paper", state, detail=detail)


def test_a_replay_is_aged_by_wall_time_not_its_market_clock():
    market = 1_620_864_000_000  # 2021: years before NOW
    h = assess(status(ts=market, run="replay", wall_ms=NOW - 2_000), NOW, 5)
    assert (h.level, h.replay, h.market_ms, h.age_s) == (OK, True, market, 2.0)
    old_bot = assess(status(ts=NOW - 20_000), NOW, 5)  # no wall_ms: timestamp is the wall clock
    assert old_bot.level == ERROR and old_bot.headline.startswith("no heartbeat for 20 s")


def test_backing_off_is_a_warning_until_the_retry_is_overdue():
    feed = {"BTC/USDT": {"error": "refused"}}
    waiting = assess(status(wall_ms=NOW - 120_000, retry_at=NOW + 30_000, feed=feed), NOW, 5)
    assert waiting.level == WARN and "next retry in 30 s" in waiting.headline
    overdue = assess(status(wall_ms=NOW - 120_000, retry_at=NOW - 16_000, feed=feed), NOW, 5)
    assert overdue.level == ERROR and "stopped or stuck" in overdue.headline  # 3 polls past the retry


def test_states_map_to_levels():
    assert assess(None, NOW, 5).level == IDLE
    assert assess(status("SHUTDOWN", wall_ms=NOW - 10**7), NOW, 5).level == IDLE  # stopped, not stuck
    assert assess(status("PAUSED_RISK_LIMIT", wall_ms=NOW), NOW, 5).level == WARN
    assert assess(status("ERROR", wall_ms=NOW), NOW, 5).level == ERROR
    assert assess(status(wall_ms=NOW, feed={"ETH/USDT": {"error": "timeout"}}), NOW, 5).level == WARN


def test_heartbeat_stale_after_three_polls():
    assert not heartbeat_is_stale(15.0, 5.0)
    assert heartbeat_is_stale(15.1, 5.0)


def test_limit_rows_give_distance_to_trigger_in_words():
    rows = {
        r["limit"]: r
        for r in limit_rows(
            {
                "daily_loss_used": 2.3231,
                "daily_loss_limit": 150.0,
                "trades_today": 10,
                "max_trades_per_day": 10,
                "loss_streak": 2,
                "max_consecutive_losses": None,
            }
        )
    }
    assert limit_text(rows["Daily loss"]) == ("2.32", "150.00", "147.68")  # not 147.6769
    assert rows["Daily loss"]["left_ratio"] == pytest.approx(147.6769 / 150)
    assert limit_text(rows["Entries today"]) == ("10", "10", "0")
    assert limit_text(rows["Loss streak"]) == ("2", "off", "off")


def test_repeated_errors_group_by_message_without_numbers():
    recs = [LogRecord(NOW - i * 60_000, "ERROR", f"binanceus GET /klines: timeout after {i}.5 s") for i in range(3)]
    red = checklist.repeated_errors(recs, NOW, 3, "x.log")
    assert red.ok is False and red.reason.startswith("3 x in the last hour")
    old = [LogRecord(NOW - 2 * 3_600_000, "ERROR", "boom")] * 5
    assert checklist.repeated_errors(old, NOW, 3, "x.log").ok is True  # older than an hour
    assert checklist.repeated_errors(None, NOW, 3, "x.log").ok is None


def test_pnl_band_and_positions_checks():
    assert checklist.pnl_band(-150.0, 10_000.0, -0.01, 0.03).ok is False
    assert checklist.pnl_band(-99.0, 10_000.0, -0.01, 0.03).ok is True
    assert checklist.pnl_band(None, None, -0.01, 0.03).ok is None
    config = Config(risk=RiskSettings(max_open_positions=1, time_stop_seconds=150))
    frame = pd.DataFrame(
        [{"algo": "MA_Crossover", "symbol": "BTC/USDT", "last_price": 1.0, "time_in_trade_ms": 400_000}]
    )
    bad = checklist.positions(frame, config, 5)
    assert bad.ok is False and "past its time stop" in bad.reason
    assert checklist.positions(frame.assign(time_in_trade_ms=100_000), config, 5).ok is True


def test_last_day_win_rate_only_judged_on_enough_trades():
    few = pd.DataFrame({"pnl": [-1.0, -2.0]})
    assert checklist.last_day(few, 0.5).ok is True
    many = pd.DataFrame({"pnl": [-1.0] * 4 + [2.0]})
    assert checklist.last_day(many, 0.5).ok is False
    assert checklist.last_day(many, None).ok is True


def test_numbers_for_people():
    p = Precision.from_limits(load_snapshot("binanceus"))
    assert p.amount("ETH/USDT", 0.03629) == "0.03629"  # never rounded away, even below the step
    assert p.amount("BTC/USDT", 0.001) == "0.00100"  # the market's step decimals
    assert p.price("BTC/USDT", 54457.124955) == "54,457.12"
    assert money(-0.001) == "0.00" and money(1234.5, signed=True) == "+1,234.50"
    assert pct(0.0526) == "5.26 %" and pct(0.05263) == "5.26 %"
    assert duration(185_000) == "3 min 05 s" and duration(2 * 86_400_000 + 3_600_000) == "2 d 01 h"
    assert when(1_620_820_980_000, "America/New_York") == "2021-05-12 12:03:00 UTC (08:03 EDT)"


def test_risk_schema_fields_map_to_inputs():
    specs = {s.name: s for s in field_specs(RiskSettings)}
    assert set(specs) == set(RiskSettings.model_fields)
    assert specs["sizing"].kind == "choice" and specs["sizing"].nullable
    assert specs["max_trades_per_day"].kind == "int" and specs["max_trades_per_day"].minimum == 1
    assert specs["stop_loss_ratio"].kind == "float" and specs["stop_loss_ratio"].maximum == 1.0


def test_merge_changes_touches_only_changed_fields():
    current = {"a": 1, "b": None, "keep": "x"}
    shown = {"a": 1, "b": None, "c": None}
    assert merge_changes(current, shown, {"a": 1, "b": None, "c": None}) == current
    assert merge_changes(current, shown, {"a": None, "b": None, "c": 5}) == {"b": None, "keep": "x", "c": 5}


def test_alert_counters_line_flags_failures():
    from daybreak.ui.health import alerts_line

    assert alerts_line(None) == (False, "Alerts: off (no notification URLs configured, or notify.enabled is false)")
    trouble, text = alerts_line({"sent": 7, "targets": 2, "suppressed": 1, "failed": 0, "dropped": 0})
    assert not trouble and text.startswith("Alerts: 7 sent to 2 target(s)")
    trouble, text = alerts_line(
        {
            "sent": 7,
            "targets": 2,
            "suppressed": 0,
            "failed": 3,
            "dropped": 1,
            "last_error": "json://h/x: HTTP 500",
            "last_error_at": 1_620_000_000.0,
        }
    )
    assert trouble and "3 delivery(ies) failed, 1 dropped" in text
    assert "last error (2021-05-03 00:00:00 UTC): json://h/x: HTTP 500" in text


def test_a_replays_last_error_names_its_clock():
    from daybreak.ui.views.operations import _replay_clock

    market, wall = 1_620_691_200_000, 1_796_000_000_000
    beat = {"run": "replay", "wall_ms": wall}
    refused = StatusRecord(market, "paper", "RUNNING", last_error="config refused", last_error_at=wall - 5, detail=beat)
    stored = StatusRecord(market, "paper", "RUNNING", last_error="storage", last_error_at=market - 60_000, detail=beat)
    assert _replay_clock(refused, wall) == " (wall clock)"
    assert _replay_clock(stored, wall) == " (market time)"


def test_order_types_in_words():
    from daybreak.ui.fmt import order_type

    assert [order_type(v) for v in ("market", "stop_limit", "maker", "limit+market", None)] == [
        "market",
        "stop-limit",
        "maker (post-only)",
        "limit + market",
        "",
    ]
