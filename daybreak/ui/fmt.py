"""Numbers and times formatted for people: amounts with the market's precision, money with 2
decimals, ratios as percentages with 2 decimals, UTC times with the trader's day timezone beside
where it differs, durations in words. Values stay numbers everywhere else (tables keep numeric
columns for money and ratios; only their display is formatted).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from daybreak.core.markets import MarketLimits

MONEY = "%.2f"
"""printf format of money columns (quote currency, 2 decimals)."""
PERCENT = "%.2f %%"
"""printf format of ratio columns shown as percentages (the column holds ratio x 100)."""


def utc(ms: int | float | None) -> str:
    """Epoch milliseconds as ``YYYY-MM-DD HH:MM:SS UTC``; ``"-"`` for None."""
    if ms is None or (isinstance(ms, float) and math.isnan(ms)):
        return "-"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def utc_minute(ms: int | None) -> str:
    """``YYYY-MM-DD HH:MM`` in UTC (tables), ``""`` for None."""
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def in_zone(ms: int | None, zone: str, with_date: bool = True) -> str:
    """``ms`` in the IANA ``zone`` with its abbreviation, e.g. ``2021-05-12 10:03 EDT``."""
    if ms is None:
        return ""
    fmt = "%Y-%m-%d %H:%M %Z" if with_date else "%H:%M %Z"
    return datetime.fromtimestamp(ms / 1000, tz=ZoneInfo(zone)).strftime(fmt)


def when(ms: int | None, zone: str = "UTC") -> str:
    """UTC time, with the time in ``zone`` beside it when that is not UTC:
    ``2021-05-12 14:03:00 UTC (10:03 EDT)``."""
    text = utc(ms)
    if ms is None or zone == "UTC":
        return text
    return f"{text} ({in_zone(ms, zone, with_date=not _same_day(ms, zone))})"


def _same_day(ms: int, zone: str) -> bool:
    a = datetime.fromtimestamp(ms / 1000, tz=UTC).date()
    return a == datetime.fromtimestamp(ms / 1000, tz=ZoneInfo(zone)).date()


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


def duration(ms: float | None) -> str:
    """A holding time: ``45 s``, ``12 min 05 s``, ``3 h 07 min``, ``2 d 04 h``; ``""`` for None/NaN."""
    if ms is None or (isinstance(ms, float) and math.isnan(ms)):
        return ""
    s = round(max(0.0, float(ms)) / 1000)
    d, rem = divmod(s, 86_400)
    h, rem = divmod(rem, 3600)
    m, sec = divmod(rem, 60)
    if d:
        return f"{d} d {h:02d} h"
    if h:
        return f"{h} h {m:02d} min"
    if m:
        return f"{m} min {sec:02d} s"
    return f"{sec} s"


def money(value: float | None, signed: bool = False) -> str:
    """Quote money with thousands separators and 2 decimals (``-1,234.50``); ``"-"`` for None/NaN."""
    if value is None or not math.isfinite(value):
        return "-"
    value = 0.0 if abs(value) < 0.005 else value  # never "-0.00"
    return f"{value:+,.2f}" if signed else f"{value:,.2f}"


def pct(ratio: float | None, signed: bool = False) -> str:
    """A fraction as a percentage with 2 decimals: ``0.0526`` -> ``5.26 %``; ``"-"`` for None/NaN."""
    if ratio is None or not math.isfinite(ratio):
        return "-"
    value = 0.0 if abs(ratio) < 0.00005 else ratio * 100
    return f"{value:+.2f} %" if signed else f"{value:.2f} %"


def _decimals(step: float) -> int:
    if step <= 0:
        return 8
    exponent = Decimal(repr(float(step))).normalize().as_tuple().exponent
    return max(0, -int(exponent))


@dataclass(frozen=True)
class Precision:
    """Decimals to show per symbol: amounts by the market's LOT_SIZE step, prices by its tick
    (:class:`~daybreak.core.markets.MarketLimits`); 8 for a symbol the markets do not list."""

    amount_decimals: dict[str, int] = field(default_factory=dict)
    price_decimals: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_limits(cls, limits: dict[str, MarketLimits]) -> Precision:
        return cls(
            {s: _decimals(m.amount_step) for s, m in limits.items()},
            {s: _decimals(m.price_tick) for s, m in limits.items()},
        )

    def amount(self, symbol: str, value: float | None) -> str:
        """``value`` (base) with the symbol's step decimals, more only if they would hide digits
        (an amount off the step, e.g. a fee paid in base currency): never rounded away."""
        return _fixed(value, self.amount_decimals.get(symbol, 8))

    def price(self, symbol: str, value: float | None) -> str:
        """``value`` (quote per base) rounded to the symbol's tick decimals (at least 2), with
        thousands separators: a fill price moved by slippage is shown as the market quotes it.
        A symbol the markets do not list gets up to 8 significant decimals."""
        if value is None or not math.isfinite(value):
            return ""
        decimals = self.price_decimals.get(symbol)
        if decimals is None:
            return _fixed(value, 2, thousands=True)
        return f"{value:,.{max(2, decimals)}f}"


def _fixed(value: float | None, decimals: int, thousands: bool = False) -> str:
    if value is None or not math.isfinite(value):
        return ""
    for d in range(decimals, 9):
        if abs(round(value, d) - value) <= 1e-12 * max(1.0, abs(value)):
            decimals = d
            break
    else:
        decimals = 8
    return f"{value:,.{decimals}f}" if thousands else f"{value:.{decimals}f}"


def words(name: str) -> str:
    """A column key as a header in words: ``exit_reason`` -> ``Exit reason``."""
    return name.replace("_", " ").capitalize()


ORDER_TYPES = {"market": "market", "limit": "limit", "maker": "maker (post-only)", "stop_limit": "stop-limit"}
"""The order kinds (:class:`daybreak.core.domain.OrderKind`) in words."""


def order_type(value: str | None) -> str:
    """A fill's order kind in words (``stop_limit`` -> ``stop-limit``; kinds that filled one order
    together, e.g. ``limit+market``, as ``limit + market``); blank when unknown."""
    if not value:
        return ""
    return " + ".join(ORDER_TYPES.get(k, k.replace("_", " ")) for k in str(value).split("+"))
