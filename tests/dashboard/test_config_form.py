"""The config editor: a valid change is saved through the bot's own model (and reloads), an
invalid one shows the ConfigError and leaves the file's bytes alone, untouched keys stay."""

from __future__ import annotations

import json
from typing import ClassVar, Literal

import pandas as pd
import pytest
from pydantic import Field

from daybreak.ops.config_file import load_config
from daybreak.ui.config_form import CHOSEN
from strategies import registry
from strategies.base import BaseStrategy, StrategyParams
from tests.dashboard.helpers import ROOT, open_page


def save(at):
    next(b for b in at.button if b.label == "Save config").click().run()
    assert not at.exception
    return at


def test_valid_change_is_saved_and_reloads(deployment, monkeypatch):
    before = json.loads(deployment.config_path.read_text())
    at = open_page(deployment.config_path, monkeypatch, "config")
    at.number_input(key="cfg.params.MA_Crossover.short_period").set_value(20)
    at.checkbox(key="cfg.external_signals").uncheck()
    at.text_input(key="cfg.add_symbols").input("sol/usdt")
    at.number_input(key="cfg.risk.stop_loss_ratio").set_value(0.01)
    at.number_input(key="cfg.override.MA_Crossover.time_stop_seconds").set_value(150.0)
    save(at)

    assert any("applies it on its next cycle" in s.value for s in at.success)
    cfg = load_config(deployment.config_path)
    assert registry.params_for("MA_Crossover", cfg.params.get("MA_Crossover")).short_period == 20
    assert registry.params_for("MA_Crossover", cfg.params.get("MA_Crossover")).long_period == 200
    assert cfg.external_signals is False
    assert cfg.symbols == ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
    assert cfg.risk.stop_loss_ratio == 0.01
    assert cfg.risk_for("MA_Crossover").time_stop_seconds == 150
    after = json.loads(deployment.config_path.read_text())
    changed = {"params", "external_signals", "symbols", "risk", "risk_overrides"}
    assert {k: v for k, v in after.items() if k not in changed} == {k: v for k, v in before.items() if k not in changed}
    assert after["risk"] == {"stop_loss_ratio": 0.01}  # only what was set; the rest stays off
    assert after["risk_overrides"] == {"MA_Crossover": {"time_stop_seconds": 150.0}}
    # the form now shows the saved file
    assert at.number_input(key="cfg.params.MA_Crossover.short_period").value == 20


@pytest.mark.parametrize(
    "edit, field",
    [
        (
            lambda at: at.number_input(key="cfg.params.MA_Crossover.short_period").set_value(300),
            "params.MA_Crossover",
        ),  # short_period >= long_period
        (lambda at: at.text_input(key="cfg.add_symbols").input("BTCUSDT"), "symbols"),
        (lambda at: at.selectbox(key="cfg.risk.sizing").select("risk"), "risk"),  # needs a stop
        (lambda at: at.text_input(key="cfg.risk.day_timezone").input("Mars/Olympus"), "risk"),
    ],
)
def test_invalid_change_shows_error_and_leaves_file_untouched(deployment, monkeypatch, edit, field):
    original = deployment.config_path.read_bytes()
    at = open_page(deployment.config_path, monkeypatch, "config")
    edit(at)
    save(at)
    errors = [e.value for e in at.error if e.value.startswith("Not saved")]
    assert len(errors) == 1 and f"{field}" in errors[0], errors
    assert not at.success
    assert deployment.config_path.read_bytes() == original
    assert not list(deployment.config_path.parent.glob(".config.*"))  # no temp file left behind


def test_saving_without_changes_does_not_write(deployment, monkeypatch):
    original = deployment.config_path.read_bytes()
    at = save(open_page(deployment.config_path, monkeypatch, "config"))
    assert any("Nothing changed" in i.value for i in at.info)
    assert deployment.config_path.read_bytes() == original


def test_emptying_a_risk_input_turns_the_rule_off_and_keeps_others(deployment, monkeypatch):
    data = json.loads(deployment.config_path.read_text())
    data["risk"] = {"stop_loss_ratio": 0.02, "max_trades_per_day": 10, "take_profit_ratio": None}
    deployment.config_path.write_text(json.dumps(data))
    at = open_page(deployment.config_path, monkeypatch, "config")
    assert at.number_input(key="cfg.risk.stop_loss_ratio").value == 0.02
    at.number_input(key="cfg.risk.stop_loss_ratio").set_value(None)
    save(at)
    # the explicit null the user did not touch stays as it was
    assert json.loads(deployment.config_path.read_text())["risk"] == {
        "max_trades_per_day": 10,
        "take_profit_ratio": None,
    }
    assert load_config(deployment.config_path).risk.stop_loss_ratio is None


def test_removing_a_symbol_removes_its_order_size(deployment, monkeypatch):
    at = open_page(deployment.config_path, monkeypatch, "config")
    at.multiselect(key="cfg.symbols").unselect("ETH/USDT")
    save(at)
    assert any("order_size for ETH/USDT removed" in s.value for s in at.success)
    cfg = load_config(deployment.config_path)
    assert cfg.symbols == ["BTC/USDT"] and set(cfg.order_size) == {"default", "BTC/USDT"}


def test_disabling_a_strategy(deployment, monkeypatch):
    at = open_page(deployment.config_path, monkeypatch, "config")
    at.checkbox(key="cfg.algos.MA_Crossover").uncheck()
    save(at)
    assert load_config(deployment.config_path).enabled_algos() == []


class _DemoParams(StrategyParams):
    mode: Literal["fast", "slow"] = Field("slow", description="Demo choice")
    sessions: list[Literal["asia", "europe", "us"]] = Field(default_factory=lambda: ["us"], description="Demo set")
    confirm: bool = Field(False, description="Demo flag")
    band_ratio: float | None = Field(None, gt=0, le=0.5, description="Demo optional ratio")


class _Demo(BaseStrategy):
    name: ClassVar[str] = "Demo_Generated"
    params_model = _DemoParams
    warmup = 1

    def populate(self, candles: pd.DataFrame) -> pd.DataFrame:
        return candles.assign(enter_long=False, exit_long=False)


def test_a_new_strategy_gets_inputs_from_its_schema(deployment, monkeypatch):
    monkeypatch.setitem(registry._REGISTRY, _Demo.name, _Demo)  # removed again after the test
    at = open_page(deployment.config_path, monkeypatch, "config")
    assert "cfg.params.Demo_Generated.mode" not in {w.key for w in at.selectbox}  # one strategy at a time
    at.selectbox(key="config_strategy").select("Demo_Generated").run()
    key = "cfg.params.Demo_Generated."
    assert at.selectbox(key=key + "mode").options == ["fast", "slow"]
    assert at.multiselect(key=key + "sessions").options == ["asia", "europe", "us"]
    assert at.number_input(key=key + "band_ratio").value is None
    at.checkbox(key="cfg.algos.Demo_Generated").check()
    at.selectbox(key=key + "mode").select("fast")
    at.multiselect(key=key + "sessions").select("asia")
    at.checkbox(key=key + "confirm").check()
    at.number_input(key=key + "band_ratio").set_value(0.1)
    save(at)
    saved = json.loads(deployment.config_path.read_text())
    assert saved["algos"]["Demo_Generated"] is True
    assert saved["params"]["Demo_Generated"] == {
        "mode": "fast",
        "sessions": ["us", "asia"],
        "confirm": True,
        "band_ratio": 0.1,
    }


def test_shipped_config_round_trips_through_the_form(deployment, monkeypatch):
    shipped = json.loads((ROOT / "config.json").read_text())
    shipped["storage"] = {"backend": "sqlite", "path": str(deployment.db_path)}
    deployment.config_path.write_text(json.dumps(shipped, indent=2))
    original = deployment.config_path.read_bytes()
    at = open_page(deployment.config_path, monkeypatch, "config")
    for name, value in shipped.get("risk", {}).items():
        widget = next(w for w in [*at.number_input, *at.selectbox, *at.text_input] if w.key == f"cfg.risk.{name}")
        assert widget.value == value, name
    save(at)
    assert any("Nothing changed" in i.value for i in at.info)  # every input shows what the file holds
    assert deployment.config_path.read_bytes() == original

    at.selectbox(key=CHOSEN).set_value("MA_Crossover").run()  # the form shows one strategy at a time
    at.number_input(key="cfg.params.MA_Crossover.long_period").set_value(300)
    save(at)
    after = json.loads(deployment.config_path.read_text())
    shipped["params"]["MA_Crossover"]["long_period"] = 300
    assert after == shipped  # exactly one value changed, everything else kept


def test_execution_order_types_are_edited_and_validated(deployment, monkeypatch):
    at = open_page(deployment.config_path, monkeypatch, "config")
    at.selectbox(key="cfg.execution.entry_order").select("limit")
    at.number_input(key="cfg.execution.entry_offset_bps").set_value(5.0)
    save(at)
    assert json.loads(deployment.config_path.read_text())["execution"] == {
        "entry_order": "limit",
        "entry_offset_bps": 5.0,
    }
    assert load_config(deployment.config_path).execution.entry_order == "limit"
    original = deployment.config_path.read_bytes()
    at = open_page(deployment.config_path, monkeypatch, "config")
    assert at.selectbox(key="cfg.execution.entry_order").value == "limit"
    at.selectbox(key="cfg.execution.exchange_stop").select("stop_loss_limit")  # the deployment has no stop rule
    save(at)
    (error,) = [e.value for e in at.error if e.value.startswith("Not saved")]
    assert "execution.exchange_stop" in error and "stop_loss_ratio" in error
    assert deployment.config_path.read_bytes() == original
