"""Backtest and replay share every rule, also for the exit and sizing rules the main parity test
leaves out: ATR stop and trailing, the decaying trail, time stop, per-strategy overrides, equity
sizing and the position caps, on two symbols at once (the backtest skips candles where nothing
can happen; replay walks every one)."""

from __future__ import annotations

from strategies import registry
from tests.test_parity import _both, assert_same

RISK = {
    "stop_loss_atr_mult": 2.0,
    "trailing_atr_mult": 3.0,
    "trailing_start_ratio": 0.002,
    "sizing": "equity_fraction",
    "equity_fraction": 0.2,
    "max_open_positions": 4,
    "max_positions_per_symbol": 3,
}
OVERRIDES = {
    "MA_Crossover": {
        "stop_loss_ratio": 0.01,
        "trailing_decay_start": 0.5,
        "trailing_decay_min": 0.1,
        "trailing_decay_rate": 20,
        "trailing_min_gain_ratio": 0.001,
        "time_stop_seconds": 600,
    },
    "RSI_Reversion": {"take_profit_ratio": 0.004, "take_profit_fraction": 0.5, "breakeven_trigger_ratio": 0.002},
}


def test_backtest_equals_replay_with_atr_decay_time_stop_and_overrides(tmp_path):
    replayed, backtested = _both(
        tmp_path, algos={n: True for n in registry.names()}, params={}, risk=RISK, risk_overrides=OVERRIDES
    )
    reasons = {t.exit_reason for t in backtested if t.action == "sell"}
    assert {"stop_loss", "trailing_stop", "time_stop", "take_profit"} <= reasons, reasons
    assert_same(replayed, backtested)
