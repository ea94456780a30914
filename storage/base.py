"""The storage interface shared by the SQLite (embedded) and DynamoDB (production) backends.

Every write is idempotent: the same record written twice is stored once. Backend failures raise
:class:`StorageError`. Records are the typed dataclasses of :mod:`storage.records`; no SQL row or
boto3 item leaves a backend.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from enum import Enum
from typing import Any

from daybreak.core.domain import Control, Event, Position, Trade
from daybreak.core.order_record import OrderRecord
from storage.records import ConfigVersionRecord, InboxRow, Lease, PriceRecord, SignalRecord, StatRecord, StatusRecord

REASON_MAX_CHARS = 1000
"""Longest ``reason`` / ``outcome`` a store writes on a Signals row (longer text is cut)."""


class StorageError(RuntimeError):
    """The store could not complete an operation (after its own retries). ``code`` is the
    backend's error code when it has one (DynamoDB: ``ValidationException``, ...)."""

    code: str = ""


class Claim(str, Enum):
    """Outcome of :meth:`Store.claim_signal`."""

    CLAIMED = "claimed"  # the row is ``accepted`` and its signal_id is this row's
    TAKEN = "taken"  # the row was not in the expected status any more (another process)
    DUPLICATE = "duplicate"  # another row with this signal_id was claimed before


def clip(text: str, limit: int = REASON_MAX_CHARS) -> str:
    """``text`` cut to ``limit`` characters (with an ellipsis)."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Store(ABC):
    """Abstract store. Thread-safe: the bot writes from its loop and a stats thread."""

    # trades
    @abstractmethod
    def put_trade(self, trade: Trade) -> bool:
        """Store ``trade`` durably; return False (and change nothing) if its id is already stored."""

    @abstractmethod
    def get_trade(self, trade_id: str) -> Trade | None:
        """The stored trade with ``trade_id`` (a strongly consistent read), or None."""

    @abstractmethod
    def list_trades(
        self,
        symbol: str | None = None,
        algo: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        newest_first: bool = False,
        until: int | None = None,
    ) -> list[Trade]:
        """Trades in time order (oldest first unless ``newest_first``), optionally filtered by
        symbol, strategy and time (``since <= timestamp <= until``, ms); at most ``limit``."""

    # stats
    @abstractmethod
    def put_stats(self, stats: Iterable[StatRecord]) -> None:
        """Upsert stats by (stat_type, algo)."""

    @abstractmethod
    def list_stats(self, daily: bool = False) -> list[StatRecord]:
        """The totals (per strategy and ``total``), or with ``daily`` the daily aggregates
        (``stat_type`` starting with :data:`storage.records.DAILY_STAT_PREFIX`), each read apart
        so the totals stay one small read however long the history."""

    # prices
    @abstractmethod
    def put_prices(self, prices: Iterable[PriceRecord]) -> None:
        """Upsert prices by (symbol, timestamp)."""

    @abstractmethod
    def list_prices(
        self, symbol: str, since: int | None = None, until: int | None = None, limit: int | None = None
    ) -> list[PriceRecord]:
        """Prices of ``symbol`` in time order; with ``limit``, the newest ``limit`` of them."""

    @abstractmethod
    def price_symbols(self) -> list[str]:
        """Symbols with stored prices."""

    # signals (the external-signal inbox)
    @abstractmethod
    def put_signal(self, signal: SignalRecord) -> bool:
        """Insert a new signal; False if that (signal_id, timestamp) exists already."""

    @abstractmethod
    def list_signals(
        self, status: str | None = None, until: int | None = None, limit: int | None = None
    ) -> list[SignalRecord]:
        """Signals in time order, optionally only one ``status`` and ``timestamp <= until``."""

    @abstractmethod
    def mark_signal(
        self,
        signal_id: Any,
        timestamp: Any,
        status: str,
        outcome: str,
        reason: str,
        processed_at: int,
        expect: str | None = "new",
    ) -> bool:
        """Set the status of a signal whose status is ``expect`` now (``None``: it has none;
        ``"new"`` also matches a row without status). Conditional: returns False and changes
        nothing if the row is not in that status any more (another process took it), so no signal
        runs twice. ``reason`` and ``outcome`` are cut to :data:`REASON_MAX_CHARS`. A final status
        (:data:`~daybreak.core.domain.FINAL_SIGNAL_STATUSES`) also sets the row's TTL where the
        backend has one. Raises ValueError for a status that is not a SignalStatus."""

    @abstractmethod
    def inbox(self, scan: bool = True) -> list[InboxRow]:
        """Signals rows the bot has still to act on, oldest first: status ``new``, ``accepted``,
        absent, or anything that is not a final status, exactly as stored (:class:`InboxRow`).
        ``scan=False`` may return only the rows with status ``new`` or ``accepted`` (DynamoDB
        reads those from the ``by_status`` index and needs a filtered Scan for the others)."""

    @abstractmethod
    def claim_signal(
        self, signal_id: Any, timestamp: Any, expect: str | None, outcome: str, reason: str, processed_at: int
    ) -> tuple[Claim, Any]:
        """Move a row from status ``expect`` (as :meth:`mark_signal`) to ``accepted``, at most once
        per ``signal_id`` whatever the timestamp: the first row of an id to be claimed holds it for
        good. Returns ``(Claim.CLAIMED, None)``, ``(Claim.TAKEN, None)``, or ``(Claim.DUPLICATE,
        timestamp of the row that holds the id)``. Safe across processes."""

    # positions
    @abstractmethod
    def put_position(self, position: Position, durable: bool = True) -> None:
        """Upsert the open position of (algo, symbol). ``durable``: stored when this returns
        (False: may be queued, for updates a crash may lose, such as a new high-water mark)."""

    @abstractmethod
    def delete_position(self, algo: str, symbol: str) -> None:
        """Forget the position of (algo, symbol) (it was closed); stored when this returns."""

    # orders (live)
    @abstractmethod
    def put_order(self, order: OrderRecord) -> None:
        """Store ``order`` durably (SQLite: committed; DynamoDB: a conditional write the server
        acknowledged) before returning. Never replaces a stored record of a higher version;
        writing the same version again is a no-op. Raises StorageError."""

    @abstractmethod
    def get_order(self, client_order_id: str) -> OrderRecord | None:
        """The order with this client id (strongly consistent), or None."""

    @abstractmethod
    def list_orders(self, open_only: bool = False, limit: int | None = None) -> list[OrderRecord]:
        """``open_only``: every order not :attr:`~OrderRecord.done` (strongly consistent), oldest
        first; else the newest ``limit`` orders, newest first."""

    # the one-bot lease
    @abstractmethod
    def read_lease(self) -> Lease | None:
        """The lease as stored (strongly consistent), or None."""

    @abstractmethod
    def write_lease(self, lease: Lease, replace_owner: str | None) -> bool:
        """Store ``lease`` if no lease is stored (``replace_owner`` None) or the stored one's
        owner is ``replace_owner``; False (nothing changed) otherwise. Durable when True."""

    @abstractmethod
    def list_positions(self) -> list[Position]:
        """All open positions."""

    # events, controls, status, small state
    @abstractmethod
    def put_event(self, event: Event) -> bool:
        """Store an event; False if its id exists already."""

    @abstractmethod
    def list_events(self, kind: str | None = None, rule: str | None = None, limit: int = 200) -> list[Event]:
        """Newest events first."""

    @abstractmethod
    def put_control(self, control: Control) -> bool:
        """Insert a control command; False if its id exists already."""

    @abstractmethod
    def list_controls(self, status: str | None = None, limit: int = 100) -> list[Control]:
        """Controls oldest first (``status`` filters, e.g. ``pending``)."""

    @abstractmethod
    def ack_control(self, control_id: str, status: str, result: str, acked_at: int) -> bool:
        """Acknowledge a ``pending`` control. Conditional like :meth:`mark_signal`."""

    @abstractmethod
    def put_status(self, status: StatusRecord) -> None:
        """Replace the bot status row."""

    @abstractmethod
    def get_status(self) -> StatusRecord | None:
        """The bot status row, or None before the first heartbeat."""

    @abstractmethod
    def get_state(self, key: str) -> str | None:
        """A small piece of bot state (e.g. the per-symbol candle cursor)."""

    @abstractmethod
    def set_state(self, key: str, value: str, durable: bool = False) -> None:
        """Upsert a small piece of bot state; ``durable``: stored when this returns (else it
        may be queued)."""

    # config versions
    @abstractmethod
    def put_config_version(self, record: ConfigVersionRecord) -> bool:
        """Store a config version; False (nothing changed) if that version number exists already,
        so two writers racing for the next number never overwrite each other."""

    @abstractmethod
    def list_config_versions(self, limit: int = 100) -> list[ConfigVersionRecord]:
        """The newest ``limit`` config versions, newest first."""

    @abstractmethod
    def get_config_version(self, version: int) -> ConfigVersionRecord | None:
        """Config version ``version``, or None."""

    def flush(self) -> None:  # noqa: B027 -- a no-op by default, not abstract
        """Make every accepted write durable (backends with a write queue override this)."""

    def close(self) -> None:
        """Flush and release resources."""
        self.flush()
