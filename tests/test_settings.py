"""Config parsing: every bad config names the field and the value."""

from __future__ import annotations

import json

import pytest

from daybreak.core.config import ConfigError
from daybreak.ops.config_file import load_config, parse_config, save_config_atomic
from strategies import registry


@pytest.mark.parametrize(
    "data, field",
    [
        ({"algos": {"Nope": True}}, "algos"),
        ({"params": {"MA_Crossover": {"short_period": 200, "long_period": 50}}}, "params.MA_Crossover"),
        ({"params": {"MA_Crossover": {"short_period": 1}}}, "params.MA_Crossover.short_period"),
        ({"order_size": {"default": {"amount": -0.1}}}, "order_size.default.amount"),
        ({"mystery_key": 1}, "mystery_key"),
        ({"paper": {"fee_rate": 2}}, "paper.fee_rate"),
        ({"symbols": ["btcusdt"]}, "symbols"),
        ({"risk": {"day_timezone": "Mars/Olympus"}}, "risk"),
    ],
)
def test_bad_config_names_field_and_value(data, field):
    with pytest.raises(ConfigError) as err:
        parse_config(data)
    assert f" {field}" in str(err.value) or f"{field} =" in str(err.value)


def test_malformed_json_is_reported_with_position(tmp_path):
    p = tmp_path / "config.json"
    p.write_text('{"symbols": ["BTC/USDT",]}')
    with pytest.raises(ConfigError, match="malformed JSON at line 1"):
        load_config(p)


def test_shipped_config_is_valid():
    cfg = load_config("config.json")
    assert cfg.mode == "paper"
    assert cfg.symbols == ["BTC/USDT", "ETH/USDT"]
    p = registry.params_for("MA_Crossover", cfg.params.get("MA_Crossover"))
    assert (p.short_period, p.long_period, p.timeframe) == (50, 200, "1m")


def test_save_refuses_invalid_and_leaves_file_untouched(tmp_path):
    p = tmp_path / "config.json"
    p.write_text(json.dumps({"symbols": ["BTC/USDT"]}))
    before = p.read_bytes()
    with pytest.raises(ConfigError):
        save_config_atomic({"symbols": ["BTC/USDT"], "poll_seconds": -1}, p)
    assert p.read_bytes() == before
    save_config_atomic({"symbols": ["ETH/USDT"]}, p)
    assert load_config(p).symbols == ["ETH/USDT"]


def test_a_strategy_cannot_have_a_trading_day_of_its_own():
    """The daily loss and trades-per-day counters are account-wide: a per-strategy day boundary
    would be silently ignored, so it is refused (the same zone as the account's is accepted)."""
    with pytest.raises(
        ConfigError,
        match=r"risk_overrides\.MA_Crossover\.day_timezone = \"Asia/Tokyo\": the trading day is account-wide",
    ):
        parse_config(
            {"risk": {"day_timezone": "UTC"}, "risk_overrides": {"MA_Crossover": {"day_timezone": "Asia/Tokyo"}}}
        )
    cfg = parse_config(
        {"risk": {"day_timezone": "Asia/Tokyo"}, "risk_overrides": {"MA_Crossover": {"day_timezone": "Asia/Tokyo"}}}
    )
    assert cfg.risk_for("MA_Crossover").day_timezone == "Asia/Tokyo"
