"""Operator alerts of a running bot: what the engine, the feed and the store report, as messages.

One :class:`Alerts` per bot process wraps one :class:`~daybreak.ops.notify.Notifier` (which
queues, de-duplicates, rate limits and sends on its own thread, so nothing here waits on the
network). The drivers' services call it:

* :meth:`Alerts.fill` for every trade stored (entry, exit; a ``stop_loss`` or ``trailing_stop``
  exit is a ``stop_hit``), keyed by trade id, so a trade is announced once;
* :meth:`Alerts.control` when a pause / resume / flatten is acknowledged (with who asked);
* :meth:`Alerts.watch` every heartbeat (and, in replay, every candle): account risk limits
  (daily loss, trades per day, loss-streak pause, stale data) that trip or lift, the exchange
  unreachable for longer than ``notify.alert_exchange_down_seconds`` (wall clock) and back, and
  the daily summary of the trading day that just ended (``risk.day_timezone``);
* :meth:`Alerts.storage_failed` / :meth:`Alerts.storage_ok`, :meth:`Alerts.state_error`,
  :meth:`Alerts.reconciliation`.

Which limits are tripped and the last summarized day are kept in the store's State table
(``notify:limits``, ``notify:summary_day``), so a restart or a replay run again never announces
the same trip or summary twice. In replay (``market_time``) each message carries the candle time.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from daybreak.core.alert_settings import EventKind
from daybreak.core.config import Config
from daybreak.core.domain import Action, Control, ExitReason, Trade
from daybreak.core.engine import Engine
from daybreak.ops.notify import (
    Message,
    Notifier,
    control_message,
    daily_summary_message,
    fill_message,
    problem_message,
    reconciliation_message,
    recovered_message,
    risk_limit_message,
    stop_message,
)
from daybreak.ops.operator_secrets import notify_urls
from storage.base import StorageError, Store

log = logging.getLogger("daybreak")

PROTECTIVE_EXITS = frozenset({ExitReason.STOP_LOSS, ExitReason.TRAILING_STOP})
"""Exit reasons announced as ``stop_hit`` rather than ``fill_exit``."""
LIMITS_STATE_KEY = "notify:limits"
SUMMARY_STATE_KEY = "notify:summary_day"
BASE_CANDLE_MS = 60_000


def day_bounds(day: str, tz: str) -> tuple[int, int]:
    """UTC epoch ms ``[start, end)`` of trading day ``day`` (``YYYY-MM-DD``) in IANA zone ``tz``."""
    start = datetime.combine(date.fromisoformat(day), datetime.min.time(), ZoneInfo(tz))
    end = datetime.combine(date.fromisoformat(day) + timedelta(days=1), datetime.min.time(), ZoneInfo(tz))
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, ZoneInfo("UTC")).strftime("%Y-%m-%d %H:%M UTC")


class Alerts:
    """Turns bot events into alerts. ``notifier`` None: every method does nothing (cheaply).

    ``market_time``: add the event's market time to each message (replay). ``wall_clock``:
    seconds, for how long the exchange has been down. Called from the bot loop's thread only.
    """

    def __init__(
        self, notifier: Notifier | None, market_time: bool = False, wall_clock: Callable[[], float] = time.time
    ):
        self.notifier = notifier
        self.market_time = market_time
        self._wall = wall_clock
        self._limits: dict[str, str] | None = None  # rule -> identity of the trip in force
        self._day: str | None = None
        self._last_snapshot: dict = {}
        self._down_since: float | None = None
        self._down_alerted = False
        self._storage_problem: str | None = None
        self._error_sent: str | None = None

    @property
    def on(self) -> bool:
        return self.notifier is not None

    def _send(self, message: Message, key: str, at_ms: int | None) -> None:
        if self.notifier is not None:
            self.notifier.notify(*message, key=key, market_time_ms=at_ms if self.market_time else None)

    # -- trades and controls ---------------------------------------------------------------------
    def fill(self, trade: Trade) -> None:
        """A trade was stored: entry fill, exit fill, or stop hit."""
        if self.notifier is None:
            return
        if trade.action is Action.BUY:
            message = fill_message(trade.algo, trade.symbol, "buy", trade.amount, trade.price)
        elif trade.exit_reason in PROTECTIVE_EXITS and EventKind.STOP_HIT in self.notifier.settings.events:
            message = stop_message(
                trade.algo, trade.symbol, trade.amount, trade.price, trade.pnl or 0.0, rule=trade.exit_reason.value
            )
        else:
            reason = trade.exit_reason.value if trade.exit_reason else None
            message = fill_message(
                trade.algo, trade.symbol, "sell", trade.amount, trade.price, trade.pnl or 0.0, reason
            )
        self._send(message, trade.trade_id, trade.timestamp)

    def control(self, ctl: Control, status: str, result: str, at_ms: int) -> None:
        """A control was acknowledged (``status`` done or refused) with ``result``."""
        if self.notifier is None or ctl.action not in ("pause", "resume", "flatten"):
            return
        self._send(
            control_message(ctl.action, ctl.source or "unknown", detail=f"{status}: {result}"), ctl.control_id, at_ms
        )

    # -- faults ----------------------------------------------------------------------------------
    def state_error(self, reason: str, at_ms: int | None = None) -> None:
        """The bot entered state ERROR (sent once per reason)."""
        if self.notifier is None or reason == self._error_sent:
            return
        self._error_sent = reason
        self._send(
            problem_message(EventKind.STATE_ERROR, "The bot is in state ERROR and does not trade.", reason),
            reason,
            at_ms,
        )

    def storage_failed(self, problem: str, at_ms: int | None = None) -> None:
        """A write the store refused (kept and retried): one alert per episode."""
        if self.notifier is None or self._storage_problem is not None:
            return
        self._storage_problem = problem
        self._send(
            problem_message(
                EventKind.STORAGE_TROUBLE, "Storage refused a write; it is kept and retried every cycle.", problem
            ),
            f"storage|{self._wall()}",
            at_ms,
        )

    def storage_ok(self, at_ms: int | None = None) -> None:
        """Every write is stored again (ends an episode begun by :meth:`storage_failed`)."""
        if self.notifier is None or self._storage_problem is None:
            return
        self._storage_problem = None
        self._send(
            recovered_message(EventKind.STORAGE_TROUBLE, "Every pending write is stored again."),
            f"storage-ok|{self._wall()}",
            at_ms,
        )

    def reconciliation(
        self, symbol: str, expected: float, actual: float, detail: str | None = None, at_ms: int | None = None
    ) -> None:
        """The exchange holds ``actual`` base units of ``symbol`` where the books say ``expected``."""
        if self.notifier is not None:
            self._send(
                reconciliation_message(symbol, expected, actual, detail),
                f"recon|{symbol}|{expected:.12g}|{actual:.12g}",
                at_ms,
            )

    # -- periodic --------------------------------------------------------------------------------
    def watch(self, now_ms: int, engine: Engine, store: Store, feed: dict[str, dict] | None = None) -> None:
        """Risk limits, the exchange feed and the day boundary at ``now_ms`` (market time)."""
        if self.notifier is None:
            return
        snapshot = engine.gate.limits_snapshot(now_ms)
        self._day_boundary(snapshot, now_ms, engine, store)
        self._last_snapshot = snapshot
        stale = self._stale_feed(now_ms, feed or {}, engine.config.risk.stale_data_seconds)
        self._risk_limits(_tripped(snapshot, stale), now_ms, store)
        if feed:
            self._exchange(feed, now_ms)

    def _risk_limits(self, tripped: dict[str, tuple[str, str]], now_ms: int, store: Store) -> None:
        if self._limits is None:
            self._limits = json.loads(_get(store, LIMITS_STATE_KEY) or "{}")
        before = self._limits
        now = {rule: ident for rule, (ident, _) in tripped.items()}
        if now == before:
            return
        for rule, (ident, detail) in tripped.items():
            if before.get(rule) != ident:
                self._send(risk_limit_message(rule, detail, tripped=True), f"{rule}|{ident}|on", now_ms)
        for rule, ident in before.items():
            if rule not in now:
                self._send(
                    risk_limit_message(rule, _LIFTED.get(rule, "the condition cleared"), tripped=False),
                    f"{rule}|{ident}|off",
                    now_ms,
                )
        self._limits = now
        _set(store, LIMITS_STATE_KEY, json.dumps(now, sort_keys=True))

    def _stale_feed(self, now_ms: int, feed: dict[str, dict], limit_seconds: float | None) -> str | None:
        """The stale symbols' lateness, as text, when a polled candle is later than the limit."""
        if limit_seconds is None:
            return None
        late = {
            s: (now_ms - info["last_candle"] - BASE_CANDLE_MS) / 1000
            for s, info in feed.items()
            if info.get("last_candle")
        }
        stale = sorted(s for s, lag in late.items() if lag > limit_seconds)
        return ", ".join(f"{s} {late[s]:.0f} s late" for s in stale) or None

    def _exchange(self, feed: dict[str, dict], now_ms: int) -> None:
        if self.notifier is None:  # alerts off
            return
        errors = {s: info.get("error") for s, info in feed.items() if info.get("error")}
        wall = self._wall()
        if not errors:
            if self._down_alerted:
                down = wall - (self._down_since or wall)
                self._send(
                    recovered_message(EventKind.EXCHANGE_DOWN, f"The exchange answers again after {down:.0f} s."),
                    f"up|{self._down_since}",
                    now_ms,
                )
            self._down_since, self._down_alerted = None, False
            return
        if self._down_since is None:
            self._down_since = wall
        threshold = self.notifier.settings.alert_exchange_down_seconds
        if not self._down_alerted and wall - self._down_since >= threshold:
            self._down_alerted = True
            first = next(iter(sorted(errors.items())))
            self._send(
                problem_message(
                    EventKind.EXCHANGE_DOWN,
                    f"No answer from the exchange for "
                    f"{wall - self._down_since:.0f} s (threshold {threshold:g} s); "
                    f"retrying with back-off.",
                    f"{first[0]}: {first[1]}",
                ),
                f"down|{self._down_since}",
                now_ms,
            )

    def _day_boundary(self, snapshot: dict, now_ms: int, engine: Engine, store: Store) -> None:
        day = snapshot.get("day")
        if self._day is None or not day:
            self._day = day
            return
        if day == self._day:
            return
        ended, self._day = self._day, day
        if (_get(store, SUMMARY_STATE_KEY) or "") >= ended:
            return  # summarized before (a restart, or this span replayed again)
        lo, hi = day_bounds(ended, engine.config.risk.day_timezone)
        try:
            trades = [t for t in store.list_trades(since=lo) if t.timestamp < hi]
        except StorageError as err:
            log.error("daily summary of %s not sent: %s", ended, err)
            return
        pnls = [t.pnl for t in trades if t.action is Action.SELL and t.pnl is not None]  # the closes
        wins = sum(1 for pnl in pnls if pnl > 0)
        quote = (engine.config.symbols[0].partition("/")[2] or "quote") if engine.config.symbols else "quote"
        self._send(
            daily_summary_message(
                ended,
                sum(pnls),
                len(pnls),
                wins / len(pnls) if pnls else None,
                len(engine.ledger.positions),
                _limits_used(self._last_snapshot),
                quote,
            ),
            f"summary|{ended}",
            now_ms,
        )
        _set(store, SUMMARY_STATE_KEY, ended)

    # -- status ----------------------------------------------------------------------------------
    def status(self) -> dict | None:
        """The notifier's counters for the status row (None when alerts are off)."""
        if self.notifier is None:
            return None
        return asdict(self.notifier.status()) | {"targets": len(self.notifier.targets)}

    def close(self, timeout: float = 5.0) -> None:
        """Send what is queued (at most ``timeout`` s) and stop the notifier's thread."""
        if self.notifier is not None and not self.notifier.close(timeout):
            log.warning("notify: some alerts were not sent before shutdown")


_LIFTED = {
    "daily_max_loss": "a new trading day started",
    "max_trades_per_day": "a new trading day started",
    "loss_streak_pause": "the loss-streak pause ended",
    "stale_data": "market data is current again",
}


def _tripped(snap: dict, stale: str | None) -> dict[str, tuple[str, str]]:
    """Account limits in force: rule -> (identity of this trip, detail)."""
    out = {}
    used, limit = snap.get("daily_loss_used"), snap.get("daily_loss_limit")
    if limit is not None and used is not None and used >= limit:
        out["daily_max_loss"] = (
            snap["day"],
            f"the day's realized loss {used:,.2f} reached the limit {limit:,.2f} (day {snap['day']})",
        )
    entries, cap = snap.get("trades_today"), snap.get("max_trades_per_day")
    if cap is not None and entries is not None and entries >= cap:
        out["max_trades_per_day"] = (snap["day"], f"{entries} entries today, limit {cap} (day {snap['day']})")
    until = snap.get("paused_until")
    if until:
        out["loss_streak_pause"] = (str(until), f"a streak of losing trades paused entries until {_iso(until)}")
    if stale:
        out["stale_data"] = ("stale", f"market data is late: {stale}")
    return out


def _limits_used(snap: dict) -> dict[str, float]:
    pairs = (
        ("daily loss", "daily_loss_used", "daily_loss_limit"),
        ("trades", "trades_today", "max_trades_per_day"),
        ("loss streak", "loss_streak", "max_consecutive_losses"),
    )
    return {name: snap[used] / snap[cap] for name, used, cap in pairs if snap.get(cap) and snap.get(used) is not None}


def _get(store: Store, key: str) -> str | None:
    try:
        return store.get_state(key)
    except StorageError as err:
        log.error("alert state %s not read: %s", key, err)
        return None


def _set(store: Store, key: str, value: str) -> None:
    try:
        store.set_state(key, value)
    except StorageError as err:
        log.error("alert state %s not stored: %s", key, err)


def make_alerts(config: Config, send: bool, market_time: bool = False, env: Mapping[str, str] | None = None) -> Alerts:
    """The alerts of one bot process: off unless ``send`` and ``config.notify.enabled`` and URLs are
    configured (:func:`daybreak.ops.operator_secrets.notify_urls`). Raises ``ValueError`` naming
    the (redacted) URLs apprise cannot use, and ``OperatorSecretError`` when the secret cannot be read."""
    if not send or not config.notify.enabled:
        return Alerts(None)
    urls = notify_urls(env)
    if not urls:
        return Alerts(None)
    notifier = Notifier(urls, config.notify)
    log.info("alerts on: %s to %s", ", ".join(k.value for k in config.notify.events), ", ".join(notifier.targets))
    return Alerts(notifier, market_time)
