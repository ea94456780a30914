"""Trading statistics from stored trades: the one implementation used by the bot, the CLI
``stats`` command and the dashboard.

A *closed trade* is a sell with a realized ``pnl`` (fees of both legs included). A win is a
closed trade with ``pnl > 0``, a loss one with ``pnl <= 0``. ``win_rate`` = wins / closed trades.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timezone

from daybreak.core.domain import Trade
from storage.records import StatRecord

STAT_TYPES = ("pnl", "fees", "trades", "closed_trades", "wins", "losses", "win_rate")
TOTAL = "total"


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
    day = datetime.fromtimestamp((now_ms or 0) / 1000, tz=timezone.utc).strftime("%Y-%m-%d")
    return [StatRecord(stat, algo, float(value), day)
            for algo, row in sorted(summarize(trades).items()) for stat, value in row.items()]


def from_records(stats: Iterable[StatRecord]) -> dict[str, dict[str, float]]:
    """Stats-table records back into :func:`summarize`'s shape (the inverse of :func:`stat_records`)."""
    out: dict[str, dict[str, float]] = {}
    for rec in stats:
        if rec.stat_type in STAT_TYPES:
            out.setdefault(rec.algo, dict.fromkeys(STAT_TYPES, 0.0))[rec.stat_type] = rec.value
    return out
