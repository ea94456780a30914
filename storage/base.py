"""The storage interface shared by the SQLite (embedded) and DynamoDB (production) backends.

Every write is idempotent: the same record written twice is stored once. Backend failures raise
:class:`StorageError`. Records are the typed dataclasses of :mod:`storage.records`; no SQL row or
boto3 item leaves a backend.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable

from daybreak.core.domain import Control, Event, Position, Trade
from daybreak.core.order_record import OrderRecord
from storage.records import Lease, PriceRecord, SignalRecord, StatRecord, StatusRecord


class StorageError(RuntimeError):
    """The store could not complete an operation (after its own retries)."""


class Store(ABC):
    """Abstract store. Thread-safe: the bot writes from its loop and a stats thread."""

    # trades
    @abstractmethod
    def put_trade(self, trade: Trade) -> bool:
        """Store ``trade`` durably; return False (and change nothing) if its id is already stored."""

    @abstractmethod
    def list_trades(self, symbol: str | None = None, algo: str | None = None,
                    since: int | None = None, limit: int | None = None, newest_first: bool = False) -> list[Trade]:
        """Trades in time order (oldest first unless ``newest_first``), optionally filtered."""

    # stats
    @abstractmethod
    def put_stats(self, stats: Iterable[StatRecord]) -> None:
        """Upsert stats by (stat_type, algo)."""

    @abstractmethod
    def list_stats(self) -> list[StatRecord]:
        """All stats."""

    # prices
    @abstractmethod
    def put_prices(self, prices: Iterable[PriceRecord]) -> None:
        """Upsert prices by (symbol, timestamp)."""

    @abstractmethod
    def list_prices(self, symbol: str, since: int | None = None, until: int | None = None,
                    limit: int | None = None) -> list[PriceRecord]:
        """Prices of ``symbol`` in time order; with ``limit``, the newest ``limit`` of them."""

    @abstractmethod
    def price_symbols(self) -> list[str]:
        """Symbols with stored prices."""

    # signals (the external-signal inbox)
    @abstractmethod
    def put_signal(self, signal: SignalRecord) -> bool:
        """Insert a new signal; False if that (signal_id, timestamp) exists already."""

    @abstractmethod
    def list_signals(self, status: str | None = None, until: int | None = None,
                     limit: int | None = None) -> list[SignalRecord]:
        """Signals in time order, optionally only one ``status`` and ``timestamp <= until``."""

    @abstractmethod
    def mark_signal(self, signal_id: str, timestamp: int, status: str, outcome: str, reason: str,
                    processed_at: int) -> bool:
        """Set the outcome of a ``new`` signal. Conditional: returns False and changes nothing if the
        signal is not ``new`` any more (another process took it), so no signal runs twice."""

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
    def list_events(self, kind: str | None = None, rule: str | None = None,
                    limit: int = 200) -> list[Event]:
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

    def flush(self) -> None:
        """Make every accepted write durable (backends with a write queue override this)."""

    def close(self) -> None:
        """Flush and release resources."""
        self.flush()
