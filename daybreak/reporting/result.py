"""What a backtest returns (:class:`BacktestResult`) and its trades paired into round trips.

The engine (:mod:`daybreak.drivers.backtest`) fills a :class:`BacktestResult`; the report
(:mod:`daybreak.reporting.metrics`, :mod:`daybreak.reporting.render`) reads it and nothing else.
Units: ``amount`` base currency, ``price`` quote per base, ``cost``/``fee``/``pnl`` quote,
timestamps UTC epoch ms.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from daybreak.core.domain import Event, Position, Trade
from daybreak.core.markets import MarketLimits, limits_for

ROUND_TRIP_COLUMNS = (
    "algo",
    "symbol",
    "entry_time",
    "exit_time",
    "entry_price",
    "exit_price",
    "amount",
    "pnl",
    "return_ratio",
    "duration_ms",
    "fees",
    "exit_reason",
    "entry_order_id",
    "exit_order_id",
    "entry_order_type",
    "exit_order_type",
)

_DTYPES = {
    "entry_time": "int64",
    "exit_time": "int64",
    "entry_price": "float64",
    "exit_price": "float64",
    "amount": "float64",
    "pnl": "float64",
    "return_ratio": "float64",
    "duration_ms": "int64",
    "fees": "float64",
}


@dataclass
class BacktestResult:
    """Everything a backtest run produced, in the shapes the report reads.

    ``trades``: every fill in time order; sells carry ``pnl`` (fees of both legs included) and
    ``exit_reason`` (an :class:`~daybreak.domain.ExitReason` value); a position may close in
    several sells (partial take-profit).
    ``equity``: columns ``timestamp`` (int64 ms, candle *close*) and ``equity`` (float, quote: cash
    plus open positions marked at that close), one row per base candle (union over symbols).
    ``candles``: symbol -> base-timeframe candle frame (timestamp, open, high, low, close, volume)
    used in the run. ``rejections``: events of kind ``rejection`` (``rule`` names the rule).
    ``gaps``: symbol -> ``(first missing candle open ms, last missing candle open ms, count)``.
    ``open_positions``: positions still open at the end. ``start``: first candle open (ms);
    ``end``: last candle close (ms). ``fee_rate`` is a fraction of notional; ``slippage_bps``
    basis points of price.
    """

    trades: list[Trade]
    equity: pd.DataFrame
    candles: dict[str, pd.DataFrame]
    rejections: list[Event]
    gaps: dict[str, list[tuple[int, int, int]]]
    open_positions: list[Position]
    starting_balance: float
    timeframe: str
    start: int
    end: int
    algos: list[str]
    fee_rate: float
    slippage_bps: float
    markets: dict[str, MarketLimits] | None = None


class _Open:
    """A round trip being built: buys added, sells taken off, until the amount is back to zero."""

    __slots__ = (
        "bought",
        "buy_cost",
        "entry_order_id",
        "entry_order_type",
        "entry_time",
        "fees",
        "last",
        "pnl",
        "sell_value",
        "sold",
    )

    def __init__(self, buy: Trade):
        self.entry_time = buy.timestamp
        self.entry_order_id = buy.order_id
        self.entry_order_type = buy.order_type
        self.bought = self.buy_cost = self.sold = self.sell_value = self.pnl = self.fees = 0.0
        self.last: Trade = buy
        self.add_buy(buy)

    def add_buy(self, t: Trade) -> None:
        self.bought += t.amount
        self.buy_cost += t.amount * t.price
        self.fees += t.fee

    def add_sell(self, t: Trade, limits: MarketLimits) -> bool:
        """Take a sell off the position; True once the position is closed: what is left is dust
        (:meth:`~daybreak.core.markets.MarketLimits.is_dust`, the engine's rule)."""
        self.sold += t.amount
        self.sell_value += t.amount * t.price
        self.pnl += t.pnl or 0.0
        self.fees += t.fee
        self.last = t
        return limits.is_dust(self.bought - self.sold, t.price)

    def row(self) -> tuple:
        """The round trip's values in :data:`ROUND_TRIP_COLUMNS` order."""
        last = self.last
        return (
            last.algo,
            last.symbol,
            self.entry_time,
            last.timestamp,
            self.buy_cost / self.bought,
            self.sell_value / self.sold,
            self.bought,
            self.pnl,
            self.pnl / self.buy_cost,
            last.timestamp - self.entry_time,
            self.fees,
            last.exit_reason,
            self.entry_order_id,
            last.order_id,
            self.entry_order_type,
            last.order_type,
        )


def round_trips(trades: list[Trade], markets: dict[str, MarketLimits] | None = None) -> pd.DataFrame:
    """Pair each buy with the sell(s) that close it, per ``(algo, symbol)``, in time order. A
    round trip closes at the sell after which what is left is dust by the symbol's ``markets``
    limits (default: :func:`~daybreak.core.markets.default_limits`), the rule the engine closes
    positions by.

    One row per *closed* round trip (positions still open at the end are not rows; they are in
    :attr:`BacktestResult.open_positions`), columns :data:`ROUND_TRIP_COLUMNS`:
    ``entry_time``/``exit_time`` (ms, first buy fill / last sell fill), ``entry_price`` and
    ``exit_price`` (quote per base, amount-weighted over the buys / sells), ``amount`` (base,
    bought), ``pnl`` (quote, sum of the sells' realized pnl, so fees of both legs included),
    ``return_ratio`` = pnl / entry cost where entry cost = amount * entry_price (quote, fee
    excluded), ``duration_ms`` = exit_time - entry_time, ``fees`` (quote, every leg),
    ``exit_reason`` of the last sell, ``entry_order_id``/``exit_order_id`` the client order ids of
    the first buy / last sell, ``entry_order_type``/``exit_order_type`` the order kind that filled
    them (:attr:`Trade.order_type`: ``market``, ``limit``, ``maker``, ``stop_limit``, joined by
    ``+`` when several did). A buy while a position is open adds to it.

    Raises ValueError for a sell of an ``(algo, symbol)`` that holds nothing (a backtest starts
    flat, so that is a bug upstream).
    """
    open_: dict[tuple[str, str], _Open] = {}
    rows: list[tuple] = []
    for t in sorted(trades, key=lambda t: t.timestamp):
        key = (t.algo, t.symbol)
        if t.action == "buy":
            if key in open_:
                open_[key].add_buy(t)
            else:
                open_[key] = _Open(t)
        elif t.action == "sell":
            if key not in open_:
                raise ValueError(
                    f"trade {t.trade_id!r}: sell of {t.symbol} by {t.algo} at {t.timestamp} closes no open position"
                )
            if open_[key].add_sell(t, limits_for(markets or {}, t.symbol)):
                rows.append(open_.pop(key).row())
        else:
            raise ValueError(f"trade {t.trade_id!r}: action {t.action!r} is not 'buy' or 'sell'")
    frame = pd.DataFrame(rows, columns=list(ROUND_TRIP_COLUMNS)).astype(_DTYPES)
    return frame.sort_values(["exit_time", "entry_time"], kind="stable").reset_index(drop=True)
