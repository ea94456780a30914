"""Signed trading endpoints of the fake Binance (mixed into BinanceState), in Binance's JSON shapes.

``POST /api/v3/order``, ``GET`` / ``DELETE /api/v3/order``, ``GET`` / ``DELETE /api/v3/openOrders``,
``POST /api/v3/order/oco`` (the older OCO, the one Binance.US has), ``POST /api/v3/orderList/oco``,
``DELETE /api/v3/orderList``, ``POST /api/v3/order/cancelReplace``, ``GET /api/v3/myTrades``,
``GET /api/v3/account``. Execution rules: :mod:`tests.fakes.binance_orders`.
"""

from __future__ import annotations

from decimal import Decimal

from tests.fakes.binance_errors import BinanceError, s
from tests.fakes.binance_matching import PriceWalk
from tests.fakes.binance_orders import OPEN, STOPS, _mandatory

_INSUFFICIENT = "Account has insufficient balance for requested action."
_TP_GROUP = ("LIMIT_MAKER", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT")
_SL_GROUP = ("STOP_LOSS", "STOP_LOSS_LIMIT")


def _public(order: dict) -> dict:
    return {k: v for k, v in order.items() if not k.startswith("_")}


class TradingEndpoints(PriceWalk):
    """The endpoint methods: each takes the request params and returns Binance's reply."""

    # -- replies ------------------------------------------------------------------------------------
    def _order_reply(self, order: dict, resp_type: str | None) -> dict:
        resp_type = resp_type or ("FULL" if order["type"] in ("MARKET", "LIMIT") else "ACK")
        ack = {
            "symbol": order["symbol"],
            "orderId": order["orderId"],
            "orderListId": order["orderListId"],
            "clientOrderId": order["clientOrderId"],
            "transactTime": order["_time"],
        }
        if resp_type == "ACK":
            return ack
        reply = dict(_public(order), transactTime=order["_time"])
        reply.setdefault("origQuoteOrderQty", "0.00000000")
        if resp_type == "FULL":
            reply["fills"] = list(order["_fills"])
        return reply

    def _query_reply(self, order: dict) -> dict:
        reply = _public(order)
        reply.update(
            {
                "stopPrice": order.get("stopPrice", "0.00000000"),
                "icebergQty": "0.00000000",
                "time": order["_time"],
                "updateTime": order["_update"],
                "isWorking": order["_triggered"],
                "origQuoteOrderQty": order.get("origQuoteOrderQty", "0.00000000"),
            }
        )
        return reply

    def _cancel_reply(self, order: dict, cancel_id: str) -> dict:
        reply = {
            "symbol": order["symbol"],
            "origClientOrderId": order["clientOrderId"],
            "orderId": order["orderId"],
            "orderListId": order["orderListId"],
            "clientOrderId": cancel_id,
            "transactTime": self.now(),
        }
        reply.update({k: order[k] for k in ("price", "origQty", "executedQty") if k in order})
        reply.update(
            {
                "origQuoteOrderQty": order.get("origQuoteOrderQty", "0.00000000"),
                "cummulativeQuoteQty": order["cummulativeQuoteQty"],
                "status": order["status"],
                "timeInForce": order["timeInForce"],
                "type": order["type"],
                "side": order["side"],
            }
        )
        if "stopPrice" in order:
            reply["stopPrice"] = order["stopPrice"]
        reply["selfTradePreventionMode"] = "NONE"
        return reply

    def _list_reply(self, list_id: int, reports: list[dict]) -> dict:
        legs = self._list_legs(list_id)
        return dict(
            self.order_lists[list_id],
            orders=[
                {"symbol": o["symbol"], "orderId": o["orderId"], "clientOrderId": o["clientOrderId"]} for o in legs
            ],
            orderReports=reports,
        )

    # -- placing ------------------------------------------------------------------------------------
    def new_order(self, p: dict[str, str]) -> dict:
        order = self._build(p)
        bid, ask = self.book(order["symbol"])
        buy = order["side"] == "BUY"
        if order["type"] == "MARKET":
            need = order["_qty"] * ask if buy else order["_qty"]
            if self._free.get(order["_lock"][0], Decimal(0)) < need:
                raise BinanceError(400, -2010, _INSUFFICIENT)
        else:
            if order["type"] == "LIMIT_MAKER" and (order["_price"] >= ask if buy else order["_price"] <= bid):
                raise BinanceError(400, -2010, "Order would immediately match and take.")
            self._reserve(order, self._lock_need(order))
        self._register(order)
        self._partial = None
        self._execute(order)
        return self._order_reply(order, p.get("newOrderRespType"))

    def _find(
        self,
        market_id: str,
        order_id: str | None,
        client_id: str | None,
        code: int,
        msg: str,
        names: tuple[str, str] = ("origClientOrderId", "orderId"),
    ) -> dict:
        if not order_id and not client_id:
            raise BinanceError(
                400, -1102, f"Param '{names[0]}' or '{names[1]}' must be sent, but both were empty/null!"
            )
        if order_id:
            order = next((o for o in self.orders.values() if str(o["orderId"]) == str(order_id)), None)
            if order is not None and client_id and order["clientOrderId"] != client_id:
                order = None
        else:
            order = self.orders.get(client_id)
        if order is None or order["symbol"] != market_id:
            raise BinanceError(400, code, msg)
        return order

    def query_order(self, p: dict[str, str]) -> dict:
        order = self._find(
            self._market(p), p.get("orderId"), p.get("origClientOrderId"), -2013, "Order does not exist."
        )
        return self._query_reply(order)

    def open_orders(self, p: dict[str, str]) -> list:
        market_id = self._market(p) if "symbol" in p else None
        return [
            self._query_reply(o)
            for o in sorted(self._open.values(), key=lambda o: o["orderId"])
            if market_id is None or o["symbol"] == market_id
        ]

    # -- cancelling ---------------------------------------------------------------------------------
    def _cancel(self, order: dict, cancel_id: str | None) -> dict:
        """Cancel ``order`` (an OCO leg cancels its whole list); Binance's cancel reply."""
        cancel_id = cancel_id or f"fake-cancel-{order['orderId']}"
        legs = self._list_legs(order["orderListId"]) if order["orderListId"] != -1 else [order]
        for leg in legs:
            if leg["status"] in OPEN:
                self._finish(leg, "CANCELED")
        return self._cancel_reply(order, cancel_id)

    def cancel_order(self, p: dict[str, str]) -> dict:
        order = self._find(self._market(p), p.get("orderId"), p.get("origClientOrderId"), -2011, "Unknown order sent.")
        if order["status"] not in OPEN:
            raise BinanceError(400, -2011, "Unknown order sent.")
        return self._cancel(order, p.get("newClientOrderId"))

    def cancel_open_orders(self, p: dict[str, str]) -> list:
        market_id = self._market(p)
        orders = sorted((o for o in self._open.values() if o["symbol"] == market_id), key=lambda o: o["orderId"])
        if not orders:
            raise BinanceError(400, -2011, "Unknown order sent.")
        out, lists = [], set()
        for order in orders:
            if order["orderListId"] == -1:
                out.append(self._cancel(order, None))
            elif order["orderListId"] not in lists:
                lists.add(order["orderListId"])
                out.append(self.cancel_order_list({"symbol": market_id, "orderListId": str(order["orderListId"])}))
        return out

    def cancel_replace(self, p: dict[str, str]) -> dict:
        """Cancel an order, then place a new one (``cancelReplaceMode`` STOP_ON_FAILURE or
        ALLOW_FAILURE); HTTP 409 -2021 / 400 -2022 with ``data`` when a part failed."""
        market_id = self._market(p)
        mode = p.get("cancelReplaceMode")
        if mode not in ("STOP_ON_FAILURE", "ALLOW_FAILURE"):
            raise _mandatory("cancelReplaceMode")
        order_id, client_id = p.get("cancelOrderId"), p.get("cancelOrigClientOrderId")
        if not order_id and not client_id:
            raise BinanceError(
                400, -1102, "Param 'cancelOrigClientOrderId' or 'cancelOrderId' must be sent, but both were empty/null!"
            )
        try:
            old = self._find(market_id, order_id, client_id, -2011, "Unknown order sent.")
            if old["status"] not in OPEN:
                raise BinanceError(400, -2011, "Unknown order sent.")
            cancel, cancel_ok = self._cancel(old, p.get("cancelNewClientOrderId")), True
        except BinanceError as err:
            cancel, cancel_ok = err.payload(), False
        data = {
            "cancelResult": "SUCCESS" if cancel_ok else "FAILURE",
            "newOrderResult": "NOT_ATTEMPTED",
            "cancelResponse": cancel,
            "newOrderResponse": None,
        }
        if not cancel_ok and mode == "STOP_ON_FAILURE":
            raise BinanceError(400, -2022, "Order cancel-replace failed.", data)
        new_p = {k: v for k, v in p.items() if not k.startswith("cancel")}
        try:
            data["newOrderResponse"], new_ok = self.new_order(new_p), True
        except BinanceError as err:
            data["newOrderResponse"], new_ok = err.payload(), False
        data["newOrderResult"] = "SUCCESS" if new_ok else "FAILURE"
        if cancel_ok and new_ok:
            return data
        if cancel_ok or new_ok:
            raise BinanceError(409, -2021, "Order cancel-replace partially failed.", data)
        raise BinanceError(400, -2022, "Order cancel-replace failed.", data)

    # -- OCO ------------------------------------------------------------------------------------------
    def new_oco(self, p: dict[str, str]) -> dict:
        """``POST /api/v3/order/oco``: a LIMIT_MAKER at ``price`` and a STOP_LOSS(_LIMIT) at
        ``stopPrice`` (``stopLimitPrice`` + ``stopLimitTimeInForce`` make it a STOP_LOSS_LIMIT)."""
        common = {"symbol": p.get("symbol", ""), "side": p.get("side", ""), "quantity": p.get("quantity", "")}
        limit = dict(
            common, type="LIMIT_MAKER", price=p.get("price", ""), newClientOrderId=p.get("limitClientOrderId", "")
        )
        stop = dict(
            common, type="STOP_LOSS", stopPrice=p.get("stopPrice", ""), newClientOrderId=p.get("stopClientOrderId", "")
        )
        if p.get("stopLimitPrice"):
            if not p.get("stopLimitTimeInForce"):
                raise _mandatory("stopLimitTimeInForce")
            stop.update(type="STOP_LOSS_LIMIT", price=p["stopLimitPrice"], timeInForce=p["stopLimitTimeInForce"])
        above, below = (limit, stop) if p.get("side") == "SELL" else (stop, limit)
        return self._place_list(p, above, below)

    def new_order_list_oco(self, p: dict[str, str]) -> dict:
        """``POST /api/v3/orderList/oco``: ``above*`` and ``below*`` legs."""
        legs = []
        for pos in ("above", "below"):
            leg = {
                "symbol": p.get("symbol", ""),
                "side": p.get("side", ""),
                "quantity": p.get("quantity", ""),
                "type": p.get(pos + "Type", ""),
                "price": p.get(pos + "Price", ""),
                "stopPrice": p.get(pos + "StopPrice", ""),
                "timeInForce": p.get(pos + "TimeInForce", ""),
                "newClientOrderId": p.get(pos + "ClientOrderId", ""),
            }
            legs.append({k: v for k, v in leg.items() if v})
        kinds = {legs[0].get("type"), legs[1].get("type")}
        if not (kinds & set(_TP_GROUP) and kinds & set(_SL_GROUP)):
            raise BinanceError(400, -1014, "Unsupported order combination.")
        return self._place_list(p, legs[0], legs[1])

    def _place_list(self, p: dict[str, str], above: dict, below: dict) -> dict:
        market_id = self._market(p)
        list_id = self._ids["list"] + 1
        n = self._ids["order"]
        for i, leg in enumerate((above, below)):
            leg["newClientOrderId"] = leg.get("newClientOrderId") or f"fake-{n + 1 + i}"
        if above["newClientOrderId"] == below["newClientOrderId"]:
            raise BinanceError(400, -2010, "Duplicate order sent.")
        up, down = self._build(above, list_id), self._build(below, list_id)

        def level(o):
            return o["_stop"] if o["_stop"] is not None else o["_price"]

        if not level(up) > self.last_price(market_id) > level(down):
            raise BinanceError(400, -2010, "The relationship of the prices for the orders is not correct.")
        legs = sorted((up, down), key=lambda o: o["type"] not in STOPS or o["type"].startswith("TAKE"))
        self._reserve(legs[0], max(self._lock_need(o) for o in legs))
        self._ids["list"] = list_id
        for leg in legs:
            self._register(leg)
        self._partial = None
        self.order_lists[list_id] = {
            "orderListId": list_id,
            "contingencyType": "OCO",
            "listStatusType": "EXEC_STARTED",
            "listOrderStatus": "EXECUTING",
            "listClientOrderId": p.get("listClientOrderId") or f"fake-list-{list_id}",
            "transactionTime": legs[0]["_time"],
            "symbol": market_id,
        }
        return self._list_reply(list_id, [self._order_reply(o, "RESULT") for o in legs])

    def cancel_order_list(self, p: dict[str, str]) -> dict:
        market_id = self._market(p)
        list_id, list_cid = p.get("orderListId"), p.get("listClientOrderId")
        if not list_id and not list_cid:
            raise BinanceError(
                400, -1102, "Param 'listClientOrderId' or 'orderListId' must be sent, but both were empty/null!"
            )
        entry = next(
            (
                e
                for e in self.order_lists.values()
                if e["symbol"] == market_id
                and (str(e["orderListId"]) == list_id if list_id else e["listClientOrderId"] == list_cid)
            ),
            None,
        )
        legs = self._list_legs(entry["orderListId"]) if entry else []
        if not any(o["status"] in OPEN for o in legs):
            raise BinanceError(400, -2011, "Unknown order list sent.")
        for leg in legs:
            if leg["status"] in OPEN:
                self._finish(leg, "CANCELED")
        return self._list_reply(
            entry["orderListId"], [self._cancel_reply(o, f"fake-cancel-{o['orderId']}") for o in legs]
        )

    # -- account --------------------------------------------------------------------------------------
    def my_trades(self, p: dict[str, str]) -> list:
        market_id = self._market(p)
        out = []
        for f in self._fills:
            order = self.orders[f.client_order_id]
            if order["symbol"] != market_id or ("orderId" in p and str(f.order_id) != p["orderId"]):
                continue
            out.append(
                {
                    "symbol": market_id,
                    "id": f.trade_id,
                    "orderId": f.order_id,
                    "orderListId": order["orderListId"],
                    "price": s(f.price),
                    "qty": s(f.amount),
                    "quoteQty": s(f.quote),
                    "commission": s(f.fee),
                    "commissionAsset": f.fee_asset,
                    "time": f.time,
                    "isBuyer": f.side == "buy",
                    "isMaker": f.maker,
                    "isBestMatch": True,
                }
            )
        return out[-int(p.get("limit") or 500) :]

    def api_restrictions(self) -> dict:
        """Binance's "Get API Key Permission" reply (field set as documented, 2024); tests flip
        ``key_permissions``."""
        return {
            "ipRestrict": False,
            "createTime": 1698645219000,
            "enableReading": True,
            "enableInternalTransfer": False,
            "enableMargin": False,
            "enableFutures": False,
            "permitsUniversalTransfer": False,
            "enableVanillaOptions": False,
            "enableFixApiTrade": False,
            "enableFixReadOnly": False,
            "enablePortfolioMarginTrading": False,
            **self.key_permissions,
        }

    def account(self) -> dict:
        return {
            "makerCommission": int(self.maker_fee * 10_000),
            "takerCommission": int(self.taker_fee * 10_000),
            "buyerCommission": 0,
            "sellerCommission": 0,
            "commissionRates": {"maker": s(self.maker_fee), "taker": s(self.taker_fee), "buyer": s(0), "seller": s(0)},
            "canTrade": True,
            "canWithdraw": True,
            "canDeposit": True,
            "updateTime": self.now(),
            "accountType": "SPOT",
            "permissions": ["SPOT"],
            "balances": [
                {"asset": a, "free": s(v["free"]), "locked": s(v["locked"])} for a, v in self.balances().items()
            ],
        }
