"""Exit rules: stop-loss, take-profit (full or partial), trailing stops (ratio, ATR, break-even
ladder, decaying callback) and the time stop. One implementation for live, replay and backtest.

A position is checked along a *price path*:

* live: each poll's latest price is a one-point path;
* replay and backtest: each candle is the documented intrabar path
  ``open -> low -> high -> close`` when it closed up (close >= open), and
  ``open -> high -> low -> close`` otherwise (the convention of backtesting.py and Jesse).

Walking the path: at the first point (the open) a stop at or above it, or a take-profit at or
below it, fills at that point (a gap). On a falling segment, the protective stop fills at the stop
price once the segment reaches it; on a rising segment the take-profit fills at its price once
reached, then the high-water mark moves up (which raises trailing stops). The time stop fires at
the end of the path whose time is at least ``entry + time_stop_seconds`` (a candle's close).

Protective stop level = max(fixed stop, break-even, trailing, decaying trail), each armed as:

* fixed: ``entry * (1 - stop_loss_ratio)`` or ``entry - stop_loss_atr_mult * ATR``;
* break-even: ``entry`` once the high-water mark >= ``entry * (1 + breakeven_trigger_ratio)``;
* trailing: once the high-water mark ``H >= entry * (1 + trailing_start_ratio)``,
  ``H * (1 - trailing_ratio)`` or ``H - trailing_atr_mult * ATR``;
* decaying trail: with gain ``g = H / entry - 1 >= trailing_min_gain_ratio``, the callback (the
  share of the gain given back) is ``c(g) = min + (start - min) * exp(-rate * (g - g_min))`` and the
  stop is ``entry * (1 + g * (1 - c(g)))``: it keeps more of the gain as the gain grows.

Execution variants (:mod:`daybreak.core.execution`, set per strategy in ``execution``): a
*resting* take-profit is a limit sell on the book, so it fills only when the path trades strictly
above its price (the queue assumption: touching it fills nothing), at its price, with the maker
fee; a gap through it still fills at its price. Eased, its level at time t is
``max(tp * (1 - n * ease), min(tp, floor))`` with ``n = (t - entry) // ease_seconds`` steps
(:func:`take_profit_at`). With an exchange stop (a stop-loss-limit, limit ``offset`` below the
trigger) the stop fills, as a taker order, where the bot's stop would, but never below its limit;
when the path opens below the limit (a gap through it) the triggered stop-limit cannot fill and
the bot exits at market at that price, as live does when it sees one.

ATR is Wilder's ATR(14) at the entry decision (``ta.volatility.AverageTrueRange``), kept with the
position. Every level is non-decreasing in ``H``, which lets :func:`first_candidate` find the
first candle that *may* exit with array operations before the exact walk confirms it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from daybreak.core.domain import ExitReason, Position
from daybreak.core.risk_settings import RiskSettings


@dataclass(frozen=True, slots=True)
class ExitPlan:
    """Absolute levels of one position's exit rules (quote per base); None = rule off.

    ``active``: whether any rule is on (derived, not an argument). Execution (module docstring):
    ``tp_resting`` (the take-profit is a resting limit sell), ``tp_on_exchange`` (live: the
    exchange holds it, the walk never sells it), ``tp_ease_ratio`` per ``tp_ease_ms`` down to
    ``tp_floor``, ``stop_limit_offset`` (the stop is a stop-loss-limit that far below, fraction).
    """

    entry_price: float
    entry_timestamp: int
    fixed_stop: float | None = None
    take_profit: float | None = None
    take_profit_fraction: float | None = None
    breakeven_trigger: float | None = None
    trailing_start: float | None = None
    trailing_ratio: float | None = None
    trailing_distance: float | None = None
    decay_start: float | None = None
    decay_min: float | None = None
    decay_rate: float = 0.0
    decay_min_gain: float = 0.0
    time_stop_ms: int | None = None
    tp_resting: bool = False
    tp_on_exchange: bool = False
    tp_ease_ratio: float = 0.0
    tp_ease_ms: int | None = None
    tp_floor: float | None = None
    stop_limit_offset: float | None = None
    active: bool = field(init=False, repr=False, compare=False)
    has_stop: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        has_stop = any(
            v is not None for v in (self.fixed_stop, self.breakeven_trigger, self.trailing_start, self.decay_start)
        )
        object.__setattr__(self, "has_stop", has_stop)
        object.__setattr__(self, "active", has_stop or self.take_profit is not None or self.time_stop_ms is not None)


class _ArrayOps:
    """Element-wise operations of :func:`_trail_level` on arrays (NaN: rule not armed)."""

    @staticmethod
    def where(cond, value):
        return np.where(cond, value, np.nan)

    @staticmethod
    def fmax(a, b):
        return b if a is None else np.fmax(a, b)

    exp = staticmethod(np.exp)
    maximum = staticmethod(np.maximum)


class _ScalarOps:
    """The same operations on one float (None: rule not armed), bit-identical to :class:`_ArrayOps`
    (IEEE arithmetic is the same in Python and NumPy; ``exp`` is NumPy's)."""

    @staticmethod
    def where(cond, value):
        return value if cond else None

    @staticmethod
    def fmax(a, b):
        return b if a is None else a if b is None or a >= b else b

    @staticmethod
    def exp(x):
        return float(np.exp(x))

    maximum = staticmethod(max)


_ARRAY, _SCALAR = _ArrayOps(), _ScalarOps()


def _trail_level(plan: ExitPlan, wm, ops):
    """The highest armed trailing-type level (break-even, trailing, decaying trail) for high-water
    mark ``wm`` (float with :data:`_SCALAR`, ndarray with :data:`_ARRAY`); None when no such rule
    is configured. The formulas are in the module docstring."""
    e, trail = plan.entry_price, None
    if plan.breakeven_trigger is not None:
        trail = ops.fmax(trail, ops.where(wm >= plan.breakeven_trigger, e))
    if plan.trailing_start is not None:
        if plan.trailing_ratio is not None:
            level = wm * (1.0 - plan.trailing_ratio)
        else:
            level = wm - (plan.trailing_distance or 0.0)
        trail = ops.fmax(trail, ops.where(wm >= plan.trailing_start, level))
    if plan.decay_start is not None and plan.decay_min is not None:  # validated together (RiskSettings)
        gain = wm / e - 1.0
        callback = plan.decay_min + (plan.decay_start - plan.decay_min) * ops.exp(
            -plan.decay_rate * ops.maximum(gain - plan.decay_min_gain, 0.0)
        )
        level = e * (1.0 + gain * (1.0 - callback))
        trail = ops.fmax(trail, ops.where(gain >= plan.decay_min_gain, level))
    return trail


@dataclass(frozen=True, slots=True)
class ExitHit:
    """An exit to execute: ``fraction`` of the remaining position at ``price`` (before slippage),
    as an order of ``kind`` (an :class:`~daybreak.core.domain.OrderKind` value) with limit
    ``limit`` (a stop-limit's floor; None otherwise)."""

    price: float
    reason: ExitReason
    fraction: float = 1.0
    timestamp: int = 0
    kind: str = "market"
    limit: float | None = None


def take_profit_at(plan: ExitPlan, at_ms: int) -> float | None:
    """The take-profit level in force at ``at_ms``: ``plan.take_profit`` lowered by
    ``tp_ease_ratio`` per whole ``tp_ease_ms`` since entry, never below ``min(tp, tp_floor)``."""
    tp = plan.take_profit
    if tp is None or plan.tp_ease_ms is None or not plan.tp_ease_ratio:
        return tp
    steps = max(0, (at_ms - plan.entry_timestamp) // plan.tp_ease_ms)
    floor = tp if plan.tp_floor is None else min(tp, plan.tp_floor)
    return max(tp * (1.0 - steps * plan.tp_ease_ratio), floor)


def take_profit_levels(plan: ExitPlan, open_time: np.ndarray | None) -> np.ndarray | float:
    """:func:`take_profit_at` of every candle open in ``open_time`` (the lowest level when the
    times are not known). Only for a plan with a take-profit."""
    tp = plan.take_profit
    assert tp is not None, "take_profit_levels of a plan without a take-profit"
    if plan.tp_ease_ms is None or not plan.tp_ease_ratio:
        return tp
    floor = tp if plan.tp_floor is None else min(tp, plan.tp_floor)
    if open_time is None:
        return floor
    steps = np.maximum(0, (open_time - plan.entry_timestamp) // plan.tp_ease_ms)
    return np.maximum(tp * (1.0 - steps * plan.tp_ease_ratio), floor)


def make_plan(risk: RiskSettings, entry_price: float, entry_timestamp: int, atr: float | None) -> ExitPlan:
    """The :class:`ExitPlan` of a position opened at ``entry_price`` under ``risk``.

    ATR-based rules are skipped when ``atr`` is missing or not positive (not enough history).
    """
    e = entry_price
    atr_ok = atr is not None and math.isfinite(atr) and atr > 0
    stops = []
    if risk.stop_loss_ratio is not None:
        stops.append(e * (1.0 - risk.stop_loss_ratio))
    if risk.stop_loss_atr_mult is not None and atr_ok:
        stops.append(e - risk.stop_loss_atr_mult * atr)  # type: ignore[operator]  # atr_ok: a positive float
    trailing_armed = risk.trailing_ratio is not None or (risk.trailing_atr_mult is not None and atr_ok)
    return ExitPlan(
        entry_price=e,
        entry_timestamp=entry_timestamp,
        fixed_stop=max(stops) if stops else None,
        take_profit=e * (1.0 + risk.take_profit_ratio) if risk.take_profit_ratio is not None else None,
        take_profit_fraction=risk.take_profit_fraction,
        breakeven_trigger=e * (1.0 + risk.breakeven_trigger_ratio) if risk.breakeven_trigger_ratio else None,
        trailing_start=e * (1.0 + (risk.trailing_start_ratio or 0.0)) if trailing_armed else None,
        trailing_ratio=risk.trailing_ratio,
        trailing_distance=risk.trailing_atr_mult * atr if (risk.trailing_ratio is None and trailing_armed) else None,  # type: ignore[operator]
        decay_start=risk.trailing_decay_start,
        decay_min=risk.trailing_decay_min,
        decay_rate=risk.trailing_decay_rate or 0.0,
        decay_min_gain=risk.trailing_min_gain_ratio or 0.0,
        time_stop_ms=int(risk.time_stop_seconds * 1000) if risk.time_stop_seconds else None,
    )


def candle_path(o: float, h: float, l: float, c: float) -> tuple[float, float, float, float]:
    """The intrabar path of one candle (see module docstring)."""
    return (o, l, h, c) if c >= o else (o, h, l, c)


def walk(
    position: Position, plan: ExitPlan, path: Sequence[float], end_timestamp: int, start_timestamp: int | None = None
) -> list[ExitHit]:
    """Walk ``path`` (prices in order) for ``position``; return the exits it triggers, in order.

    Updates ``position.high_watermark``, ``position.stop_price`` and ``position.partial_taken``.
    ``end_timestamp`` is the time of the path's last point (candle close, or now in live);
    ``start_timestamp`` the time of its first (the candle's open; it dates an eased take-profit).
    After a full exit the walk stops; a partial take-profit continues with the remainder.
    """
    hits: list[ExitHit] = []
    tp = plan.take_profit
    if tp is not None and plan.tp_ease_ms is not None:
        tp = take_profit_at(plan, end_timestamp if start_timestamp is None else start_timestamp)
    tp_live = tp is not None and not position.partial_taken and not plan.tp_on_exchange
    resting = plan.tp_resting
    stop, reason = _level(plan, position.high_watermark)
    prev = math.nan  # read only from the second point on
    for i, p in enumerate(path):
        if (i == 0 or p < prev) and stop is not None and p <= stop:
            price = p if i == 0 or prev <= stop else stop
            hits.append(_stop_exit(plan, stop, price, reason, end_timestamp))
            return hits
        if tp_live and (i == 0 or p > prev) and (p > tp if resting else p >= tp):  # type: ignore[operator]  # tp_live: tp is set
            assert tp is not None
            fraction = plan.take_profit_fraction or 1.0
            if resting:  # a resting limit sell fills at its own price, also on a gap through it
                hits.append(ExitHit(tp, ExitReason.TAKE_PROFIT, fraction, end_timestamp, "limit", tp))
            else:
                hits.append(ExitHit(p if i == 0 else tp, ExitReason.TAKE_PROFIT, fraction, end_timestamp))
            if fraction >= 1.0:
                return hits
            position.partial_taken = True
            tp_live = False
        if p > position.high_watermark:
            position.high_watermark = p
            stop, reason = _level(plan, p)  # the level only moves with the high-water mark
        prev = p
    position.stop_price = stop
    if plan.time_stop_ms is not None and end_timestamp >= plan.entry_timestamp + plan.time_stop_ms:
        hits.append(ExitHit(path[-1], ExitReason.TIME_STOP, 1.0, end_timestamp))
    return hits


def _stop_exit(plan: ExitPlan, stop: float, price: float, reason: ExitReason, timestamp: int) -> ExitHit:
    """The exit of a stop reached at ``price``: a market order, or with an exchange stop a
    stop-limit never filled below its limit, or the bot's market exit when the path is already
    below that limit (module docstring)."""
    if plan.stop_limit_offset is None:
        return ExitHit(price, reason, 1.0, timestamp)
    limit = stop * (1.0 - plan.stop_limit_offset)
    if price < limit:  # gapped through the limit: the stop-limit rests unfilled, the bot sells at market
        return ExitHit(price, reason, 1.0, timestamp)
    return ExitHit(price, reason, 1.0, timestamp, "stop_limit", limit)


def stop_level(plan: ExitPlan, watermark: float) -> tuple[float | None, ExitReason]:
    """The protective stop for high-water mark ``watermark`` (None: no stop) and the reason an
    exit there carries."""
    return _level(plan, watermark)


def _level(plan: ExitPlan, watermark: float) -> tuple[float | None, ExitReason]:
    """Scalar protective stop (None: no stop) and the reason an exit there would carry."""
    if not plan.has_stop:
        return None, ExitReason.STOP_LOSS
    trail = _trail_level(plan, watermark, _SCALAR)
    fixed = plan.fixed_stop
    if trail is None:
        return fixed, ExitReason.TRAILING_STOP if fixed is None else ExitReason.STOP_LOSS
    if fixed is None or trail >= fixed:
        return trail, ExitReason.TRAILING_STOP
    return fixed, ExitReason.STOP_LOSS


def first_candidate(
    position: Position,
    plan: ExitPlan,
    high: np.ndarray,
    low: np.ndarray,
    close_time: np.ndarray,
    open_time: np.ndarray | None = None,
) -> int | None:
    """Index of the first candle in the arrays where an exit *may* fire, or None.

    Conservative: uses the high-water mark including the candle's own high, so a candle that is
    not a candidate cannot exit; the caller confirms candidates with :func:`walk`. ``open_time``
    (the candles' opens, ms) dates an eased take-profit.
    """
    if len(high) == 0 or not plan.active:
        return None
    cand = None
    if plan.has_stop:
        trail = None
        if plan.breakeven_trigger is not None or plan.trailing_start is not None or plan.decay_start is not None:
            wm = np.maximum.accumulate(np.maximum(high, position.high_watermark))
            trail = _trail_level(plan, wm, _ARRAY)
        level = plan.fixed_stop
        if trail is not None:
            level = trail if level is None else np.fmax(level, trail)
        cand = low <= level  # NaN (no stop armed yet) compares False
    if plan.take_profit is not None and not position.partial_taken and not plan.tp_on_exchange:
        hit = high >= (plan.take_profit if plan.tp_ease_ms is None else take_profit_levels(plan, open_time))
        cand = hit if cand is None else cand | hit
    if plan.time_stop_ms is not None:
        hit = close_time >= plan.entry_timestamp + plan.time_stop_ms
        cand = hit if cand is None else cand | hit
    if cand is None:
        return None
    idx = int(np.argmax(cand))
    return idx if cand[idx] else None
