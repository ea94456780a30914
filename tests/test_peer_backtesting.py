"""Checked against a peer: backtesting.py (kernc, 0.6.6) and Daybreak's backtest give the same
trades for the SMA crossover on the shipped real candles.

Both engines get the same convention (see :mod:`tests.peers`): the signal is decided on candle
t's close and filled at candle t+1's open, no fee, no spread or slippage, long only: buy when flat
on a cross up, close on a cross down. Both trade one whole unit of the base asset (1 BTC, 1 ETH),
so the peer's integer-unit sizing is exact and each trade's P&L is in quote currency in both,
with no scaling.
"""

from __future__ import annotations

import pytest

pytest.importorskip("backtesting")
from daybreak.drivers.backtest import run_backtest
from daybreak.drivers.replay import load_files
from daybreak.ops.config_file import parse_config
from daybreak.reporting.result import round_trips
from tests.helpers import SAMPLE
from tests.peers import closed_trades, ohlcv_frame, open_trades, run_peer

STARTING_BALANCE = 1_000_000.0
"""Enough quote currency for a 1-unit buy of BTC in both engines (the peer rejects orders it cannot pay)."""

PAIRS = [(50, 200), (10, 30)]


def daybreak_run(short: int, long: int):
    config = parse_config(
        {
            "symbols": ["BTC/USDT", "ETH/USDT"],
            "algos": {"MA_Crossover": True},
            "params": {"MA_Crossover": {"short_period": short, "long_period": long}},
            "order_size": {"default": {"amount": 1.0}},
            "paper": {"fee_rate": 0.0, "slippage_bps": 0.0, "starting_balance": STARTING_BALANCE},
            "risk": {},
        }
    )
    data = load_files(SAMPLE, config)
    return data, run_backtest(config, data, progress=False)


@pytest.mark.parametrize(("short", "long"), PAIRS)
def test_sma_crossover_trades_equal_backtesting_py(short, long):
    data, result = daybreak_run(short, long)
    ours_all = round_trips(result.trades)
    assert set(data.frames) == {"BTC/USDT", "ETH/USDT"}
    for symbol, frame in data.frames.items():
        stats = run_peer(ohlcv_frame(frame), short, long, cash=STARTING_BALANCE)
        theirs = closed_trades(stats)
        ours = ours_all[ours_all["symbol"] == symbol].reset_index(drop=True)
        assert len(theirs) >= 10, f"{symbol} {short}/{long}: the sample must exercise the strategy"
        assert ours["entry_time"].tolist() == theirs["entry_time"].tolist(), symbol
        assert ours["exit_time"].tolist() == theirs["exit_time"].tolist(), symbol
        assert ours["entry_price"].tolist() == pytest.approx(theirs["entry_price"].tolist(), rel=1e-12)
        assert ours["exit_price"].tolist() == pytest.approx(theirs["exit_price"].tolist(), rel=1e-12)
        assert ours["pnl"].tolist() == pytest.approx(theirs["pnl"].tolist(), rel=1e-9, abs=1e-9)
        assert set(ours["exit_reason"]) == {"signal"}
        ours_open = sum(1 for p in result.open_positions if p.symbol == symbol)
        assert ours_open == open_trades(stats), f"{symbol}: positions left open at the end"
