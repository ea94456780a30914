"""The dashboard shows open orders beside the positions (a protective stop resting on the
exchange named on its position's row too), and each trade's order type and slippage."""
from __future__ import annotations

import pytest

from daybreak.core.domain import Action, ExitReason, Order, Trade
from daybreak.core.order_record import OrderRecord, OrderStatus, Role
from tests.dashboard.helpers import dashboard_app, frame_with


def test_open_orders_are_listed_beside_the_positions(deployment, monkeypatch):
    (pos,) = deployment.store.list_positions()
    stop = Order("db-stop-1", pos.algo, pos.symbol, Action.SELL, pos.amount, deployment.now_ms, ExitReason.STOP_LOSS,
                 "stop_limit", 29_000.5, 29_100.0)
    rec = OrderRecord.intent(stop, deployment.now_ms, role=Role.STOP, parent=pos.entry_trade_id, stop_price=29_100.0)
    deployment.store.put_order(rec.next(deployment.now_ms, status=OrderStatus.OPEN, exchange_order_id="77"))
    done = OrderRecord.intent(Order("db-old-1", pos.algo, pos.symbol, Action.BUY, 0.001, 1), 1)
    deployment.store.put_order(done.next(2, status=OrderStatus.CANCELED))
    at = dashboard_app(deployment.config_path, monkeypatch).run()
    assert not at.exception
    orders = frame_with(at, "role", "trigger", "client_order_id")
    assert orders.to_dict("records") == [{
        "time": orders["time"].iloc[0], "strategy": pos.algo, "symbol": pos.symbol, "side": "sell",
        "type": "stop_loss_limit", "role": "stop", "price": 29_000.5, "trigger": 29_100.0, "amount": pos.amount,
        "filled": 0.0, "status": "open", "client_order_id": "db-stop-1"}], "the cancelled buy is done: not listed"
    positions = frame_with(at, "entry_price", "on_exchange")
    assert positions["on_exchange"].tolist() == ["stop 29100 (limit 29000.5)"]


def test_trades_show_order_type_and_slippage(deployment, monkeypatch):
    deployment.store.put_trade(Trade("lim-1", deployment.now_ms, "BTC/USDT", "buy", 0.001, 49_950.0, 0.02,
                                     "MA_Crossover", order_type="limit", ref_price=50_000.0))
    at = dashboard_app(deployment.config_path, monkeypatch).run()
    trades = frame_with(at, "order_type", "slippage_bps")
    row = trades[trades["trade_id"] == "lim-1"].iloc[0]
    assert row["order_type"] == "limit" and row["slippage_bps"] == pytest.approx(-10.0)   # 0.1 % better
    slip = frame_with(at, "avg_slippage_bps", "slippage_cost")
    assert slip.set_index("algo").loc["MA_Crossover", "fills"] == 1   # the only trade with a reference price
