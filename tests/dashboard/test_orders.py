"""The dashboard shows open orders beside the positions (a protective stop resting on the
exchange named on its position's row too), and each trade's order type and slippage."""

from __future__ import annotations

import pytest

from daybreak.core.domain import Action, ExitReason, Order, Trade
from daybreak.core.order_record import OrderRecord, OrderStatus, Role
from tests.dashboard.helpers import dashboard_app, frame_with, open_page


def test_open_orders_are_listed_beside_the_positions(deployment, monkeypatch):
    (pos,) = deployment.store.list_positions()
    stop = Order(
        "db-stop-1",
        pos.algo,
        pos.symbol,
        Action.SELL,
        pos.amount,
        deployment.now_ms,
        ExitReason.STOP_LOSS,
        "stop_limit",
        29_000.5,
        29_100.0,
    )
    rec = OrderRecord.intent(stop, deployment.now_ms, role=Role.STOP, parent=pos.entry_trade_id, stop_price=29_100.0)
    deployment.store.put_order(rec.next(deployment.now_ms, status=OrderStatus.OPEN, exchange_order_id="77"))
    done = OrderRecord.intent(Order("db-old-1", pos.algo, pos.symbol, Action.BUY, 0.001, 1), 1)
    deployment.store.put_order(done.next(2, status=OrderStatus.CANCELED))
    at = dashboard_app(deployment.config_path, monkeypatch).run()
    assert not at.exception
    orders = frame_with(at, "role", "trigger", "client_order_id")
    assert orders.to_dict("records") == [
        {
            "time": orders["time"].iloc[0],
            "strategy": pos.algo,
            "symbol": pos.symbol,
            "side": "sell",
            "type": "stop loss limit",
            "role": "stop",
            "price": "29,000.50",  # the market's precision
            "trigger": "29,100.00",
            "amount": "0.00100",
            "filled": "0.00000",
            "status": "open",
            "client_order_id": "db-stop-1",
        }
    ], "the cancelled buy is done: not listed"


def test_slippage_per_strategy_is_measured_on_fills_with_a_reference_price(deployment, monkeypatch):
    deployment.store.put_trade(
        Trade(
            "lim-1",
            deployment.now_ms,
            "BTC/USDT",
            Action.BUY,
            0.001,
            49_950.0,
            0.02,
            "MA_Crossover",
            order_type="limit",
            ref_price=50_000.0,
        )
    )
    at = open_page(deployment.config_path, monkeypatch, "performance")
    assert not at.exception
    slip = frame_with(at, "avg_slippage_bps", "slippage_cost").set_index("algo")
    assert slip.loc["MA_Crossover", "fills"] == 1  # the only trade with a reference price
    assert slip.loc["MA_Crossover", "avg_slippage_bps"] == pytest.approx(-10.0)  # 0.1 % better than decided
