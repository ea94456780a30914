"""``bot.py orders [--open]``: the stored orders as a trader reads them (table, CSV, JSON)."""

from __future__ import annotations

import csv
import io
import json

from daybreak.core.domain import Action, ExitReason, Order
from daybreak.core.order_record import OrderRecord, OrderStatus, Role
from daybreak.ops.config_file import load_config
from storage import open_store
from tests.helpers import bot, write_config


def _store_orders(cfg):
    store = open_store(load_config(cfg).storage)
    entry = OrderRecord.intent(
        Order("db-entry-1", "MA_Crossover", "BTC/USDT", Action.BUY, 0.002, 1_000, None, "limit", 49_900.0, 50_000.0),
        1_000,
    )
    store.put_order(
        entry.next(2_000, status=OrderStatus.CANCELED, filled=0.001, average=49_900.0, fee=0.05, booked_filled=0.001)
    )
    stop = OrderRecord.intent(
        Order(
            "db-stop-1",
            "MA_Crossover",
            "BTC/USDT",
            Action.SELL,
            0.002,
            3_000,
            ExitReason.STOP_LOSS,
            "stop_limit",
            49_252.5,
            49_500.0,
        ),
        3_000,
        role=Role.STOP,
        parent="db-entry-1",
        stop_price=49_500.0,
    )
    store.put_order(stop.next(3_100, status=OrderStatus.OPEN, exchange_order_id="42"))
    store.close()


def test_orders_open_lists_only_what_is_not_done(tmp_path):
    cfg = write_config(tmp_path)
    _store_orders(cfg)
    rows = json.loads(bot("orders", "--open", "--format", "json", "--config", str(cfg), check=True).stdout)
    assert [
        (r["client_order_id"], r["role"], r["type"], r["stop_price"], r["price"], r["status"], r["done"]) for r in rows
    ] == [("db-stop-1", "stop", "stop_loss_limit", 49_500.0, 49_252.5, "open", False)]
    assert rows[0]["parent"] == "db-entry-1" and rows[0]["exchange_order_id"] == "42"


def test_orders_lists_every_order_newest_first_as_table_and_csv(tmp_path):
    cfg = write_config(tmp_path)
    _store_orders(cfg)
    table = bot("orders", "--config", str(cfg), check=True).stdout
    assert table.index("db-stop-1") < table.index("db-entry-1")
    assert "stop_loss_limit" in table and "open*" in table and "2 order(s)" in table
    rows = list(csv.DictReader(io.StringIO(bot("orders", "--format", "csv", "--config", str(cfg), check=True).stdout)))
    assert [r["client_order_id"] for r in rows] == ["db-stop-1", "db-entry-1"]
    assert rows[1]["filled"] == "0.001" and rows[1]["done"] == "True"


def test_a_bad_limit_is_refused_with_exit_2(tmp_path):
    proc = bot("orders", "--limit", "0", "--config", str(write_config(tmp_path)))
    assert proc.returncode == 2 and "--limit = 0" in proc.stderr
