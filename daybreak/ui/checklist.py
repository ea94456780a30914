"""The daily checklist of the Operations page: one line per question a trader asks every morning,
each green (``ok`` True), red (False) or grey (None: the store does not say) with its reason.
Pure (no Streamlit); thresholds come from the ``dashboard`` section of the config.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pandas as pd

from daybreak.core.config import Config
from daybreak.ops.logs import LogRecord
from daybreak.ui.fmt import age, duration, money, pct
from daybreak.ui.health import ERROR, IDLE, Health, limit_hit, limit_rows

HOUR_MS = 3_600_000
MIN_TRADES_FOR_WIN_RATE = 5


@dataclass(frozen=True)
class Check:
    """One checklist line."""

    name: str
    ok: bool | None
    reason: str


def services(health: Health) -> Check:
    """Bot heartbeat fresh and not in ERROR, market data and exchange reachable."""
    name = "All services online"
    if health.state == "NO HEARTBEAT":
        return Check(name, None, health.headline)
    if health.level in (ERROR, IDLE) or health.feed_errors:
        return Check(name, False, health.headline)
    return Check(name, True, f"bot heartbeat {age(health.age_s or 0)} ago, market data flowing")


def risk_limits(health: Health, limits: dict[str, Any]) -> Check:
    """No risk limit has triggered and no protection pauses entries."""
    hit = [r["limit"] for r in limit_rows(limits) if limit_hit(r)]
    if health.state.startswith("PAUSED_RISK_LIMIT") or hit or limits.get("paused_until"):
        why = ", ".join(hit) or "a protection pauses entries"
        return Check("No risk limit hit", False, f"{why} ({health.headline})" if hit else why)
    if not limits:
        return Check("No risk limit hit", None, "the bot reports no risk counters")
    return Check("No risk limit hit", True, "every limit has room left")


def _shape(message: str) -> str:
    """An error message with its numbers blanked, so repeats of one error group together."""
    return re.sub(r"\d+(\.\d+)?", "#", message)[:160]


def repeated_errors(records: list[LogRecord] | None, now_ms: int, threshold: int, log_path: str) -> Check:
    """No error message (numbers aside) logged ``threshold`` times or more in the last hour."""
    if records is None:
        return Check("No repeated errors", None, f"log file {log_path} not readable here")
    recent = [r for r in records if r.level in ("ERROR", "CRITICAL") and r.timestamp >= now_ms - HOUR_MS]
    if not recent:
        return Check("No repeated errors", True, "no errors logged in the last hour")
    shape, count = Counter(_shape(r.message) for r in recent).most_common(1)[0]
    if count >= threshold:
        example = next(r.message for r in reversed(recent) if _shape(r.message) == shape)
        return Check("No repeated errors", False, f"{count} x in the last hour: {example[:140]}")
    return Check(
        "No repeated errors", True, f"{len(recent)} error(s) in the last hour, none repeated {threshold} times"
    )


def pnl_band(today_pnl: float | None, day_start_equity: float | None, low: float, high: float) -> Check:
    """Today's P&L (realized plus open) as a fraction of the day's starting equity within
    ``[low, high]``."""
    if today_pnl is None or not day_start_equity:
        return Check("P&L within band", None, "no equity reported for today yet")
    ratio = today_pnl / day_start_equity
    band = f"band {pct(low)} to {pct(high)}"
    return Check(
        "P&L within band",
        low <= ratio <= high,
        f"today {money(today_pnl, signed=True)} ({pct(ratio, signed=True)} of {money(day_start_equity)}), {band}",
    )


def positions(frame: pd.DataFrame, config: Config, poll_seconds: float) -> Check:
    """Open positions within the caps, each priced, none held past its time stop (a stuck exit)."""
    n = len(frame)
    cap = config.risk.max_open_positions
    problems = []
    if cap is not None and n > cap:
        problems.append(f"{n} open, above max_open_positions {cap}")
    for row in frame.itertuples(index=False):
        limit = config.risk_for(row.algo).time_stop_seconds
        if limit is not None and row.time_in_trade_ms > (limit + 3 * poll_seconds) * 1000:
            problems.append(
                f"{row.algo} {row.symbol} held {duration(row.time_in_trade_ms)}, past its "
                f"time stop of {duration(limit * 1000)}"
            )
        if isinstance(row.last_price, float) and math.isnan(row.last_price):
            problems.append(f"{row.algo} {row.symbol} has no stored price")
    if problems:
        return Check("Open positions manageable", False, "; ".join(problems))
    what = f"{n} open" + (f" of at most {cap}" if cap is not None else "")
    return Check("Open positions manageable", True, what + ("" if n else ", flat"))


def notifications(detail: dict) -> Check:
    """The bot's notifier delivers (``detail.notify``: sent / failed counters, last error)."""
    info = detail.get("notify")
    if not isinstance(info, dict):
        return Check(
            "Notifications working",
            None,
            "the bot reports no notification status (no alert targets set up, or a bot without alerts)",
        )
    failed, sent = int(info.get("failed") or 0), int(info.get("sent") or 0)
    if info.get("last_error") and failed:
        return Check("Notifications working", False, f"{failed} failed delivery(ies), last: {info['last_error']}")
    return Check("Notifications working", True, f"{sent} sent, none failed")


def last_day(trips: pd.DataFrame, min_win_rate: float | None) -> Check:
    """Closed trades (round trips) of the last 24 h and their win rate."""
    n = len(trips)
    wins = int((trips["pnl"] > 0).sum()) if n else 0
    if not n:
        return Check("Last 24 h", True, "no closed trades in the last 24 h")
    rate = wins / n
    text = f"{n} closed trades, {wins} won ({pct(rate)}), P&L {money(float(trips['pnl'].sum()), signed=True)}"
    if min_win_rate is not None and n >= MIN_TRADES_FOR_WIN_RATE and rate < min_win_rate:
        return Check("Last 24 h", False, f"{text}: win rate below {pct(min_win_rate)}")
    return Check("Last 24 h", True, text)
