"""backtesting.py (kernc, 0.6.6) set up to Daybreak's fill convention, for the SMA crossover.

Used by the peer test (``tests/test_peer_backtesting.py``, trade-for-trade equality) and by the
speed benchmark (``benchmarks/backtest_speed.py``), so the benchmark times the setup the test checks.

Convention: the signal is decided on candle t's close and filled at candle t+1's open (the
peer's default ``trade_on_close=False``); no commission, no spread; long only: buy ``size``
whole units when flat on a cross up, close the position on a cross down. The SMA is the peer's own
``backtesting.test.SMA`` (``pandas.Series.rolling(n).mean()``, as ``ta.trend.SMAIndicator`` in
``strategies/ma_crossover.py``), and the cross is written out to our definition: cross above at
t = short > long at t and short <= long at t-1 (mirror below). ``backtesting.lib.crossover``
uses a strict ``<`` on t-1, which differs from ours only on exact ties.
"""

from __future__ import annotations

import warnings

import pandas as pd
from backtesting import Backtest, Strategy
from backtesting.test import SMA

PEER_COLUMNS = ("entry_time", "exit_time", "entry_price", "exit_price", "pnl")


class PeerCross(Strategy):
    """SMA crossover in backtesting.py, long only, ``size`` units per trade, our cross definition."""

    short = 50
    long = 200
    size = 1

    def init(self):
        self.sma_short = self.I(SMA, self.data.Close, self.short)
        self.sma_long = self.I(SMA, self.data.Close, self.long)

    def next(self):
        s, l = self.sma_short, self.sma_long
        if s[-1] > l[-1] and s[-2] <= l[-2] and not self.position:
            self.buy(size=self.size)
        elif s[-1] < l[-1] and s[-2] >= l[-2] and self.position:
            self.position.close()


def ohlcv_frame(candles: pd.DataFrame) -> pd.DataFrame:
    """The peer's input: columns Open, High, Low, Close, Volume on a DatetimeIndex of candle opens.

    ``candles`` has Daybreak's columns (timestamp ms, open, high, low, close, volume). The index
    is tz-naive UTC: backtesting.py does not need a zone, and vectorbt 1.2 with pandas 3 turns a
    tz-aware index into Python objects on every wrap (seconds per call on 188k candles).
    """
    out = candles[["open", "high", "low", "close", "volume"]].rename(columns=str.title)
    out.index = pd.to_datetime(candles["timestamp"].to_numpy(), unit="ms")
    return out


def run_peer(ohlcv: pd.DataFrame, short: int, long: int, cash: float, size: int = 1) -> pd.Series:
    """One backtesting.py run of :class:`PeerCross`; returns its stats Series (``_trades``, ``_strategy``)."""
    bt = Backtest(
        ohlcv,
        PeerCross,
        cash=cash,
        commission=0.0,
        spread=0.0,
        trade_on_close=False,
        exclusive_orders=False,
        finalize_trades=False,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "trades remain open at the end": callers compare them explicitly
        return bt.run(short=short, long=long, size=size)


def closed_trades(stats: pd.Series) -> pd.DataFrame:
    """The peer's closed trades: :data:`PEER_COLUMNS`, times as candle-open epoch ms, pnl in quote."""
    trades = stats["_trades"]
    return pd.DataFrame(
        {
            "entry_time": _epoch_ms(trades["EntryTime"]),
            "exit_time": _epoch_ms(trades["ExitTime"]),
            "entry_price": trades["EntryPrice"].to_numpy(float),
            "exit_price": trades["ExitPrice"].to_numpy(float),
            "pnl": trades["PnL"].to_numpy(float),
        },
        columns=list(PEER_COLUMNS),
    )


def open_trades(stats: pd.Series) -> int:
    """Number of the peer's trades still open at the end (``finalize_trades=False``)."""
    return len(stats["_strategy"].trades)


def _epoch_ms(times: pd.Series) -> list[int]:
    """Naive-UTC (or tz-aware) datetimes -> epoch ms."""
    return pd.DatetimeIndex(times).as_unit("ms").asi8.tolist()
