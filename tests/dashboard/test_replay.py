"""The dashboard over a store filled by a real ``bot.py run --replay`` of the shipped candles."""
from __future__ import annotations

import subprocess
import sys

import pytest

from daybreak.reporting.stats import TOTAL, summarize
from storage.sqlite import SQLiteStore
from tests.dashboard.helpers import (
    ROOT,
    SAMPLE,
    dashboard_app,
    frame_with,
    metric,
    write_config,
)


def test_replayed_trades_and_pnl_are_shown(tmp_path, monkeypatch):
    db = tmp_path / "replay.db"
    config = write_config(tmp_path, db, params={"MA_Crossover": {"short_period": 10, "long_period": 30}})
    files = sorted(str(p) for p in SAMPLE.glob("*_1m.csv.gz"))
    run = subprocess.run([sys.executable, "bot.py", "run", "--config", str(config), "--replay", *files],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    store = SQLiteStore(db)
    try:
        stored = store.list_trades(newest_first=True)
        prices = store.price_symbols()
    finally:
        store.close()
    assert len(stored) >= 10 and {t.symbol for t in stored} == {"BTC/USDT", "ETH/USDT"}

    at = dashboard_app(config, monkeypatch).run()
    assert not at.exception
    assert frame_with(at, "trade_id", "pnl")["trade_id"].tolist() == [t.trade_id for t in stored]
    summary = summarize(stored)
    per_strategy = frame_with(at, "strategy", "win_rate").set_index("strategy")
    for stat, value in summary[TOTAL].items():
        assert per_strategy.loc[TOTAL, stat] == pytest.approx(value), stat
    assert metric(at, "Total P&L (USDT)") == f"{summary[TOTAL]['pnl']:,.2f}"
    assert prices == ["BTC/USDT", "ETH/USDT"]
    assert at.selectbox(key="chart_symbol").options == prices
