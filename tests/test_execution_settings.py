"""The ``execution`` config keys: defaults are market-only; every bad value or impossible
combination is refused with one line naming the field and the value; overrides merge like
``risk_overrides``."""

from __future__ import annotations

import pytest

from daybreak.core.config import ConfigError
from daybreak.ops.config_file import parse_config

STOP_AND_TP = {"stop_loss_ratio": 0.01, "take_profit_ratio": 0.02}


def test_the_defaults_are_market_only():
    cfg = parse_config({})
    assert cfg.execution.market_only and cfg.execution_for("MA_Crossover").market_only
    assert (
        cfg.execution.entry_order,
        cfg.execution.exit_order,
        cfg.execution.take_profit_order,
        cfg.execution.exchange_stop,
        cfg.execution.max_spread_bps,
    ) == ("market", "market", "bot", "off", None)


@pytest.mark.parametrize(
    "data, message",
    [
        (
            {"execution": {"entry_order": "stop"}},
            "execution.entry_order = \"stop\": Input should be 'market' or 'limit'",
        ),
        (
            {"execution": {"entry_offset_bps": -1}},
            "execution.entry_offset_bps = -1: Input should be greater than or equal to 0",
        ),
        (
            {"execution": {"entry_timeout_seconds": 0}},
            "execution.entry_timeout_seconds = 0: Input should be greater than 0",
        ),
        ({"execution": {"max_spread_bps": 0}}, "execution.max_spread_bps = 0: Input should be greater than 0"),
        ({"execution": {"surprise": 1}}, "execution.surprise = 1: Extra inputs are not permitted"),
        (
            {"execution": {"take_profit_ease_bps": 5}},
            "execution.take_profit_ease_bps = 5.0: needs take_profit_ease_seconds",
        ),
        (
            {"execution": {"take_profit_ease_bps": 5, "take_profit_ease_seconds": 60}},
            "execution.take_profit_ease_bps = 5.0: eases a resting take-profit: set take_profit_order 'resting'",
        ),
        (
            {"execution": {"exchange_stop": "oco"}, "risk": STOP_AND_TP},
            'execution.exchange_stop = "oco": an OCO rests the take-profit on the exchange',
        ),
        (
            {"execution": {"exchange_stop": "stop_loss_limit", "take_profit_order": "resting"}, "risk": STOP_AND_TP},
            'execution.exchange_stop = "stop_loss_limit": with a resting take-profit both sells would lock',
        ),
        (
            {"execution": {"exchange_stop": "stop_loss_limit"}},
            'execution.exchange_stop = "stop_loss_limit": an exchange stop needs risk.stop_loss_ratio or',
        ),
        (
            {"execution": {"take_profit_order": "resting"}},
            'execution.take_profit_order = "resting": a resting take-profit needs',
        ),
        (
            {
                "execution": {"exchange_stop": "oco", "take_profit_order": "resting"},
                "risk": {**STOP_AND_TP, "take_profit_fraction": 0.5},
            },
            'execution.exchange_stop = "oco": an OCO\'s two legs sell',
        ),
        (
            {"execution_overrides": {"MA_Crossover": {"exchange_stop": "stop_loss_limit"}}},
            'execution_overrides.MA_Crossover.exchange_stop = "stop_loss_limit": an exchange stop needs',
        ),
        ({"execution_overrides": {"Nope": {}}}, 'execution_overrides.Nope = "Nope": unknown strategy'),
        ({"paper": {"maker_fee_rate": 0.5}}, "paper.maker_fee_rate = 0.5: Input should be less than or equal to 0.05"),
    ],
)
def test_a_bad_execution_setting_names_the_field_and_the_value(data, message):
    with pytest.raises(ConfigError) as err:
        parse_config(data)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_an_override_is_merged_over_the_defaults_and_checked_with_its_risk():
    cfg = parse_config(
        {
            "risk": {},
            "risk_overrides": {"MA_Crossover": STOP_AND_TP},
            "execution": {"entry_order": "limit", "entry_offset_bps": 10},
            "execution_overrides": {"MA_Crossover": {"exchange_stop": "stop_loss_limit"}},
        }
    )
    mine = cfg.execution_for("MA_Crossover")
    assert (mine.entry_order, mine.entry_offset_bps, mine.exchange_stop) == ("limit", 10.0, "stop_loss_limit")
    assert cfg.execution_for("RSI_Reversion").exchange_stop == "off"
    with pytest.raises(ConfigError, match="execution_overrides.MA_Crossover.exchange_stop"):
        parse_config({"execution_overrides": {"MA_Crossover": {"exchange_stop": "stop_loss_limit"}}})
