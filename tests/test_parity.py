"""Backtest and replay share every rule: identical trades on the shipped real candles,
for every registered strategy, with and without exit rules and protections."""

from __future__ import annotations

import pytest

from daybreak.drivers.backtest import run_backtest
from daybreak.drivers.replay import load_files, run_replay
from daybreak.drivers.wiring import build_context
from daybreak.ops.config_file import load_config
from strategies import registry
from tests.helpers import SAMPLE, write_config

RISK = {
    "stop_loss_ratio": 0.004,
    "take_profit_ratio": 0.006,
    "take_profit_fraction": 0.5,
    "trailing_start_ratio": 0.003,
    "trailing_ratio": 0.002,
    "breakeven_trigger_ratio": 0.002,
    "time_stop_seconds": 3600,
    "max_trades_per_day": 12,
    "symbol_cooldown_seconds": 120,
    "max_consecutive_losses": 3,
    "loss_pause_minutes": 30,
    "daily_max_loss_ratio": 0.002,
    "sizing": "risk",
    "risk_per_trade_ratio": 0.0025,
    "max_trade_equity_ratio": 0.2,
}


def _both(tmp_path, **overrides):
    cfg_path = write_config(tmp_path, **overrides)
    config = load_config(cfg_path)
    data = load_files(SAMPLE, config)
    ctx = build_context(cfg_path, config)
    try:
        run_replay(ctx, data)
        replayed = ctx.store.list_trades()
    finally:
        ctx.shutdown()
    backtested = run_backtest(config, data).trades
    return replayed, backtested


def _key(t):
    return (t.trade_id, t.timestamp, t.symbol, t.action, t.algo, t.exit_reason)


def assert_same(replayed, backtested):
    assert sorted(map(_key, replayed)) == sorted(map(_key, backtested))
    by_id = {t.trade_id: t for t in backtested}
    for r in replayed:
        b = by_id[r.trade_id]
        assert r.price == pytest.approx(b.price, rel=1e-12, abs=1e-9)
        assert r.amount == pytest.approx(b.amount, rel=1e-12)
        assert r.fee == pytest.approx(b.fee, rel=1e-9, abs=1e-12)
        assert (r.pnl is None) == (b.pnl is None)
        if r.pnl is not None:
            assert r.pnl == pytest.approx(b.pnl, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("name", registry.names())
def test_backtest_equals_replay_per_strategy(tmp_path, name):
    replayed, backtested = _both(tmp_path, algos={name: True}, params={})
    assert_same(replayed, backtested)


def test_backtest_equals_replay_with_exits_and_protections(tmp_path):
    replayed, backtested = _both(tmp_path, algos={n: True for n in registry.names()}, params={}, risk=RISK)
    reasons = {t.exit_reason for t in backtested if t.action == "sell"}
    assert {"stop_loss", "take_profit", "trailing_stop"} <= reasons, reasons
    assert_same(replayed, backtested)
