"""Alerts to the operator through apprise (Telegram, Slack, Discord, e-mail, Amazon SNS, json://, form:// ...).

Targets are apprise URLs from ``DAYBREAK_NOTIFY_URLS`` (:func:`urls_from_env`) or the caller (the Secrets
Manager ``notify_urls`` key), never ``config.json``: they hold tokens. :meth:`Notifier.notify` only queues;
a daemon thread de-duplicates, rate limits per :class:`EventKind` and sends with tenacity retries. The pure
``*_message`` functions build texts: money (quote currency) with 2 decimals, amounts and prices with up to
8 significant digits. The settings and event kinds are :mod:`daybreak.core.alert_settings` (re-exported here).
"""

from __future__ import annotations

import logging
import math
import os
import queue
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import NamedTuple

import apprise
from tenacity import RetryCallState, Retrying, stop_after_attempt, stop_any, stop_when_event_set, wait_exponential

from daybreak.core.alert_settings import EventKind, NotifySettings

__all__ = [
    "ENV_VAR",
    "EventKind",
    "Message",
    "Notifier",
    "NotifySettings",
    "NotifyStatus",
    "control_message",
    "daily_summary_message",
    "fill_message",
    "ping_message",
    "problem_message",
    "reconciliation_message",
    "recovered_message",
    "redact_url",
    "risk_limit_message",
    "send_test",
    "stop_message",
    "urls_from_env",
]

log = logging.getLogger(__name__)

ENV_VAR = "DAYBREAK_NOTIFY_URLS"


# apprise's message type: the "type" field of json:// and form://, the colour or icon elsewhere
_WARN, _FAIL = apprise.NotifyType.WARNING, apprise.NotifyType.FAILURE
_NOTIFY_TYPE = {kind: apprise.NotifyType.INFO for kind in EventKind} | {
    EventKind.FILL_EXIT: apprise.NotifyType.SUCCESS,
    EventKind.STOP_HIT: _WARN,
    EventKind.RISK_LIMIT_TRIPPED: _WARN,
    EventKind.STATE_ERROR: _FAIL,
    EventKind.EXCHANGE_DOWN: _FAIL,
    EventKind.STORAGE_TROUBLE: _FAIL,
    EventKind.RECONCILIATION_MISMATCH: _FAIL,
}


@dataclass(frozen=True)
class NotifyStatus:
    """Counters since start. ``sent``/``failed``/``retried``: deliveries (one message to one URL; a
    delivery that needed retries counts once in ``sent`` and once per retry in ``retried``);
    ``suppressed``: events held back by de-duplication or the rate limit; ``dropped``: events lost
    because the queue was full or :meth:`Notifier.close` ran out of time. ``last_error`` names the
    redacted URL; ``last_error_at`` is the notifier's clock (epoch seconds by default)."""

    sent: int = 0
    failed: int = 0
    retried: int = 0
    suppressed: int = 0
    dropped: int = 0
    last_error: str | None = None
    last_error_at: float | None = None


class Message(NamedTuple):
    """A formatted alert, ready for ``notifier.notify(*message)``."""

    kind: EventKind
    title: str
    body: str


# -- URLs ------------------------------------------------------------------------------------------
_URL_START = re.compile(r",+(?=[A-Za-z][A-Za-z0-9+.-]*://)")


def urls_from_env(environ: Mapping[str, str] = os.environ) -> list[str]:
    """The apprise URLs in ``DAYBREAK_NOTIFY_URLS``, separated by whitespace or commas (a comma
    inside a URL, e.g. ``mailto://...?to=a@x.com,b@x.com``, stays). Unset or blank: ``[]``."""
    urls: list[str] = []
    for chunk in (environ.get(ENV_VAR) or "").split():
        urls.extend(part.strip(",") for part in _URL_START.split(chunk))
    return [url for url in urls if url]


def redact_url(url: str) -> str:
    """``url`` fit to show: apprise's privacy form (tokens and passwords masked) without the query
    string; for a URL apprise cannot parse, only its scheme (``"tgram://…"``)."""
    try:
        service = apprise.Apprise.instantiate(url)
    except Exception:  # a bad URL must not break the caller
        service = None
    if service is not None:
        return service.url(privacy=True).split("?", 1)[0]
    scheme = url.partition("://")[0] if "://" in url else ""
    return f"{scheme}://…" if re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]{0,31}", scheme) else "<not a URL>"


def _service(url: str) -> apprise.Apprise | None:
    target = apprise.Apprise()
    return target if target.add(url) else None


def _result_error(result: apprise.AppriseResult) -> str:
    """The last warning or error apprise logged for one ``notify()`` call."""
    problems = [e.message for e in result.logs() if e.level in ("WARNING", "ERROR", "CRITICAL")]
    return problems[-1] if problems else "apprise reported failure"


class _SendFailed(Exception):
    """apprise reported a failed delivery; the text is its last warning."""


def send_test(
    urls: Iterable[str], title: str = "Daybreak: test", body: str = "Test alert from Daybreak; this target works."
) -> list[tuple[str, bool, str | None]]:
    """Send one test message to each URL on its own (no retries; blocks until each is done) and
    report ``(redacted URL, ok, error or None)`` per URL, in order. Never raises for a URL."""
    report: list[tuple[str, bool, str | None]] = []
    for url in urls:
        shown = redact_url(url)
        try:
            target = _service(url)
            if target is None:
                report.append((shown, False, "not a valid apprise URL"))
                continue
            result = target.notify(body=body, title=title, notify_type=apprise.NotifyType.INFO)
            report.append((shown, True, None) if result else (shown, False, _result_error(result)))
        except Exception as err:
            report.append((shown, False, f"{type(err).__name__}: {err}"))
    return report


# -- the notifier ----------------------------------------------------------------------------------
class _Event(NamedTuple):
    kind: EventKind
    title: str
    body: str
    key: str | None  # None: de-duplicate on title and body
    at: float  # clock() when queued


@dataclass
class _Window:
    start: float
    sent: int = 0
    suppressed: int = 0


class Notifier:
    """Sends alerts from a daemon thread; the caller's thread never waits on the network.

    ``urls``: apprise URLs (each is sent to, and retried, on its own); ``settings``: the ``notify``
    config section (default :class:`NotifySettings`); ``clock``: seconds, for de-duplication, rate
    windows and ``last_error_at``. A delivery is tried ``retries + 1`` times, waiting
    ``backoff_seconds * 2**n`` capped at ``backoff_max_seconds`` between tries. ``queue_size`` bounds
    the events waiting; ``poll_seconds`` is how often the thread checks for ended rate windows.
    With no URLs or ``enabled`` false nothing starts and :meth:`notify` does nothing.
    Raises ``ValueError`` (naming the redacted URLs) when a URL is not a valid apprise URL.
    """

    def __init__(
        self,
        urls: Iterable[str],
        settings: NotifySettings | None = None,
        clock: Callable[[], float] = time.time,
        *,
        retries: int = 3,
        backoff_seconds: float = 1.0,
        backoff_max_seconds: float = 30.0,
        queue_size: int = 1000,
        poll_seconds: float = 0.25,
    ) -> None:
        self.settings = settings or NotifySettings()
        self._clock = clock
        self._retries, self._backoff, self._backoff_max = retries, backoff_seconds, backoff_max_seconds
        self._poll = poll_seconds
        targets: list[tuple[str, apprise.Apprise]] = []
        bad: list[str] = []
        for url in urls:
            shown, target = redact_url(url), _service(url)
            if target is None:
                bad.append(shown)
            else:
                targets.append((shown, target))
        if bad:
            raise ValueError(f"not valid apprise URLs: {', '.join(bad)}")
        self._targets = targets
        self._queue: queue.Queue[_Event] = queue.Queue(maxsize=queue_size)
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(("sent", "failed", "retried", "suppressed", "dropped"), 0)
        self._last_error: tuple[str, float] | None = None
        self._seen: dict[tuple[EventKind, str], float] = {}
        self._windows: dict[EventKind, _Window] = {}
        self._closing = threading.Event()
        self._abort = threading.Event()
        self._thread: threading.Thread | None = None
        if self.settings.enabled and self._targets:
            self._thread = threading.Thread(target=self._run, name="daybreak-notify", daemon=True)
            self._thread.start()

    def notify(
        self, kind: EventKind | str, title: str, body: str, key: str | None = None, market_time_ms: int | None = None
    ) -> bool:
        """Queue one alert and return at once; never raises. ``key`` identifies the event for
        de-duplication (default: title and body); ``market_time_ms`` (UTC epoch ms, e.g. a replay's
        candle time) is added to the body as ISO time. True when queued; False when off, not a
        configured kind, closed, or the queue is full (counted as ``dropped``)."""
        try:
            kind = EventKind(kind)
            if self._thread is None or self._closing.is_set() or kind not in self.settings.events:
                return False
            text = _lines(str(body), None if market_time_ms is None else f"Market time: {_iso_ms(market_time_ms)}")
            self._queue.put_nowait(_Event(kind, str(title), text, None if key is None else str(key), self._clock()))
            return True
        except queue.Full:
            dropped = self._bump("dropped")
            if dropped == 1 or dropped % 100 == 0:
                log.warning("notify: queue full, %d alert(s) dropped so far", dropped)
        except Exception:  # alerts must never break trading
            log.exception("notify: could not queue a %r alert", kind)
        return False

    @property
    def targets(self) -> list[str]:
        """The configured URLs, redacted (fit to show)."""
        return [shown for shown, _ in self._targets]

    def status(self) -> NotifyStatus:
        """A snapshot of the counters (see :class:`NotifyStatus`)."""
        with self._lock:
            error, at = self._last_error or (None, None)
            return NotifyStatus(**self._counts, last_error=error, last_error_at=at)

    def close(self, timeout: float = 5.0) -> bool:
        """Stop taking alerts, send what is queued (and pending suppression summaries), and stop the
        thread, waiting at most ``timeout`` seconds (then back-offs are cut short and what is still
        queued is dropped). True when everything was flushed in time. Safe to call twice."""
        self._closing.set()
        if self._thread is None:
            return True
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._abort.set()
            self._thread.join(1.0)
        return not self._abort.is_set()

    def _bump(self, counter: str, n: int = 1, error: str | None = None) -> int:
        with self._lock:
            self._counts[counter] += n
            if error is not None:
                self._last_error = (error, self._clock())
            return self._counts[counter]

    def _run(self) -> None:
        while True:
            try:
                event = self._queue.get(timeout=self._poll)
            except queue.Empty:
                event = None
            if self._abort.is_set():  # close() ran out of time: what is left is dropped
                lost = int(event is not None) + self._queue.qsize()
                if lost:
                    self._bump("dropped", lost)
                    log.warning("notify: closed before %d alert(s) were sent", lost)
                return
            try:
                if event is not None:
                    self._handle(event)
                self._flush_windows(self._clock(), force=False)
                if event is None and self._closing.is_set() and self._queue.empty():
                    self._flush_windows(self._clock(), force=True)
                    return
            except Exception:  # the thread must outlive any one alert
                log.exception("notify: worker error")

    def _handle(self, event: _Event) -> None:
        cfg = self.settings
        if cfg.dedupe_seconds > 0:
            ident = (event.kind, event.key if event.key is not None else f"{event.title}\n{event.body}")
            first = self._seen.get(ident)
            if first is not None and event.at - first < cfg.dedupe_seconds:
                self._bump("suppressed")
                return
            self._seen[ident] = event.at
            if len(self._seen) > 10_000:
                self._seen = {k: t for k, t in self._seen.items() if event.at - t < cfg.dedupe_seconds}
        window = self._windows.get(event.kind)
        if window is None or event.at >= window.start + cfg.rate_window_seconds:
            self._flush_windows(event.at, force=False)  # the ended window's summary goes first
            window = self._windows[event.kind] = _Window(event.at)
        if window.sent >= cfg.rate_limit_per_kind:
            window.suppressed += 1
            self._bump("suppressed")
            return
        window.sent += 1
        self._deliver(event.kind, event.title, event.body)

    def _flush_windows(self, now: float, force: bool) -> None:
        """Send "N more <kind> events suppressed" for each window that ended (all when ``force``)."""
        cfg = self.settings
        for kind, window in self._windows.items():
            if window.suppressed and (force or now >= window.start + cfg.rate_window_seconds):
                n, window.suppressed = window.suppressed, 0
                self._deliver(
                    kind,
                    f"Daybreak: {n} more {kind.value} events suppressed",
                    f"{n} more {kind.value} events suppressed (rate limit: {cfg.rate_limit_per_kind} "
                    f"per {cfg.rate_window_seconds:g} s).",
                )

    def _deliver(self, kind: EventKind, title: str, body: str) -> None:
        for shown, target in self._targets:
            self._send_one(shown, target, title, body, _NOTIFY_TYPE[kind])

    def _send_one(
        self, shown: str, target: apprise.Apprise, title: str, body: str, notify_type: apprise.NotifyType
    ) -> None:
        def attempt() -> None:
            result = target.notify(body=body, title=title, notify_type=notify_type)
            if not result:
                raise _SendFailed(_result_error(result))

        def before_sleep(state: RetryCallState) -> None:
            self._bump("retried")
            log.info(
                "notify: %s attempt %d failed (%s); retrying",
                shown,
                state.attempt_number,
                state.outcome.exception() if state.outcome is not None else None,
            )

        def pause(seconds: float) -> None:  # a back-off that close() can cut short
            self._abort.wait(seconds)

        try:
            Retrying(
                stop=stop_any(stop_after_attempt(self._retries + 1), stop_when_event_set(self._abort)),
                wait=wait_exponential(multiplier=self._backoff, max=self._backoff_max),
                sleep=pause,
                before_sleep=before_sleep,
                reraise=True,
            )(attempt)
        except Exception as err:
            error = f"{shown}: {err}" if isinstance(err, _SendFailed) else f"{shown}: {err!r}"
            self._bump("failed", error=error)
            log.warning("notify: giving up on %r: %s", title, error)
        else:
            self._bump("sent")


# -- messages --------------------------------------------------------------------------------------
def _iso_ms(ms: int) -> str:
    """UTC ISO 8601 of epoch milliseconds, e.g. ``2024-03-01T12:00:00Z`` (milliseconds when not 0)."""
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.isoformat(timespec="milliseconds" if ms % 1000 else "seconds").replace("+00:00", "Z")


def _amount(x: float) -> str:
    """Up to 8 significant digits, never in exponent form: ``0.00001234``, ``64123.457``."""
    if not math.isfinite(x):
        return str(x)
    return format(Decimal(f"{x:.8g}"), "f")


def _money(x: float, quote: str, signed: bool = False) -> str:
    """Quote currency, 2 decimals with thousands separators: ``-1,234.50 USDT``."""
    return f"{x:+,.2f} {quote}" if signed else f"{x:,.2f} {quote}"


def _lines(*lines: str | None) -> str:
    return "\n".join(line for line in lines if line)


def fill_message(
    strategy: str,
    symbol: str,
    side: str,
    amount: float,
    price: float,
    pnl: float | None = None,
    reason: str | None = None,
) -> Message:
    """A filled order: ``amount`` base units at ``price`` (quote per base); ``pnl``: realized, quote
    currency, None for an entry. The kind is ``fill_exit`` when ``pnl`` is given, else ``fill_entry``."""
    quote = symbol.partition("/")[2].split(":")[0] or "quote"
    return Message(
        EventKind.FILL_ENTRY if pnl is None else EventKind.FILL_EXIT,
        f"Daybreak: {side.upper()} {_amount(amount)} {symbol} @ {_amount(price)}",
        _lines(
            f"Strategy: {strategy}",
            f"{'Entry' if pnl is None else 'Exit'}: {side.lower()} "
            f"{_amount(amount)} {symbol} at {_amount(price)} {quote} "
            f"(notional {_money(amount * price, quote)})",
            None if pnl is None else f"PnL: {_money(pnl, quote, signed=True)}",
            reason and f"Reason: {reason}",
        ),
    )


def stop_message(
    strategy: str, symbol: str, amount: float, price: float, pnl: float, rule: str = "stop_loss"
) -> Message:
    """A protective exit (``rule``: stop_loss, trailing, time_stop ...) sold ``amount`` base at ``price``."""
    quote = symbol.partition("/")[2].split(":")[0] or "quote"
    return Message(
        EventKind.STOP_HIT,
        f"Daybreak: {rule} hit on {symbol} ({strategy})",
        _lines(
            f"Strategy: {strategy}",
            f"Sold {_amount(amount)} {symbol} at {_amount(price)} {quote}",
            f"PnL: {_money(pnl, quote, signed=True)}",
        ),
    )


def risk_limit_message(rule: str, detail: str, tripped: bool = True, strategy: str | None = None) -> Message:
    """A risk protection (``rule``, e.g. daily_max_loss_ratio) started (``tripped``) or stopped blocking entries."""
    scope = f" ({strategy})" if strategy else ""
    return Message(
        EventKind.RISK_LIMIT_TRIPPED if tripped else EventKind.RISK_LIMIT_LIFTED,
        f"Daybreak: risk limit {rule} {'tripped' if tripped else 'lifted'}{scope}",
        f"{'New entries are blocked' if tripped else 'Entries are allowed again'}: {detail}",
    )


def control_message(action: str, who: str, scope: str | None = None, detail: str | None = None) -> Message:
    """An operator command (``action``: pause, resume or flatten) and who gave it (a user, ``"dashboard"``
    ...); ``scope``: a strategy or symbol, None for the whole bot. Raises ``ValueError`` for another action."""
    if action not in ("pause", "resume", "flatten"):
        raise ValueError(f"control action {action!r} is not pause, resume or flatten")
    target = scope or "all strategies"
    return Message(
        EventKind.CONTROL,
        f"Daybreak: {action} ({target}) by {who}",
        _lines(f"{action.capitalize()} of {target}, asked by {who}", detail),
    )


_PROBLEMS = {
    EventKind.STATE_ERROR: "state error",
    EventKind.EXCHANGE_DOWN: "exchange unreachable",
    EventKind.STORAGE_TROUBLE: "storage trouble",
}


def problem_message(kind: EventKind | str, summary: str, detail: str | None = None) -> Message:
    """A fault: ``kind`` is state_error, exchange_down or storage_trouble; ``summary`` one line, ``detail``
    e.g. the exception text. Raises ``ValueError`` for another kind."""
    kind = EventKind(kind)
    if kind not in _PROBLEMS:
        raise ValueError(f"{kind.value} is not a problem kind ({', '.join(_PROBLEMS)})")
    return Message(kind, f"Daybreak: {_PROBLEMS[kind]}", _lines(summary, detail))


def recovered_message(kind: EventKind | str, summary: str) -> Message:
    """The end of a fault reported by :func:`problem_message` (same ``kind``): e.g. the exchange
    answers again. Raises ``ValueError`` for a kind that is not a problem kind."""
    kind = EventKind(kind)
    if kind not in _PROBLEMS:
        raise ValueError(f"{kind.value} is not a problem kind ({', '.join(_PROBLEMS)})")
    return Message(kind, f"Daybreak: {_PROBLEMS[kind]} over", summary)


def reconciliation_message(symbol: str, expected: float, actual: float, detail: str | None = None) -> Message:
    """The exchange holds ``actual`` base units of ``symbol`` where Daybreak's books say ``expected``."""
    base = symbol.partition("/")[0]
    return Message(
        EventKind.RECONCILIATION_MISMATCH,
        f"Daybreak: balance mismatch on {symbol}",
        _lines(
            f"{symbol}: books {_amount(expected)} {base}, exchange {_amount(actual)} {base} "
            f"(difference {_amount(actual - expected)})",
            detail,
        ),
    )


def daily_summary_message(
    day: object,
    pnl: float,
    trades: int,
    win_rate_ratio: float | None,
    open_positions: int,
    limits_used: Mapping[str, float] | None = None,
    quote: str = "USDT",
) -> Message:
    """One trading ``day`` (a date or ``"2024-03-01"``): realized ``pnl`` in ``quote``, closed ``trades``,
    ``win_rate_ratio`` (0-1, None when no trades), positions still open, and ``limits_used``: risk
    limit name -> fraction of it used (0.4 = 40 %)."""
    win = "n/a" if win_rate_ratio is None else f"{win_rate_ratio * 100:.1f} %"
    used = ", ".join(f"{name} {ratio * 100:.0f} %" for name, ratio in (limits_used or {}).items())
    return Message(
        EventKind.DAILY_SUMMARY,
        f"Daybreak: daily summary {day}",
        _lines(
            f"PnL: {_money(pnl, quote, signed=True)}",
            f"Trades: {trades} (win rate {win})",
            f"Open positions: {open_positions}",
            used and f"Limits used: {used}",
        ),
    )


def ping_message() -> Message:
    """A ``test`` alert, for checking the targets through a running :class:`Notifier`."""
    return Message(EventKind.TEST, "Daybreak: test", "Test alert from Daybreak.")
