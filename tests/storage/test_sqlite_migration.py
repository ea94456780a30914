"""A SQLite store made by the version before execution settings opens as it is: the new columns
(trades ``order_type``, ``ref_price``; orders ``role``, ``parent``, ``list_id``) are added, old rows
read back with their defaults, new rows store every field."""

from __future__ import annotations

import sqlite3

from daybreak.core.domain import Action, Order, Trade
from daybreak.core.order_record import OrderRecord, Role
from storage.sqlite import SQLiteStore

OLD_SCHEMA = """
CREATE TABLE trades (trade_id TEXT PRIMARY KEY, timestamp INTEGER NOT NULL, symbol TEXT NOT NULL, action TEXT NOT NULL,
  amount REAL NOT NULL, price REAL NOT NULL, fee REAL NOT NULL, algo TEXT NOT NULL, pnl REAL, order_id TEXT,
  exit_reason TEXT, mode TEXT);
CREATE TABLE orders (client_order_id TEXT PRIMARY KEY, algo TEXT NOT NULL, symbol TEXT NOT NULL, side TEXT NOT NULL,
  amount REAL NOT NULL, decided_at INTEGER NOT NULL, created_at INTEGER NOT NULL, status TEXT NOT NULL,
  type TEXT, reason TEXT, mode TEXT, price REAL, stop_price REAL, ref_price REAL, exchange_order_id TEXT,
  filled REAL, average REAL, fee REAL, fee_base REAL, fee_currency TEXT, sent_at INTEGER, updated_at INTEGER,
  filled_at INTEGER, booked_filled REAL, error TEXT, version INTEGER NOT NULL, done INTEGER NOT NULL);
INSERT INTO trades VALUES ('t-old', 1000, 'BTC/USDT', 'buy', 0.001, 50000.0, 0.05, 'MA_Crossover', NULL, 'o-old',
  NULL, 'live');
INSERT INTO orders VALUES ('o-old', 'MA_Crossover', 'BTC/USDT', 'buy', 0.001, 900, 950, 'filled', 'market', NULL,
  'live', NULL, NULL, 50000.0, '7', 0.001, 50000.0, 0.05, 0.0, 'USDT', 960, 990, 980, 0.001, '', 4, 1);
"""


def test_an_older_store_gains_the_new_columns_and_keeps_its_rows(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.executescript(OLD_SCHEMA)
    store = SQLiteStore(path)
    (old,) = store.list_trades()
    assert (old.trade_id, old.order_type, old.ref_price, old.slippage_bps) == ("t-old", "market", None, None)
    order = store.get_order("o-old")
    assert (order.role, order.parent, order.list_id, order.done) == (Role.ORDER, "", "", True)
    new = Trade(
        "t-new",
        2000,
        "BTC/USDT",
        "sell",
        0.001,
        50100.0,
        0.05,
        "MA_Crossover",
        0.1,
        "o-new",
        "signal",
        "live",
        "maker",
        50000.0,
    )
    assert store.put_trade(new) and store.list_trades()[-1] == new
    part = OrderRecord.intent(
        Order("o-part", "MA_Crossover", "BTC/USDT", Action.BUY, 0.001, 3000), 3000, role=Role.PART, parent="o-old"
    )
    store.put_order(part)
    assert store.get_order("o-part") == part
    store.close()
    assert SQLiteStore(path).get_order("o-part") == part  # opening again changes nothing
