"""Embedded SQLite store (the local default): one file, WAL mode, shared by bot and dashboard.

WAL lets the dashboard read while the bot writes; ``busy_timeout`` absorbs short lock waits.
Each write is one transaction, so a crash never leaves half a record. Table shapes mirror the
DynamoDB design (README "Storage").
"""
from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import fields, replace
from pathlib import Path

from daybreak.core.domain import Control, Event, Position, Trade
from daybreak.core.order_record import OrderRecord
from storage.base import StorageError, Store
from storage.records import (
    JSON_FIELDS,
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
ADDED_COLUMNS = {"trades": {"order_type": "TEXT", "ref_price": "REAL"},
                 "orders": {"role": "TEXT", "parent": "TEXT", "list_id": "TEXT"}}
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


class SQLiteStore(Store):
    """SQLite backend. ``path`` is created (with its folder) when missing."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        try:
            self._db = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=30000")
            self._db.executescript(SCHEMA)
            self._add_columns()
        except sqlite3.Error as err:
            raise StorageError(f"sqlite {self.path}: {err}") from err

    def _add_columns(self) -> None:
        for table, columns in ADDED_COLUMNS.items():
            have = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            for name, kind in columns.items():
                if name not in have:
                    self._db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")

    # -- helpers -----------------------------------------------------------------------------
    def _exec(self, sql: str, params=()) -> sqlite3.Cursor:
        with self._lock:
            try:
                return self._db.execute(sql, params)
            except sqlite3.Error as err:
                raise StorageError(f"sqlite {self.path}: {err}") from err

    def _many(self, sql: str, rows: list) -> None:
        if not rows:
            return
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany(sql, rows)
                self._db.execute("COMMIT")
            except sqlite3.Error as err:
                self._db.execute("ROLLBACK") if self._db.in_transaction else None
                raise StorageError(f"sqlite {self.path}: {err}") from err

    def _insert(self, table: str, record, mode: str = "OR IGNORE") -> bool:
        data = _row(record)
        cols = ",".join(data)
        marks = ",".join(f":{c}" for c in data)
        return self._exec(f"INSERT {mode} INTO {table} ({cols}) VALUES ({marks})", data).rowcount == 1

    def _select(self, cls, sql: str, params=()) -> list:
        return [record_from_dict(cls, dict(r)) for r in self._exec(sql, params).fetchall()]

    # -- trades ------------------------------------------------------------------------------
    def put_trade(self, trade: Trade) -> bool:
        return self._insert("trades", trade)

    def list_trades(self, symbol=None, algo=None, since=None, limit=None, newest_first=False):
        where, params = [], []
        for col, val in (("symbol", symbol), ("algo", algo)):
            if val is not None:
                where.append(f"{col} = ?")
                params.append(val)
        if since is not None:
            where.append("timestamp >= ?")
            params.append(since)
        sql = f"SELECT {_TRADE_COLS} FROM trades" + (" WHERE " + " AND ".join(where) if where else "")
        order = "DESC" if newest_first else "ASC"
        sql += f" ORDER BY timestamp {order}, rowid {order}"
        if limit:
            sql += f" LIMIT {int(limit)}"
        with self._lock:
            try:
                rows = self._db.execute(sql, params).fetchall()
            except sqlite3.Error as err:
                raise StorageError(f"sqlite {self.path}: {err}") from err
        return [trade_from_row(row) for row in rows]  # columns in field order: no per-row dict

    # -- stats -------------------------------------------------------------------------------
    def put_stats(self, stats: Iterable[StatRecord]) -> None:
        rows = [_row(s) for s in stats]
        self._many("INSERT OR REPLACE INTO stats (stat_type, algo, value, date) VALUES "
                   "(:stat_type, :algo, :value, :date)", rows)

    def list_stats(self) -> list[StatRecord]:
        return self._select(StatRecord, "SELECT * FROM stats ORDER BY algo, stat_type")

    # -- prices ------------------------------------------------------------------------------
    def put_prices(self, prices: Iterable[PriceRecord]) -> None:
        rows = [_row(p) for p in prices]
        cols = _cols(PriceRecord)
        self._many(f"INSERT OR REPLACE INTO prices ({','.join(cols)}) VALUES ({','.join(':' + c for c in cols)})", rows)

    def list_prices(self, symbol, since=None, until=None, limit=None):
        sql, params = "SELECT * FROM prices WHERE symbol = ?", [symbol]
        if since is not None:
            sql += " AND timestamp >= ?"
            params.append(since)
        if until is not None:
            sql += " AND timestamp <= ?"
            params.append(until)
        if limit:
            sql = f"SELECT * FROM ({sql} ORDER BY timestamp DESC LIMIT {int(limit)})"
        return self._select(PriceRecord, sql + " ORDER BY timestamp", params)

    def price_symbols(self) -> list[str]:
        return [r[0] for r in self._exec("SELECT DISTINCT symbol FROM prices ORDER BY symbol").fetchall()]

    # -- signals -----------------------------------------------------------------------------
    def put_signal(self, signal: SignalRecord) -> bool:
        return self._insert("signals", signal)

    def list_signals(self, status=None, until=None, limit=None):
        sql, params = "SELECT * FROM signals WHERE 1=1", []
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

    def mark_signal(self, signal_id, timestamp, status, outcome, reason, processed_at) -> bool:
        cur = self._exec(
            "UPDATE signals SET status = ?, outcome = ?, reason = ?, processed_at = ? "
            "WHERE signal_id = ? AND timestamp = ? AND status = 'new'",
            (status, outcome, reason, processed_at, signal_id, timestamp))
        return cur.rowcount == 1

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

    def list_events(self, kind=None, rule=None, limit=200):
        sql, params = "SELECT * FROM events WHERE 1=1", []
        for col, val in (("kind", kind), ("rule", rule)):
            if val is not None:
                sql += f" AND {col} = ?"
                params.append(val)
        return self._select(Event, sql + f" ORDER BY timestamp DESC, rowid DESC LIMIT {int(limit)}", params)

    def put_control(self, control: Control) -> bool:
        return self._insert("controls", control)

    def list_controls(self, status=None, limit=100):
        sql, params = "SELECT * FROM controls", []
        if status is not None:
            sql += " WHERE status = ?"
            params.append(status)
        return self._select(Control, sql + f" ORDER BY timestamp, control_id LIMIT {int(limit)}", params)

    def ack_control(self, control_id, status, result, acked_at) -> bool:
        cur = self._exec("UPDATE controls SET status = ?, result = ?, acked_at = ? "
                         "WHERE control_id = ? AND status = 'pending'", (status, result, acked_at, control_id))
        return cur.rowcount == 1

    def put_status(self, status: StatusRecord) -> None:
        data = _row(status)
        cols = ",".join(data)
        self._exec(f"INSERT OR REPLACE INTO status (id,{cols}) VALUES (1,{','.join(':' + c for c in data)})", data)

    def get_status(self) -> StatusRecord | None:
        row = self._exec("SELECT * FROM status WHERE id = 1").fetchone()
        return record_from_dict(StatusRecord, dict(row)) if row else None

    def get_state(self, key: str) -> str | None:
        row = self._exec("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_state(self, key: str, value: str, durable: bool = False) -> None:
        self._exec("INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)", (key, value))

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
        sql = (f"INSERT INTO orders ({cols}) VALUES ({','.join(':' + c for c in data)}) "
               f"ON CONFLICT(client_order_id) DO UPDATE SET {sets} WHERE excluded.version > orders.version")
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
            self._db.execute(f"INSERT OR REPLACE INTO lease (id,{','.join(data)}) VALUES "
                             f"(1,{','.join(':' + c for c in data)})", data)
            return True
        return self._durably(swap)

    def close(self) -> None:
        with self._lock:
            self._db.close()
