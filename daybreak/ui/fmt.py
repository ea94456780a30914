"""Display formatting for the dashboard: UTC times and ages. Values stay numbers elsewhere."""
from __future__ import annotations

from datetime import datetime, timezone


def utc(ms: int | float | None) -> str:
    """Epoch milliseconds as ``YYYY-MM-DD HH:MM:SS UTC``; ``"-"`` for None."""
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def age(seconds: float) -> str:
    """A duration in seconds as ``"42 s"``, ``"7 min"``, ``"3.5 h"`` or ``"2.1 d"``."""
    s = max(0.0, float(seconds))
    if s < 120:
        return f"{s:.0f} s"
    if s < 2 * 3600:
        return f"{s / 60:.0f} min"
    if s < 2 * 86_400:
        return f"{s / 3600:.1f} h"
    return f"{s / 86_400:.1f} d"
