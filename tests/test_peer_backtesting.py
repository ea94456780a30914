"""Checked against a peer: backtesting.py (kernc, 0.6.6) and Daybreak's backtest give the same
trades for the SMA crossover on the shipped real candles.

Both engines get the same convention: the signal is decided on candle t's close and filled at
candle t+1's open (backtesting.py's default ``trade_on_close=False``), no fee, no spread or
slippage, long only: buy when flat on a cross up, close on a cross down. Both trade one whole
unit of the base asset (1 BTC, 1 ETH), so backtesting.py's integer-unit sizing is exact and the
P&L of each trade is in quote currency in both, with no scaling. The peer's SMA is its own
``backtesting.test.SMA`` (``pandas.Series.rolling(n).mean()``) and its cross is written out to
our definition: cross above at t = short > long at t and short <= long at t-1 (mirror below).
(``backtesting.lib.crossover`` uses a strict ``<`` on t-1, which differs only on exact ties.)
"""
from __future__ import annotations

import warnings

import pandas as pd
import pytest

backtesting = pytest.importorskip("backtesting")
from backtesting import Backtest, Strategy  # noqa: E402
from backtesting.test import SMA  # noqa: E402

from daybreak.backtest import run_backtest  # noqa: E402
from daybreak.backtest_result import round_trips  # noqa: E402
from daybreak.replay import load_files  # noqa: E402
from daybreak.settings import parse_config  # noqa: E402
from tests.helpers import SAMPLE  # noqa: E402

STARTING_BALANCE = 1_000_000.0
"""Enough quote currency for a 1-unit buy of BTC in both engines (the peer rejects orders it cannot pay)."""

PAIRS = [(50, 200), (10, 30)]


class PeerCross(Strategy):
    """SMA crossover in backtesting.py, long only, one unit, our cross definition."""

    short = 50
    long = 200

    def init(self):
        self.sma_short = self.I(SMA, self.data.Close, self.short)
        self.sma_long = self.I(SMA, self.data.Close, self.long)

    def next(self):
        s, l = self.sma_short, self.sma_long
        if s[-1] > l[-1] and s[-2] <= l[-2] and not self.position:
            self.buy(size=1)
        elif s[-1] < l[-1] and s[-2] >= l[-2] and self.position:
            self.position.close()


def peer_trades(frame: pd.DataFrame, short: int, long: int) -> tuple[pd.DataFrame, int]:
    """Closed trades of backtesting.py (EntryTime, ExitTime as epoch ms, PnL quote) and the number left open."""
    ohlcv = frame.rename(columns=str.title)[["Open", "High", "Low", "Close", "Volume"]]
    ohlcv.index = pd.to_datetime(frame["timestamp"].to_numpy(), unit="ms", utc=True)
    bt = Backtest(ohlcv, PeerCross, cash=STARTING_BALANCE, commission=0.0, spread=0.0,
                  trade_on_close=False, exclusive_orders=False, finalize_trades=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "trades remain open at the end" is compared explicitly below
        stats = bt.run(short=short, long=long)
    trades = stats["_trades"]
    out = pd.DataFrame({
        "entry_time": _epoch_ms(trades["EntryTime"]),
        "exit_time": _epoch_ms(trades["ExitTime"]),
        "entry_price": trades["EntryPrice"].to_numpy(float),
        "exit_price": trades["ExitPrice"].to_numpy(float),
        "pnl": trades["PnL"].to_numpy(float),
    })
    return out, len(stats["_strategy"].trades)


def _epoch_ms(times: pd.Series) -> list[int]:
    return [int(t.timestamp() * 1000) for t in times]


def daybreak_run(short: int, long: int):
    config = parse_config({
        "symbols": ["BTC/USDT", "ETH/USDT"],
        "algos": {"MA_Crossover": True},
        "params": {"MA_Crossover": {"short_period": short, "long_period": long}},
        "order_size": {"default": {"amount": 1.0}},
        "paper": {"fee_rate": 0.0, "slippage_bps": 0.0, "starting_balance": STARTING_BALANCE},
        "risk": {},
    })
    data = load_files(SAMPLE, config)
    return data, run_backtest(config, data, progress=False)


@pytest.mark.parametrize(("short", "long"), PAIRS)
def test_sma_crossover_trades_equal_backtesting_py(short, long):
    data, result = daybreak_run(short, long)
    ours_all = round_trips(result.trades)
    assert set(data.frames) == {"BTC/USDT", "ETH/USDT"}
    for symbol, frame in data.frames.items():
        theirs, theirs_open = peer_trades(frame, short, long)
        ours = ours_all[ours_all["symbol"] == symbol].reset_index(drop=True)
        assert len(theirs) >= 10, f"{symbol} {short}/{long}: the sample must exercise the strategy"
        assert ours["entry_time"].tolist() == theirs["entry_time"].tolist(), symbol
        assert ours["exit_time"].tolist() == theirs["exit_time"].tolist(), symbol
        assert ours["entry_price"].tolist() == pytest.approx(theirs["entry_price"].tolist(), rel=1e-12)
        assert ours["exit_price"].tolist() == pytest.approx(theirs["exit_price"].tolist(), rel=1e-12)
        assert ours["pnl"].tolist() == pytest.approx(theirs["pnl"].tolist(), rel=1e-9, abs=1e-9)
        assert set(ours["exit_reason"]) == {"signal"}
        ours_open = sum(1 for p in result.open_positions if p.symbol == symbol)
        assert ours_open == theirs_open, f"{symbol}: positions left open at the end"
