"""strategies.catalog: what ``python bot.py strategies [--format table|json]`` prints."""

from __future__ import annotations

import json

from daybreak.ops.config_file import parse_config
from strategies import registry
from strategies.catalog import describe_all, format_table


def _config():
    return parse_config(
        {"algos": {"Momentum_Chase": True, "RSI_Divergence": False}, "params": {"Momentum_Chase": {"rise_ratio": 0.05}}}
    )


def test_describe_all_lists_every_registered_strategy_with_its_effective_settings():
    rows = describe_all(_config())
    assert [r["name"] for r in rows] == registry.names()
    by_name = {r["name"]: r for r in rows}
    chase = by_name["Momentum_Chase"]
    assert chase["enabled"] is True and chase["params"]["rise_ratio"] == 0.05
    assert chase["warmup"] == registry.get("Momentum_Chase")({"rise_ratio": 0.05}).warmup
    assert chase["params_schema"]["properties"]["rise_ratio"]["exclusiveMinimum"] == 0
    div = by_name["RSI_Divergence"]
    assert div["enabled"] is False and div["timeframe"] == "1m" and div["context_timeframe"] == "5m"
    assert by_name["MACD_Crossover"]["context_timeframe"] is None
    assert json.loads(json.dumps(rows)) == rows  # --format json prints exactly this


def test_format_table_has_a_header_and_one_aligned_line_per_strategy():
    rows = describe_all(_config())
    lines = format_table(rows).splitlines()
    assert lines[0].split() == ["NAME", "ENABLED", "TF", "CONTEXT", "WARMUP", "PARAMS"]
    assert len(lines) == len(rows) + 1
    chase = next(line for line in lines if line.startswith("Momentum_Chase "))
    assert " yes " in chase and "rise_ratio=0.05" in chase
    div = next(line for line in lines if line.startswith("RSI_Divergence "))
    assert " 5m " in div and " no " in div
    params_at = lines[0].index("PARAMS")
    assert all(line[params_at - 2 : params_at] == "  " for line in lines)  # columns line up
