"""The backtest's equity curve (a vectorised driver computation) against a plain per-candle
mark-to-market written independently here: cash from every fill (fees included) plus each
symbol's holdings at its latest close."""

from __future__ import annotations

import math

import pytest

from daybreak.core.timeframes import timeframe_ms
from daybreak.drivers.backtest import run_backtest
from daybreak.drivers.replay import load_files
from daybreak.ops.config_file import parse_config
from tests.conftest import SAMPLE_DIR

DAY = 86_400_000


def _mark_to_market(result, data):
    """For every close time t of any symbol: starting balance + sum of cash flows of trades with
    timestamp <= t, plus each symbol's net amount held at t times its last close at or before t."""
    step = timeframe_ms(data.timeframe)
    closes = {s: list(zip((df["timestamp"] + step).tolist(), df["close"].tolist())) for s, df in data.frames.items()}
    grid = sorted({t for rows in closes.values() for t, _ in rows})
    trades = sorted(result.trades, key=lambda t: t.timestamp)
    cash, held, last_close, i = result.starting_balance, dict.fromkeys(closes, 0.0), {}, 0
    cursors = dict.fromkeys(closes, 0)
    out = []
    for t in grid:
        while i < len(trades) and trades[i].timestamp <= t:
            tr = trades[i]
            if tr.action == "buy":
                cash -= tr.amount * tr.price + tr.fee
                held[tr.symbol] += tr.amount
            else:
                cash += tr.amount * tr.price - tr.fee
                held[tr.symbol] -= tr.amount
            i += 1
        for s, rows in closes.items():
            while cursors[s] < len(rows) and rows[cursors[s]][0] <= t:
                last_close[s] = rows[cursors[s]][1]
                cursors[s] += 1
        out.append((t, cash + sum(held[s] * last_close.get(s, 0.0) for s in closes)))
    return out


@pytest.mark.parametrize("symbols", [["BTC/USDT"], ["BTC/USDT", "ETH/USDT"]])
def test_equity_curve_is_the_per_candle_mark_to_market(symbols):
    cfg = parse_config(
        {
            "symbols": symbols,
            "algos": {"MA_Crossover": True},
            "params": {"MA_Crossover": {"short_period": 5, "long_period": 20}},
            "order_size": {"default": {"stake": 500}},
            "paper": {"fee_rate": 0.001, "slippage_bps": 5, "starting_balance": 10_000},
            "risk": {"stop_loss_ratio": 0.004, "take_profit_ratio": 0.006},
        }
    )
    files = [SAMPLE_DIR / f"{s.replace('/', '-')}_1m.csv.gz" for s in symbols]
    data = load_files(files, cfg)
    start = min(int(df["timestamp"].iat[0]) for df in data.frames.values())
    data = load_files(files, cfg, start, start + DAY // 2)
    result = run_backtest(cfg, data)
    assert len(result.trades) > 40 and sum(t.fee for t in result.trades) > 1.0
    expected = _mark_to_market(result, data)
    got = list(zip(result.equity["timestamp"].tolist(), result.equity["equity"].tolist()))
    assert [t for t, _ in got] == [t for t, _ in expected]
    worst = max(abs(a - b) for (_, a), (_, b) in zip(got, expected))
    assert worst < 1e-6, f"equity differs by up to {worst}"
    assert math.isclose(got[-1][1], expected[-1][1], rel_tol=0, abs_tol=1e-6)
