"""Resting orders through ccxt: replace one (cancel-replace), place and cancel an OCO order list.

Mixed into :class:`daybreak.exchange.client.Exchange` (it needs ``client``, ``_read``, ``_error``,
``create_order`` and the parsing of :class:`~daybreak.exchange.orders.OrderApi`).

* :meth:`RestingOrderApi.replace_order`: ccxt's unified ``editOrder`` where the exchange has it
  (Binance: ``POST /api/v3/order/cancelReplace`` with ``cancelReplaceMode=STOP_ON_FAILURE``: the
  new order is placed only if the cancel succeeded); elsewhere a cancel, then a new order.
* OCO (:meth:`create_oco`): Binance.US ``POST /api/v3/order/oco`` (a ``LIMIT_MAKER`` take-profit
  above and a ``STOP_LOSS_LIMIT`` below, one quantity), Binance ``POST /api/v3/orderList/oco``
  (``aboveType`` / ``belowType``); ccxt has no unified call for them, so the raw endpoints are
  used (https://docs.binance.us/#create-new-oco-order-trade). Cancel: ``DELETE /api/v3/orderList``.

Never retried blindly: a request that failed in transit raises
:class:`~daybreak.exchange.errors.ExchangeUnavailable` (the caller looks the client ids up).
"""

from __future__ import annotations

import logging

import ccxt

from daybreak.exchange.base import ExchangeBase
from daybreak.exchange.errors import ExchangeError, ExchangeUnavailable, OrderRejected
from daybreak.exchange.orders import OrderResult, ccxt_order

log = logging.getLogger(__name__)

OCO_EXCHANGES = ("binanceus", "binance")
"""ccxt ids whose OCO order lists :meth:`RestingOrderApi.create_oco` can place."""


class RestingOrderApi(ExchangeBase):
    """Replace, OCO and order-list methods of :class:`~daybreak.exchange.client.Exchange`."""

    def replace_order(
        self,
        symbol: str,
        side: str,
        amount: float,
        client_order_id: str,
        old_client_order_id: str,
        type: str,
        price: float | None,
        stop_price: float | None = None,
    ) -> OrderResult:
        """Cancel the open order ``old_client_order_id`` and place ``client_order_id`` instead
        (module docstring). Returns the new order. Raises :class:`OrderRejected` when the
        exchange answered that the new order was not placed (the old one may be cancelled or
        already done: look it up), ExchangeUnavailable when the outcome is unknown."""
        if not self.client.has.get("editOrder"):
            self.cancel_order(symbol, old_client_order_id)
            return self.create_order(symbol, side, amount, client_order_id, type, price, stop_price=stop_price)
        if type == "stop_loss_limit":  # editOrder's trigger is stopPrice (Binance STOP_LOSS_LIMIT)
            kind, params = "limit", {"timeInForce": "GTC", "stopPrice": stop_price}
        else:
            kind, params = ccxt_order(type)
        params.update(clientOrderId=client_order_id, cancelOrigClientOrderId=old_client_order_id)
        action = f"replace {old_client_order_id} by {type} {side} {amount:g}"
        try:
            order = self.client.edit_order(None, symbol, kind, side, amount, price, params)
        except ccxt.BadResponse as err:
            # Binance -2021 / -2022: the request was processed, one or both parts failed
            found = self.fetch_order_by_client_id(symbol, client_order_id)
            if found is not None:
                return found
            raise OrderRejected(
                f"{self.id} {symbol}: {action} rejected by the exchange: {err.__class__.__name__}: {err}",
                self.id,
                symbol,
                action,
            ) from err
        except ccxt.BaseError as err:
            raise self._error(err, action, symbol, placing_order=True) from err
        return self._order_result(order, symbol, client_order_id)

    def create_oco(
        self,
        symbol: str,
        amount: float,
        list_client_id: str,
        take_profit_client_id: str,
        take_profit_price: float,
        stop_client_id: str,
        stop_price: float,
        stop_limit_price: float,
    ) -> tuple[OrderResult, OrderResult]:
        """Sell ``amount`` (base) as one OCO list: a post-only take-profit at ``take_profit_price``
        and a stop-loss-limit triggered at ``stop_price`` with limit ``stop_limit_price``.
        Returns (take-profit leg, stop leg). Raises OrderRejected, ExchangeFatal,
        ExchangeUnavailable (outcome unknown), or ExchangeFatal for an exchange without OCO."""
        if self.id not in OCO_EXCHANGES:
            raise ExchangeError(f"{self.id}: OCO order lists are not supported here", self.id, symbol, "create_oco")
        market = self.client.market(symbol)
        qty = self.client.amount_to_precision(symbol, amount)

        def px(value: float) -> str:
            return self.client.price_to_precision(symbol, value)

        request = {"symbol": market["id"], "side": "SELL", "quantity": qty, "listClientOrderId": list_client_id}
        if self.id == "binanceus":
            call = self.client.privatePostOrderOco
            request.update(
                price=px(take_profit_price),
                limitClientOrderId=take_profit_client_id,
                stopPrice=px(stop_price),
                stopLimitPrice=px(stop_limit_price),
                stopLimitTimeInForce="GTC",
                stopClientOrderId=stop_client_id,
            )
        else:
            call = self.client.privatePostOrderListOco
            request.update(
                aboveType="LIMIT_MAKER",
                abovePrice=px(take_profit_price),
                aboveClientOrderId=take_profit_client_id,
                belowType="STOP_LOSS_LIMIT",
                belowPrice=px(stop_limit_price),
                belowStopPrice=px(stop_price),
                belowTimeInForce="GTC",
                belowClientOrderId=stop_client_id,
            )
        action = f"oco sell {amount:g} tp {take_profit_price:g} stop {stop_price:g}"
        try:
            reply = call(request)
        except ccxt.BaseError as err:
            raise self._error(err, action, symbol, placing_order=True) from err
        legs = {r.get("clientOrderId"): self.client.parse_order(r, market) for r in reply.get("orderReports") or []}
        tp, stop = legs.get(take_profit_client_id), legs.get(stop_client_id)
        if tp is None or stop is None:
            raise ExchangeUnavailable(
                f"{self.id} {symbol}: {action}: the reply lists no legs {sorted(legs)}", self.id, symbol, action
            )
        return (self._order_result(tp, symbol, take_profit_client_id), self._order_result(stop, symbol, stop_client_id))

    def cancel_order_list(self, symbol: str, list_client_id: str) -> bool:
        """Cancel the OCO list ``list_client_id``; False when the exchange has no open list of that
        id (done already: look its legs up). ExchangeUnavailable: it may have been cancelled."""
        market = self.client.market(symbol)
        try:
            self._read(
                "cancel_order_list",
                symbol,
                self.client.privateDeleteOrderList,
                {"symbol": market["id"], "listClientOrderId": list_client_id},
                attempts=1,
            )
        except ExchangeError as err:
            if isinstance(err.__cause__, (ccxt.OrderNotFound, ccxt.OperationRejected, ccxt.InvalidOrder)):
                return False
            raise
        return True
