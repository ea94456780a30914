"""Manual controls for the running bot: ``pause``, ``resume``, ``flatten`` (records of the Controls
table written by ``bot.py control`` or the dashboard), acted on and acknowledged idempotently.

* ``pause`` stops new entries (exits still run); ``resume`` lifts a manual pause (the risk limits
  still apply).
* ``flatten`` pauses entries too, then sells every position the bot holds, once, at market
  (never coins it did not buy): an order whose outcome is unknown is resolved first, exits
  waiting for a retry are given up (:attr:`RunContext.before_flatten`). It is retried every
  cycle until flat, also while the exchange is unreachable, and acknowledged with what really
  closed over every attempt.
* A control still pending when a bot starts that is older than ``control_max_age_seconds``
  waited for a bot that was not running: it is expired with that reason, not executed.

Mixed into :class:`daybreak.drivers.services.RunContext`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from daybreak.core.domain import Control
from daybreak.exchange.errors import ExchangeFatal
from storage.base import StorageError

if TYPE_CHECKING:
    from daybreak.core.config import Config
    from daybreak.core.engine import Engine
    from daybreak.drivers.alerts import Alerts
    from storage.base import Store

log = logging.getLogger("daybreak")


class Controls:
    """The controls part of :class:`~daybreak.drivers.services.RunContext`."""

    if TYPE_CHECKING:  # what RunContext provides (declared for the type checker only)
        config: Config
        store: Store
        engine: Engine
        alerts: Alerts
        before_flatten: Callable[[], None] | None
        _flattened: dict[str, int]
        _inbox: dict[str, tuple[float, list]]

        def _pending_rows(self, kind: str, fetch: Callable[[], Iterable]) -> list: ...
        def error(self, message: str, now_ms: int | None = None) -> None: ...
        def fatal(self, reason: str, now_ms: int) -> None: ...

    # -- controls ------------------------------------------------------------------------------
    def process_controls(self, now_ms: int, prices: dict[str, float]) -> None:
        """Act on pending pause/resume/flatten records and acknowledge them (idempotent). A
        storage failure is logged and leaves them for the next cycle."""
        try:
            self._process_controls(now_ms, prices)
        except StorageError as err:
            log.error("controls not processed this cycle (storage): %s", err)
            self.error(f"controls: {err}", now_ms)

    def _process_controls(self, now_ms: int, prices: dict[str, float]) -> None:
        for ctl in self._pending_rows("controls", lambda: self.store.list_controls(status="pending")):
            status, result = self._apply_control(ctl, now_ms, prices)
            if status is None:
                continue  # flatten waiting for prices / exchange: retried next cycle
            self._inbox["controls"][1].remove(ctl)
            if self.store.ack_control(ctl.control_id, status, result, now_ms):
                log.info("CONTROL %s from %s: %s (%s)", ctl.action, ctl.source, status, result)
                self.alerts.control(ctl, status, result, now_ms)

    def expire_controls(self, wall_ms: int) -> None:
        """At start: expire pending controls older than ``control_max_age_seconds`` (they waited
        for a bot that was not running; acting on them now could surprise the trader)."""
        limit = self.config.control_max_age_seconds * 1000
        for ctl in self.store.list_controls(status="pending"):
            waited = wall_ms - ctl.timestamp
            if waited > limit:
                why = (
                    f"expired: waited {waited / 1000:.0f} s while no bot was running "
                    f"(control_max_age_seconds {self.config.control_max_age_seconds:g})"
                )
                if self.store.ack_control(ctl.control_id, "expired", why, wall_ms):
                    log.warning("CONTROL %s from %s: %s", ctl.action, ctl.source, why)

    def _pause(self, who: str) -> None:
        self.engine.gate.manual_pause = who
        self.store.set_state("manual_pause", who, durable=True)

    def _apply_control(self, ctl: Control, now_ms: int, prices: dict[str, float]):
        gate = self.engine.gate
        if ctl.action == "pause":
            self._pause(ctl.source or "manual")
            return "done", "entries paused"
        if ctl.action == "resume":
            gate.manual_pause = None
            self.store.set_state("manual_pause", "", durable=True)
            blocked = gate.account_block(now_ms)
            if blocked is not None:
                return "done", f"manual pause lifted; entries still blocked by {blocked.rule}: {blocked.message}"
            return "done", "entries resumed"
        if ctl.action == "flatten":
            return self._flatten(ctl, now_ms, prices)
        return "refused", f"unknown action {ctl.action!r}"

    def _flatten(self, ctl: Control, now_ms: int, prices: dict[str, float]):
        """Pause entries, then sell every position the bot holds (never coins it did not buy),
        once: an order in flight is resolved first. Retried each cycle until flat; the result
        lists what really closed, over every attempt."""
        if self.engine.gate.manual_pause is None:
            self._pause(f"flatten ({ctl.source or 'manual'})")
        missing = {p.symbol for p in self.engine.ledger.positions.values() if p.symbol not in prices}
        if missing:
            return None, ""
        if self.before_flatten is not None:
            self.before_flatten()
        since = self._flattened.setdefault(ctl.control_id, now_ms)
        try:
            trades = self.engine.flatten(prices, now_ms, ctl.control_id)
        except ExchangeFatal as err:  # bad key, no permission: state ERROR (exits keep retrying), not a retry loop
            self.fatal(f"flatten: {err}", now_ms)
            return None, ""
        except Exception as err:
            self.error(f"flatten failed, retrying: {err}")
            return None, ""
        if trades is None or self.engine.ledger.positions:
            return None, ""  # an order in flight is resolved first; what is left is sold next cycle
        del self._flattened[ctl.control_id]
        closed = [t for t in self.store.list_trades(since=since - 5_000) if t.exit_reason == "flatten"]
        lines = "; ".join(f"{t.algo} {t.symbol} {t.amount:.8g} @ {t.price:.8g}" for t in closed)
        return "done", f"closed {len(closed)} position(s)" + (f": {lines}" if lines else "") + "; entries paused"
