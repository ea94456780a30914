"""Generated bad configs (hypothesis): every one either loads, and then cannot kill the bot later
(every strategy's merged risk settings and params build), or is refused by ``bot.py`` with exit 2
and one line naming the file, the field and the value. Never a traceback, never a hang."""

from __future__ import annotations

import copy
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daybreak.ops.config_file import load_config
from strategies import registry
from tests.helpers import assert_clean_refusal, run_cli

BASE = {
    "mode": "paper",
    "exchange": "binanceus",
    "symbols": ["BTC/USDT", "ETH/USDT"],
    "algos": {"MA_Crossover": True, "Momentum_Chase": False},
    "params": {"MA_Crossover": {"short_period": 50, "long_period": 200}},
    "external_signals": True,
    "external_signal_max_age_seconds": 300,
    "poll_seconds": 5,
    "order_size": {"default": {"stake": 100}, "BTC/USDT": {"amount": 0.001}},
    "paper": {"fee_rate": 0.001, "slippage_bps": 5, "starting_balance": 10000},
    "storage": {"backend": "sqlite", "path": "PLACEHOLDER", "price_retention_days": 30},
    "log": {"path": "PLACEHOLDER", "level": "INFO"},
    "risk": {
        "stop_loss_ratio": 0.01,
        "sizing": "risk",
        "risk_per_trade_ratio": 0.0025,
        "max_trades_per_day": 10,
        "max_consecutive_losses": 3,
        "loss_pause_minutes": 60,
        "day_timezone": "UTC",
    },
    "risk_overrides": {"Momentum_Chase": {"stop_loss_ratio": 0.03, "take_profit_ratio": 0.06}},
}
PATHS = [
    ("mode",),
    ("exchange",),
    ("symbols",),
    ("symbols", 0),
    ("algos",),
    ("algos", "MA_Crossover"),
    ("params",),
    ("params", "MA_Crossover"),
    ("params", "MA_Crossover", "short_period"),
    ("external_signals",),
    ("external_signal_max_age_seconds",),
    ("poll_seconds",),
    ("order_size", "default"),
    ("order_size", "BTC/USDT", "amount"),
    ("paper", "fee_rate"),
    ("paper", "slippage_bps"),
    ("paper", "starting_balance"),
    ("storage", "backend"),
    ("storage", "path"),
    ("storage", "endpoint_url"),
    ("storage", "region"),
    ("log", "level"),
    ("log", "path"),
    ("risk",),
    ("risk", "stop_loss_ratio"),
    ("risk", "sizing"),
    ("risk", "max_trades_per_day"),
    ("risk", "day_timezone"),
    ("risk", "take_profit_fraction"),
    ("risk_overrides", "Momentum_Chase", "stop_loss_ratio"),
    ("risk_overrides", "MA_Crossover"),
    ("risk_overrides", "MA_Crossover", "stop_loss_ratio"),
    ("risk_overrides", "MA_Crossover", "sizing"),
]
NASTY = st.one_of(
    st.booleans(),
    st.sampled_from([True, False, "5", "0.01", 10.0, 0, -1]),
    st.none(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(
        [
            "BTC/USDT\n",
            "BTC//USDT",
            "BTC/USDT/X",
            "\uff22TC/USDT",
            "btc/usdt",
            "",
            "risk",
            "equity_fraction",
            "Mars/Base",
            "1e309",
            "ftx",
            "BINANCE",
        ]
    ),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    st.recursive(st.integers(), lambda inner: st.lists(inner, max_size=2), max_leaves=4),
)


def _set(data: dict, path: tuple, value) -> None:
    node = data
    for key in path[:-1]:
        if isinstance(node, list):
            key = min(key, len(node) - 1) if isinstance(key, int) else 0
        elif not isinstance(node.get(key), (dict, list)):
            node[key] = {}
        node = node[key]
    if isinstance(node, list):
        node[0 if not isinstance(path[-1], int) else min(path[-1], len(node) - 1)] = value
    else:
        node[path[-1]] = value


def _no_coercion(given, loaded, where="") -> None:
    """Every value of the file is what the model holds: the same, of the same kind (an integer
    may stand for a float); a JSON true/false never became a number, a number never text."""
    if isinstance(given, dict) and isinstance(loaded, dict):
        for key, value in given.items():
            if key in loaded:
                _no_coercion(value, loaded[key], f"{where}.{key}")
        return
    if isinstance(given, list) and isinstance(loaded, list):
        assert len(given) == len(loaded), where
        for i, (a, b) in enumerate(zip(given, loaded)):
            _no_coercion(a, b, f"{where}.{i}")
        return
    assert given == loaded, (where, given, loaded)
    assert type(given) is type(loaded) or (type(given), type(loaded)) == (int, float), (where, given, loaded)


MUST_REFUSE = ("unknown key", "duplicate key")


@st.composite
def config_text(draw, tmp):
    """(JSON text, top-level key the change touched or None, kind of change) of a mutated BASE."""
    data = copy.deepcopy(BASE)
    data["storage"]["path"], data["log"]["path"] = str(tmp / "d.db"), str(tmp / "l.log")
    kind = draw(st.sampled_from(["value", "value", "value", "unknown key", "duplicate key", "cut", "bytes"]))
    touched = None
    if kind == "value":
        path = draw(st.sampled_from(PATHS))
        _set(data, path, draw(NASTY))
        touched = path[0]
    elif kind == "unknown key":
        path = draw(st.sampled_from([(), ("risk",), ("paper",), ("storage",)]))
        node = data
        for key in path:
            node = node[key]
        name = draw(st.text(min_size=1, max_size=8).filter(lambda k: k not in node))
        node[name] = 1
        touched = path[0] if path else name
    text = json.dumps(data, allow_nan=True)
    if kind == "duplicate key":
        key = draw(st.sampled_from(["risk", "paper", "symbols", "mode"]))
        text = text[:-1] + f', "{key}": {json.dumps(BASE[key])}' + "}"
        touched = key
    elif kind == "cut":
        text = text[: draw(st.integers(0, len(text) - 1))]
    elif kind == "bytes":
        return draw(st.binary(max_size=40)), None, kind
    return text.encode("utf-8"), touched, kind


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_generated_config_loads_safely_or_is_refused_naming_the_field(tmp_path, data):
    raw, touched, kind = data.draw(config_text(tmp_path))
    path = tmp_path / "config.json"
    path.write_bytes(raw)
    code, _, err = run_cli("strategies", "--config", str(path))
    if code == 0:
        assert kind not in MUST_REFUSE, kind
        config = load_config(path)
        _no_coercion(json.loads(raw), config.model_dump(mode="json"))
        # accepted: then nothing in it can fail later
        for name in set(config.algos) | set(config.risk_overrides) | {"External"}:
            config.risk_for(name)
        for name in config.enabled_algos():
            registry.build(name, config.params.get(name))
        return
    assert_clean_refusal(code, err, f"error: {path}: ")
    if touched is not None and " = " in err:
        assert touched in err or json.dumps(touched) in err, (touched, err)


def test_a_fifo_or_a_device_as_config_is_refused_at_once(tmp_path):
    import os

    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    for path in (fifo, "/dev/zero", tmp_path):
        code, _, err = run_cli("stats", "--config", str(path))
        assert_clean_refusal(code, err, str(path), "cannot read")
