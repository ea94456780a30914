"""Trading statistics from stored trades: the one implementation used by the bot, the CLI
``stats`` command and the dashboard.

A *closed trade* is a sell with a realized ``pnl`` (fees of both legs included). A win is a
closed trade with ``pnl > 0``, a loss one with ``pnl <= 0``. ``win_rate`` = wins / closed trades.

Daily aggregates (the dashboard's daily P&L bars and long equity curves, read without listing
trades) are Stats rows too: ``stat_type`` ``day:<YYYY-MM-DD>:<stat>`` for each of
:data:`DAY_STATS`, ``algo`` the strategy, the day being the trading day in ``risk.day_timezone``
(midnight to midnight there, the daily-loss rule's day). :func:`from_records` ignores them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pandas as pd

from daybreak.core.domain import Trade
from storage.records import DAILY_STAT_PREFIX, StatRecord

STAT_TYPES = ("pnl", "fees", "trades", "closed_trades", "wins", "losses", "win_rate")
TOTAL = "total"
DAY_PREFIX = DAILY_STAT_PREFIX
DAY_STATS = ("pnl", "fees", "trades", "closed_trades", "wins")
"""Per trading day and strategy: realized P&L and fees (quote), fills, closed trades, wins."""
DAILY_COLUMNS = ("day", "algo", *DAY_STATS)


def summarize(trades: Iterable[Trade]) -> dict[str, dict[str, float]]:
    """P&L and counts per strategy plus ``total``: ``{algo: {stat_type: value}}``.

    ``pnl`` and ``fees`` in quote currency; ``trades`` counts fills (buys and sells);
    ``closed_trades``, ``wins``, ``losses`` count closing trades; ``win_rate`` is a fraction.
    """
    acc: dict[str, dict[str, float]] = defaultdict(lambda: dict.fromkeys(STAT_TYPES, 0.0))
    for t in trades:
        for key in (t.algo, TOTAL):
            row = acc[key]
            row["trades"] += 1
            row["fees"] += t.fee
            if t.pnl is not None:
                row["pnl"] += t.pnl
                row["closed_trades"] += 1
                row["wins" if t.pnl > 0 else "losses"] += 1
    acc[TOTAL]  # always present
    for row in acc.values():
        row["win_rate"] = row["wins"] / row["closed_trades"] if row["closed_trades"] else 0.0
    return dict(acc)


def stat_records(trades: Iterable[Trade], now_ms: int | None = None) -> list[StatRecord]:
    """:func:`summarize` as Stats-table records dated ``now_ms`` (UTC day)."""
    day = datetime.fromtimestamp((now_ms or 0) / 1000, tz=UTC).strftime("%Y-%m-%d")
    return [
        StatRecord(stat, algo, float(value), day)
        for algo, row in sorted(summarize(trades).items())
        for stat, value in row.items()
    ]


def from_records(stats: Iterable[StatRecord]) -> dict[str, dict[str, float]]:
    """Stats-table records back into :func:`summarize`'s shape (the inverse of :func:`stat_records`)."""
    out: dict[str, dict[str, float]] = {}
    for rec in stats:
        if rec.stat_type in STAT_TYPES:
            out.setdefault(rec.algo, dict.fromkeys(STAT_TYPES, 0.0))[rec.stat_type] = rec.value
    return out


def trading_day(ms: int, day_timezone: str = "UTC") -> str:
    """The trading day (``YYYY-MM-DD``, midnight to midnight in ``day_timezone``) of ``ms``."""
    return datetime.fromtimestamp(ms / 1000, tz=ZoneInfo(day_timezone)).strftime("%Y-%m-%d")


def daily_summary(trades: Iterable[Trade], day_timezone: str = "UTC") -> pd.DataFrame:
    """Per trading day and strategy: :data:`DAILY_COLUMNS` (``day`` text, ``algo``, ``pnl`` and
    ``fees`` quote, ``trades`` fills, ``closed_trades``, ``wins``), sorted by day then strategy.
    Same rules as :func:`summarize`, so the days of one strategy add up to its total."""
    rows = [(t.timestamp, t.algo, t.pnl, t.fee) for t in trades]
    frame = pd.DataFrame(rows, columns=["timestamp", "algo", "pnl", "fee"])
    if frame.empty:
        return pd.DataFrame(columns=list(DAILY_COLUMNS)).astype({s: "float64" for s in DAY_STATS})
    local = pd.to_datetime(frame["timestamp"], unit="ms", utc=True).dt.tz_convert(day_timezone)
    frame["day"] = local.dt.strftime("%Y-%m-%d")
    closed = frame["pnl"].notna()
    frame = frame.assign(
        trades=1.0,
        closed_trades=closed.astype(float),
        wins=(frame["pnl"] > 0).astype(float),
        fees=frame["fee"],
        pnl=frame["pnl"].fillna(0.0),
    )
    out = frame.groupby(["day", "algo"], as_index=False)[list(DAY_STATS)].sum()
    return out.sort_values(["day", "algo"], kind="stable").reset_index(drop=True)


def daily_stat_records(
    trades: Iterable[Trade], day_timezone: str = "UTC", now_ms: int | None = None
) -> list[StatRecord]:
    """:func:`daily_summary` as Stats records (``day:<day>:<stat>``, strategy), dated ``now_ms``."""
    stamp = datetime.fromtimestamp((now_ms or 0) / 1000, tz=UTC).strftime("%Y-%m-%d")
    days = daily_summary(trades, day_timezone)
    return [
        StatRecord(f"{DAY_PREFIX}{row.day}:{stat}", row.algo, float(getattr(row, stat)), stamp)
        for row in days.itertuples(index=False)
        for stat in DAY_STATS
    ]


def daily_from_records(stats: Iterable[StatRecord]) -> pd.DataFrame:
    """The daily Stats rows back into :func:`daily_summary`'s frame (the inverse of
    :func:`daily_stat_records`); empty when the bot keeps none (an older bot)."""
    acc: dict[tuple[str, str], dict[str, float]] = {}
    for rec in stats:
        if not rec.stat_type.startswith(DAY_PREFIX):
            continue
        day, _, stat = rec.stat_type[len(DAY_PREFIX) :].partition(":")
        if stat in DAY_STATS:
            acc.setdefault((day, rec.algo), dict.fromkeys(DAY_STATS, 0.0))[stat] = rec.value
    rows = [{"day": day, "algo": algo, **values} for (day, algo), values in sorted(acc.items())]
    return pd.DataFrame(rows, columns=list(DAILY_COLUMNS)).astype({s: "float64" for s in DAY_STATS})
