"""What is true about the bot right now, from its status row: running, paused, backing off from
an unreachable exchange, stopped, or silent. Pure (no Streamlit).

The status row (:class:`storage.records.StatusRecord`) is written by the bot every cycle.
``timestamp`` is the bot's own clock: wall time live, the simulated market time in a replay.
``detail`` holds ``run`` (``live``/``replay``), ``wall_ms`` (wall time of the write),
``retry_at`` (wall ms of the next attempt while backing off), ``limits`` (risk counters),
``feed`` (symbol -> ``{"last_candle": ms, "error": str}``), ``cash``, ``equity`` and
``positions``. A bot older than ``wall_ms`` wrote wall time in ``timestamp``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypedDict

from daybreak.core.domain import BotState
from daybreak.ui.fmt import age, money, utc
from storage.records import StatusRecord

STALE_FACTOR = 3
"""The heartbeat is stale when older than this many ``poll_seconds`` (and no retry is announced)."""

OK, WARN, ERROR, IDLE = "ok", "warn", "error", "idle"


@dataclass(frozen=True)
class Health:
    """``level`` (ok / warn / error / idle), the ``state`` shown, a one-line ``headline`` and
    ``notes``; ``replay`` with ``market_ms`` (the bot's clock), ``age_s`` of the heartbeat in
    wall seconds (None before the first)."""

    level: str
    state: str
    headline: str
    notes: list[str] = field(default_factory=list)
    replay: bool = False
    market_ms: int | None = None
    age_s: float | None = None
    feed_errors: dict[str, str] = field(default_factory=dict)


class _Seen(TypedDict):
    """The fields of :class:`Health` every assessment of a status row fills in."""

    replay: bool
    market_ms: int
    age_s: float
    feed_errors: dict[str, str]


def heartbeat_wall_ms(status: StatusRecord) -> int:
    """Wall time of the heartbeat: ``detail.wall_ms``, else ``timestamp`` (older bots)."""
    wall = (status.detail or {}).get("wall_ms")
    return int(wall) if isinstance(wall, (int, float)) else int(status.timestamp)


def heartbeat_is_stale(age_seconds: float, poll_seconds: float) -> bool:
    """True when no heartbeat came for more than ``STALE_FACTOR`` polls."""
    return age_seconds > STALE_FACTOR * poll_seconds


def assess(status: StatusRecord | None, now_ms: int, poll_seconds: float) -> Health:
    """The bot's health at wall time ``now_ms`` (ms) from its status row."""
    if status is None:
        return Health(
            IDLE,
            "NO HEARTBEAT",
            "no heartbeat yet: the bot has not written to this store. "
            "Start it with `python bot.py run --config <this config>`.",
        )
    detail = status.detail or {}
    replay = detail.get("run") == "replay"
    age_s = max(0.0, (now_ms - heartbeat_wall_ms(status)) / 1000)
    feed_errors: dict[str, str] = {
        s: err for s, i in sorted((detail.get("feed") or {}).items()) if (err := (i or {}).get("error"))
    }
    base = _Seen(replay=replay, market_ms=int(status.timestamp), age_s=age_s, feed_errors=feed_errors)
    kind = "replay" if replay else "bot"
    notes = [f"Reason: {status.reason}"] if status.reason and status.state == BotState.ERROR.value else []
    if status.state == BotState.SHUTDOWN.value:
        return Health(
            IDLE,
            status.state,
            f"the {kind} stopped {age(age_s)} ago; figures are from its last "
            "run. Controls are acted on when it runs again.",
            [],
            **base,
        )
    retry_at = detail.get("retry_at")
    if feed_errors and isinstance(retry_at, (int, float)) and now_ms <= retry_at + STALE_FACTOR * poll_seconds * 1000:
        wait = max(0.0, (retry_at - now_ms) / 1000)
        return Health(
            WARN,
            "RUNNING",
            f"exchange unreachable ({', '.join(feed_errors)}): next retry in "
            f"{age(wait)}. Exits and flatten are retried too. {next(iter(feed_errors.values()))}",
            notes,
            **base,
        )
    if heartbeat_is_stale(age_s, poll_seconds):
        return Health(
            ERROR,
            f"{status.state} (no heartbeat)",
            f"no heartbeat for {age(age_s)} (more than {STALE_FACTOR} x poll_seconds = "
            f"{STALE_FACTOR * poll_seconds:g} s): the {kind} is stopped or stuck. "
            f"Last state {status.state} at {utc(heartbeat_wall_ms(status))}.",
            notes,
            **base,
        )
    if status.state == BotState.ERROR.value:
        return Health(
            ERROR, status.state, f"the bot stopped on an error: {status.reason or status.last_error}", [], **base
        )
    if status.state in (BotState.PAUSED_MANUAL.value, BotState.PAUSED_RISK_LIMIT.value):
        why = "by hand" if status.state == BotState.PAUSED_MANUAL.value else "by a risk limit"
        return Health(
            WARN, status.state, f"entries paused {why}: {status.reason}. Exits and stops still run.", [], **base
        )
    if feed_errors:
        return Health(
            WARN,
            status.state,
            f"market data failing for {', '.join(feed_errors)}: {next(iter(feed_errors.values()))}",
            notes,
            **base,
        )
    if status.state == BotState.BOOTING.value:
        return Health(WARN, status.state, "starting up.", notes, **base)
    return Health(
        OK,
        status.state,
        f"all well: trading {'a replay' if replay else status.mode}, heartbeat {age(age_s)} ago.",
        notes,
        **base,
    )


LIMIT_PAIRS = (
    ("Daily loss", "daily_loss_used", "daily_loss_limit", "money"),
    ("Entries today", "trades_today", "max_trades_per_day", "count"),
    ("Loss streak", "loss_streak", "max_consecutive_losses", "count"),
)


def limit_rows(limits: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per risk limit the bot reports: ``limit``, ``used``, ``max``, ``left`` (``max -
    used``: the distance to triggering), ``left_ratio`` (left / max) and ``unit`` (``money`` in
    quote, or ``count``); ``max``/``left`` None when the rule is off."""
    rows = []
    for label, used_key, max_key, unit in LIMIT_PAIRS:
        if used_key not in limits and max_key not in limits:
            continue
        used, cap = limits.get(used_key), limits.get(max_key)
        left = None if cap is None or used is None else cap - used
        rows.append(
            {
                "limit": label,
                "used": used,
                "max": cap,
                "left": left,
                "left_ratio": None if left is None or not cap else left / cap,
                "unit": unit,
            }
        )
    return rows


def limit_text(row: dict[str, Any]) -> tuple[str, str, str]:
    """``(used, max, left)`` of a limit row as text: money with 2 decimals, counts as integers,
    ``off`` for a rule that is off."""

    def show(v):
        if v is None:
            return "off"
        return money(v) if row["unit"] == "money" else f"{round(v)}"

    return show(row["used"]), show(row["max"]), show(row["left"])


def limit_hit(row: dict[str, Any]) -> bool:
    """True when the limit has triggered (nothing left)."""
    return row["left"] is not None and row["left"] <= 0


def alerts_line(notify: dict | None) -> tuple[bool, str]:
    """(trouble, text) for the bot's alert counters (``detail["notify"]``, None: alerts off)."""
    if not notify:
        return False, "Alerts: off (no notification URLs configured, or notify.enabled is false)"
    text = (
        f"Alerts: {notify.get('sent', 0)} sent to {notify.get('targets', 0)} target(s), "
        f"{notify.get('suppressed', 0)} held back by de-duplication or rate limit"
    )
    failed, dropped = notify.get("failed", 0), notify.get("dropped", 0)
    if not failed and not dropped:
        return False, text
    when = notify.get("last_error_at")
    last = f"; last error ({utc(int(when * 1000))}): {notify.get('last_error')}" if when else ""
    return True, f"{text}; {failed} delivery(ies) failed, {dropped} dropped{last}"


def storage_line(storage: dict[str, Any], now_ms: int) -> str:
    """What the trader reads while the bot's writes fail: how many wait, since when, and why."""
    since = storage.get("since")
    when = f" for {age((now_ms - since) / 1000)} (since {utc(since)})" if since else ""
    return (
        f"Storage failing{when}: {storage.get('unsaved', 0)} write(s) kept in memory and retried every "
        f"cycle; new entries are paused until they are stored (exits still run). Error: {storage.get('error')}"
    )
