"""Embedded SQLite store (the local default): one file, WAL mode, shared by bot and dashboard.

WAL lets the dashboard read while the bot writes; ``busy_timeout`` absorbs short lock waits.
Each write is one transaction, so a crash never leaves half a record. Table shapes mirror the
DynamoDB design (README "Storage").

Every operation first checks that the file it opened is still the one at ``path``: SQLite keeps
writing into a deleted file without complaint, and everything written there would be lost when
the process ends. A deleted file raises :class:`StorageError` (the bot keeps its writes in its
retry backlog); a file put back at ``path`` is opened again. Disk full, a read-only or corrupt
file and every other SQLite error raise StorageError naming the file.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from daybreak.core.domain import FINAL_SIGNAL_STATUSES, Control, Event, Position, SignalStatus, Trade
from daybreak.core.order_record import OrderRecord
from storage.base import Claim, StorageError, Store, clip
from storage.records import (
    DAILY_STAT_PREFIX,
    JSON_FIELDS,
    ConfigVersionRecord,
    InboxRow,
    Lease,
    PriceRecord,
    SignalRecord,
    StatRecord,
    StatusRecord,
    record_from_dict,
    to_row,
    trade_from_row,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS trades (
  trade_id TEXT PRIMARY KEY, timestamp INTEGER NOT NULL, symbol TEXT NOT NULL, action TEXT NOT NULL,
  amount REAL NOT NULL, price REAL NOT NULL, fee REAL NOT NULL, algo TEXT NOT NULL, pnl REAL,
  order_id TEXT, exit_reason TEXT, mode TEXT, order_type TEXT, ref_price REAL);
CREATE INDEX IF NOT EXISTS trades_by_time ON trades(timestamp);
CREATE INDEX IF NOT EXISTS trades_by_symbol ON trades(symbol, timestamp);
CREATE INDEX IF NOT EXISTS trades_by_algo ON trades(algo, timestamp);
CREATE TABLE IF NOT EXISTS stats (
  stat_type TEXT NOT NULL, algo TEXT NOT NULL, value REAL NOT NULL, date TEXT NOT NULL,
  PRIMARY KEY (stat_type, algo));
CREATE TABLE IF NOT EXISTS prices (
  symbol TEXT NOT NULL, timestamp INTEGER NOT NULL, price REAL NOT NULL, open REAL, high REAL,
  low REAL, volume REAL, expiry INTEGER, PRIMARY KEY (symbol, timestamp)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS signals (
  signal_id TEXT NOT NULL, timestamp INTEGER NOT NULL, symbol TEXT, action TEXT, source TEXT,
  amount REAL, status TEXT NOT NULL DEFAULT 'new', outcome TEXT, reason TEXT, processed_at INTEGER,
  PRIMARY KEY (signal_id, timestamp));
CREATE INDEX IF NOT EXISTS signals_by_status ON signals(status, timestamp);
CREATE TABLE IF NOT EXISTS signal_claims (signal_id TEXT PRIMARY KEY, timestamp INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS positions (
  algo TEXT NOT NULL, symbol TEXT NOT NULL, amount REAL NOT NULL, entry_price REAL NOT NULL,
  entry_timestamp INTEGER NOT NULL, entry_fee REAL NOT NULL, entry_trade_id TEXT NOT NULL,
  high_watermark REAL, stop_price REAL, partial_taken INTEGER, extra TEXT,
  PRIMARY KEY (algo, symbol));
CREATE TABLE IF NOT EXISTS events (
  event_id TEXT PRIMARY KEY, timestamp INTEGER NOT NULL, kind TEXT NOT NULL, message TEXT,
  algo TEXT, symbol TEXT, rule TEXT, data TEXT);
CREATE INDEX IF NOT EXISTS events_by_time ON events(timestamp);
CREATE TABLE IF NOT EXISTS controls (
  control_id TEXT PRIMARY KEY, timestamp INTEGER NOT NULL, action TEXT NOT NULL, source TEXT,
  status TEXT NOT NULL, acked_at INTEGER, result TEXT);
CREATE TABLE IF NOT EXISTS status (
  id INTEGER PRIMARY KEY CHECK (id = 1), timestamp INTEGER, mode TEXT, state TEXT, reason TEXT,
  last_error TEXT, last_error_at INTEGER, detail TEXT);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS config_versions (
  version INTEGER PRIMARY KEY, timestamp INTEGER NOT NULL, author TEXT NOT NULL, document TEXT NOT NULL,
  note TEXT);
CREATE TABLE IF NOT EXISTS orders (
  client_order_id TEXT PRIMARY KEY, algo TEXT NOT NULL, symbol TEXT NOT NULL, side TEXT NOT NULL,
  amount REAL NOT NULL, decided_at INTEGER NOT NULL, created_at INTEGER NOT NULL, status TEXT NOT NULL,
  type TEXT, reason TEXT, mode TEXT, price REAL, stop_price REAL, ref_price REAL, exchange_order_id TEXT,
  filled REAL, average REAL, fee REAL, fee_base REAL, fee_currency TEXT, sent_at INTEGER, updated_at INTEGER,
  filled_at INTEGER, booked_filled REAL, error TEXT, version INTEGER NOT NULL,
  done INTEGER NOT NULL, role TEXT, parent TEXT, list_id TEXT);
CREATE INDEX IF NOT EXISTS orders_open ON orders(done, created_at);
CREATE INDEX IF NOT EXISTS orders_by_time ON orders(created_at);
CREATE TABLE IF NOT EXISTS lease (
  id INTEGER PRIMARY KEY CHECK (id = 1), owner TEXT NOT NULL, host TEXT, pid INTEGER, folder TEXT,
  acquired_at INTEGER, expires_at INTEGER);
"""


_TRADE_COLS = ", ".join(f.name for f in fields(Trade))
_STATUSES = frozenset(s.value for s in SignalStatus)
_FINAL = ", ".join(f"'{s}'" for s in sorted(FINAL_SIGNAL_STATUSES))
INBOX_LIMIT = 1000
"""Most Signals rows one :meth:`SQLiteStore.inbox` read returns (the rest come next time)."""
_PRICE_COLS = ", ".join(f.name for f in fields(PriceRecord))
ADDED_COLUMNS = {
    "trades": {"order_type": "TEXT", "ref_price": "REAL"},
    "orders": {"role": "TEXT", "parent": "TEXT", "list_id": "TEXT"},
}
"""Columns added after a table first shipped: a store created by an older version gets them
(``ALTER TABLE ... ADD COLUMN``, NULL in existing rows) when it is opened."""


def _cols(cls) -> list[str]:
    return [f.name for f in fields(cls)]


def _row(record) -> dict:
    data = to_row(record)
    for k in JSON_FIELDS:
        if k in data:
            data[k] = json.dumps(data[k])
    return data


def _add_columns(db: sqlite3.Connection) -> None:
    """Give a store made by an older version the columns added since (:data:`ADDED_COLUMNS`)."""
    for table, columns in ADDED_COLUMNS.items():
        have = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        for name, kind in columns.items():
            if name not in have:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")


class SQLiteStore(Store):
    """SQLite backend. ``path`` is created (with its folder) when missing."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise StorageError(f"sqlite {self.path}: cannot create its folder: {err.strerror}") from None
        self._db = self._connect()

    def _connect(self) -> sqlite3.Connection:
        if self.path.is_dir():
            raise StorageError(f"sqlite {self.path}: is a directory, not a database file (storage.path)")
        db = None
        try:
            db = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA busy_timeout=30000")
            db.executescript(SCHEMA)
            _add_columns(db)
            self._file = self._file_id()
        except (sqlite3.Error, OSError) as err:
            if db is not None:
                db.close()
            raise StorageError(f"sqlite {self.path}: {err}") from None
        return db

    def _file_id(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_dev, st.st_ino

    def _guard(self) -> None:
        """Raise StorageError when the opened file is no longer at ``path``; reopen one put back."""
        now = self._file_id()
        if now == self._file:
            return
        if now is None:
            raise StorageError(
                f"sqlite {self.path}: the database file was deleted while open; nothing can be stored until it is back"
            )
        old, self._db = self._db, self._connect()
        old.close()

    # -- helpers -----------------------------------------------------------------------------
    def _exec(self, sql: str, params=()) -> int:
        """Run one statement; returns its rowcount."""
        with self._lock:
            self._guard()
            try:
                return self._db.execute(sql, params).rowcount
            except sqlite3.Error as err:
                raise StorageError(f"sqlite {self.path}: {err}") from err

    def _rows(self, sql: str, params=()) -> list[sqlite3.Row]:
        """All rows of one query (fetched under the lock, errors as StorageError)."""
        with self._lock:
            self._guard()
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.Error as err:
                raise StorageError(f"sqlite {self.path}: {err}") from err

    def _many(self, sql: str, rows: list) -> None:
        if not rows:
            return
        self._transaction(lambda db: db.executemany(sql, rows))

    def _transaction(self, work):
        """``work(connection)`` inside BEGIN IMMEDIATE ... COMMIT; rolled back when it raises."""
        with self._lock:
            self._guard()
            try:
                self._db.execute("BEGIN IMMEDIATE")
                result = work(self._db)
                self._db.execute("COMMIT")
                return result
            except BaseException as err:
                if self._db.in_transaction:
                    try:
                        self._db.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass
                if isinstance(err, sqlite3.Error):
                    raise StorageError(f"sqlite {self.path}: {err}") from err
                raise

    def _insert(self, table: str, record, mode: str = "OR IGNORE") -> bool:
        data = _row(record)
        cols = ",".join(data)
        marks = ",".join(f":{c}" for c in data)
        return self._exec(f"INSERT {mode} INTO {table} ({cols}) VALUES ({marks})", data) == 1

    def _select(self, cls, sql: str, params=()) -> list:
        return [record_from_dict(cls, dict(r)) for r in self._rows(sql, params)]

    # -- trades ------------------------------------------------------------------------------
    def put_trade(self, trade: Trade) -> bool:
        return self._insert("trades", trade)

    def get_trade(self, trade_id: str) -> Trade | None:
        rows = self._rows(f"SELECT {_TRADE_COLS} FROM trades WHERE trade_id = ?", (trade_id,))
        return trade_from_row(tuple(rows[0])) if rows else None

    def list_trades(
        self,
        symbol: str | None = None,
        algo: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        newest_first: bool = False,
        until: int | None = None,
    ) -> list[Trade]:
        where: list[str] = []
        params: list[str | int] = []
        for col, val in (("symbol", symbol), ("algo", algo)):
            if val is not None:
                where.append(f"{col} = ?")
                params.append(val)
        if since is not None:
            where.append("timestamp >= ?")
            params.append(since)
        if until is not None:
            where.append("timestamp <= ?")
            params.append(until)
        sql = f"SELECT {_TRADE_COLS} FROM trades" + (" WHERE " + " AND ".join(where) if where else "")
        order = "DESC" if newest_first else "ASC"
        sql += f" ORDER BY timestamp {order}, rowid {order}"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [trade_from_row(row) for row in self._rows(sql, params)]  # columns in field order: no per-row dict

    # -- stats -------------------------------------------------------------------------------
    def put_stats(self, stats: Iterable[StatRecord]) -> None:
        rows = [_row(s) for s in stats]
        self._many(
            "INSERT OR REPLACE INTO stats (stat_type, algo, value, date) VALUES (:stat_type, :algo, :value, :date)",
            rows,
        )

    def list_stats(self, daily: bool = False) -> list[StatRecord]:
        where = "substr(stat_type, 1, ?) " + ("=" if daily else "<>") + " ?"
        rows = self._rows(
            f"SELECT stat_type, algo, value, date FROM stats WHERE {where} ORDER BY algo, stat_type",
            (len(DAILY_STAT_PREFIX), DAILY_STAT_PREFIX),
        )
        return [StatRecord(*row) for row in rows]  # columns in field order: no per-row dict

    # -- prices ------------------------------------------------------------------------------
    def put_prices(self, prices: Iterable[PriceRecord]) -> None:
        rows = [_row(p) for p in prices]
        cols = _cols(PriceRecord)
        self._many(f"INSERT OR REPLACE INTO prices ({','.join(cols)}) VALUES ({','.join(':' + c for c in cols)})", rows)

    def list_prices(
        self, symbol: str, since: int | None = None, until: int | None = None, limit: int | None = None
    ) -> list[PriceRecord]:
        sql = f"SELECT {_PRICE_COLS} FROM prices WHERE symbol = ?"
        params: list[str | int] = [symbol]
        if since is not None:
            sql += " AND timestamp >= ?"
            params.append(since)
        if until is not None:
            sql += " AND timestamp <= ?"
            params.append(until)
        if limit:
            sql = f"SELECT * FROM ({sql} ORDER BY timestamp DESC LIMIT {int(limit)})"
        return [PriceRecord(*row) for row in self._rows(sql + " ORDER BY timestamp", params)]

    def price_symbols(self) -> list[str]:
        return [r[0] for r in self._rows("SELECT DISTINCT symbol FROM prices ORDER BY symbol")]

    # -- signals -----------------------------------------------------------------------------
    def put_signal(self, signal: SignalRecord) -> bool:
        if signal.amount is not None and not math.isfinite(signal.amount):
            raise ValueError(
                f"amount={signal.amount!r} cannot be stored (SQLite keeps NaN as NULL, which would read as 'no amount')"
            )
        return self._insert("signals", signal)

    def list_signals(
        self, status: str | None = None, until: int | None = None, limit: int | None = None
    ) -> list[SignalRecord]:
        sql = "SELECT * FROM signals WHERE 1=1"
        params: list[str | int] = []
        if status is not None:
            sql += " AND status = ?"
            params.append(status)
        if until is not None:
            sql += " AND timestamp <= ?"
            params.append(until)
        sql += " ORDER BY timestamp, signal_id"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return self._select(SignalRecord, sql, params)

    def inbox(self, scan: bool = True) -> list[InboxRow]:
        rows = self._rows(
            f"SELECT * FROM signals WHERE status IS NULL OR status NOT IN ({_FINAL}) "
            f"ORDER BY timestamp, signal_id LIMIT {INBOX_LIMIT}"
        )
        return [InboxRow(r["signal_id"], r["timestamp"], r["status"], dict(r)) for r in rows]

    @staticmethod
    def _status_is(expect: str | None) -> tuple[str, tuple]:
        if expect == SignalStatus.NEW.value:
            return "(status = 'new' OR status IS NULL)", ()
        return "status IS ?", (expect,)

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
        if status not in _STATUSES:
            raise ValueError(f"status={status!r} is not one of {sorted(_STATUSES)}")
        cond, args = self._status_is(expect)
        return (
            self._exec(
                "UPDATE signals SET status = ?, outcome = ?, reason = ?, processed_at = ? "
                f"WHERE signal_id = ? AND timestamp = ? AND {cond}",
                (status, clip(outcome, 200), clip(reason), processed_at, signal_id, timestamp, *args),
            )
            == 1
        )

    def claim_signal(
        self, signal_id: Any, timestamp: Any, expect: str | None, outcome: str, reason: str, processed_at: int
    ) -> tuple[Claim, Any]:
        cond, args = self._status_is(expect)

        def claim(db: sqlite3.Connection):
            db.execute(
                "INSERT OR IGNORE INTO signal_claims (signal_id, timestamp) VALUES (?, ?)", (signal_id, int(timestamp))
            )
            (holder,) = db.execute("SELECT timestamp FROM signal_claims WHERE signal_id = ?", (signal_id,)).fetchone()
            if holder != int(timestamp):
                return Claim.DUPLICATE, holder
            cur = db.execute(
                "UPDATE signals SET status = 'accepted', outcome = ?, reason = ?, processed_at = ? "
                f"WHERE signal_id = ? AND timestamp = ? AND {cond}",
                (clip(outcome, 200), clip(reason), processed_at, signal_id, timestamp, *args),
            )
            if cur.rowcount != 1:
                raise _Taken
            return Claim.CLAIMED, None

        try:
            return self._transaction(claim)
        except _Taken:  # rolled back: the claim row of a row we did not take is not kept
            return Claim.TAKEN, None

    # -- positions ---------------------------------------------------------------------------
    def put_position(self, position: Position, durable: bool = True) -> None:
        self._insert("positions", position, mode="OR REPLACE")  # every write commits

    def delete_position(self, algo: str, symbol: str) -> None:
        self._exec("DELETE FROM positions WHERE algo = ? AND symbol = ?", (algo, symbol))

    def list_positions(self) -> list[Position]:
        rows = self._select(Position, "SELECT * FROM positions ORDER BY algo, symbol")
        return [replace(r, partial_taken=bool(r.partial_taken)) for r in rows]

    # -- events, controls, status, state -----------------------------------------------------
    def put_event(self, event: Event) -> bool:
        return self._insert("events", event)

    def list_events(self, kind: str | None = None, rule: str | None = None, limit: int = 200) -> list[Event]:
        sql, params = "SELECT * FROM events WHERE 1=1", []
        for col, val in (("kind", kind), ("rule", rule)):
            if val is not None:
                sql += f" AND {col} = ?"
                params.append(val)
        return self._select(Event, sql + f" ORDER BY timestamp DESC, rowid DESC LIMIT {int(limit)}", params)

    def put_control(self, control: Control) -> bool:
        return self._insert("controls", control)

    def list_controls(self, status: str | None = None, limit: int = 100) -> list[Control]:
        sql, params = "SELECT * FROM controls", []
        if status is not None:
            sql += " WHERE status = ?"
            params.append(status)
        return self._select(Control, sql + f" ORDER BY timestamp, control_id LIMIT {int(limit)}", params)

    def ack_control(self, control_id: str, status: str, result: str, acked_at: int) -> bool:
        return (
            self._exec(
                "UPDATE controls SET status = ?, result = ?, acked_at = ? WHERE control_id = ? AND status = 'pending'",
                (status, result, acked_at, control_id),
            )
            == 1
        )

    def put_status(self, status: StatusRecord) -> None:
        data = _row(status)
        cols = ",".join(data)
        self._exec(f"INSERT OR REPLACE INTO status (id,{cols}) VALUES (1,{','.join(':' + c for c in data)})", data)

    def get_status(self) -> StatusRecord | None:
        rows = self._rows("SELECT * FROM status WHERE id = 1")
        return record_from_dict(StatusRecord, dict(rows[0])) if rows else None

    def get_state(self, key: str) -> str | None:
        rows = self._rows("SELECT value FROM state WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def set_state(self, key: str, value: str, durable: bool = False) -> None:
        self._exec("INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)", (key, value))

    # -- config versions -----------------------------------------------------------------------
    def put_config_version(self, record: ConfigVersionRecord) -> bool:
        return self._insert("config_versions", record)

    def list_config_versions(self, limit: int = 100) -> list[ConfigVersionRecord]:
        return self._select(
            ConfigVersionRecord, f"SELECT * FROM config_versions ORDER BY version DESC LIMIT {int(limit)}"
        )

    def get_config_version(self, version: int) -> ConfigVersionRecord | None:
        rows = self._select(ConfigVersionRecord, "SELECT * FROM config_versions WHERE version = ?", (int(version),))
        return rows[0] if rows else None

    # -- orders and the lease: committed with a full fsync (synchronous=FULL) ------------------
    def _durably(self, fn):
        """Run ``fn()`` (SQL on ``self._db``) in one IMMEDIATE transaction synced to disk."""
        with self._lock:
            try:
                self._db.execute("PRAGMA synchronous=FULL")
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    out = fn()
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                return out
            except sqlite3.Error as err:
                raise StorageError(f"sqlite {self.path}: {err}") from err
            finally:
                try:
                    self._db.execute("PRAGMA synchronous=NORMAL")
                except sqlite3.Error:
                    pass

    def put_order(self, order: OrderRecord) -> None:
        data = _row(order)
        data["done"] = int(order.done)
        cols = ",".join(data)
        sets = ",".join(f"{c}=excluded.{c}" for c in data if c != "client_order_id")
        sql = (
            f"INSERT INTO orders ({cols}) VALUES ({','.join(':' + c for c in data)}) "
            f"ON CONFLICT(client_order_id) DO UPDATE SET {sets} WHERE excluded.version > orders.version"
        )
        self._durably(lambda: self._db.execute(sql, data))

    def get_order(self, client_order_id: str) -> OrderRecord | None:
        rows = self._select(OrderRecord, "SELECT * FROM orders WHERE client_order_id = ?", (client_order_id,))
        return rows[0] if rows else None

    def list_orders(self, open_only: bool = False, limit: int | None = None) -> list[OrderRecord]:
        if open_only:
            return self._select(OrderRecord, "SELECT * FROM orders WHERE done = 0 ORDER BY created_at, client_order_id")
        sql = "SELECT * FROM orders ORDER BY created_at DESC, client_order_id DESC"
        return self._select(OrderRecord, sql + (f" LIMIT {int(limit)}" if limit else ""))

    def read_lease(self) -> Lease | None:
        rows = self._select(Lease, "SELECT * FROM lease WHERE id = 1")
        return rows[0] if rows else None

    def write_lease(self, lease: Lease, replace_owner: str | None) -> bool:
        def swap() -> bool:
            row = self._db.execute("SELECT owner FROM lease WHERE id = 1").fetchone()
            if (row is None) != (replace_owner is None) or (row is not None and row[0] != replace_owner):
                return False
            data = _row(lease)
            self._db.execute(
                f"INSERT OR REPLACE INTO lease (id,{','.join(data)}) VALUES (1,{','.join(':' + c for c in data)})", data
            )
            return True

        return self._durably(swap)

    def close(self) -> None:
        with self._lock:
            self._db.close()


class _Taken(Exception):
    """Internal: the row to claim was not in the expected status (rolls the claim back)."""
