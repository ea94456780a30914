"""Orders through ccxt: place, look up by client id, list open ones, cancel, and the account's fills.

Mixed into :class:`daybreak.exchange.client.Exchange` (it needs its ``client``, ``_read``,
``_error``, ``now_ms`` and ``fetch_last_price``). Every order comes back as an
:class:`OrderResult` read from the exchange's own answer: status, filled amount, average price,
fees and the currency they were charged in (from the order, or from its trades when the order
reply carries none, as Binance's ``GET /api/v3/order`` does).

Orders are never retried blindly (ccxt manual, "Error handling"): when ``create_order`` fails in
transit the outcome is unknown, so the order is looked up once by its client id; if the exchange
does not have it (yet) or the look-up fails too, :class:`OrderOutcomeUnknown` says it may exist.
Only the caller can decide when it can no longer exist (Binance refuses a request that arrives
more than ``recvWindow`` after its timestamp: :attr:`OrderApi.recv_window_ms`).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import ccxt

from daybreak.core.order_record import CCXT_STATUS, OrderStatus
from daybreak.exchange.base import ExchangeBase
from daybreak.exchange.errors import (
    ExchangeError,
    ExchangeUnavailable,
    OrderOutcomeUnknown,
)

log = logging.getLogger(__name__)

CLIENT_ID_PREFIX = "db-"
"""Every client order id Daybreak makes starts with this (:func:`daybreak.core.domain.client_order_id`)."""


@dataclass(frozen=True)
class OrderResult:
    """An order as the exchange reports it.

    ``amount``: ordered base amount; ``filled``: the part that executed; ``average``: average
    fill price (quote per base, 0.0 when nothing filled); ``fee``: every fee converted to quote
    currency; ``fee_base``: the part charged in base currency (Binance takes a buy's fee from the
    bought coin unless BNB pays it), so a buy leaves ``filled - fee_base`` in the account;
    ``fee_currency``: the currencies fees were charged in (comma-separated); ``status``: an
    :class:`~daybreak.core.order_record.OrderStatus` (open, filled, canceled, expired, rejected);
    ``price``: the limit price (None for a market order); ``timestamp``: UTC ms of the last fill
    (or of the order).
    """

    client_order_id: str
    exchange_order_id: str
    symbol: str
    side: str
    type: str
    amount: float
    filled: float
    average: float
    fee: float
    status: OrderStatus
    timestamp: int
    fee_base: float = 0.0
    fee_currency: str = ""
    price: float | None = None

    @property
    def received(self) -> float:
        """Base amount a buy left in the account (``filled - fee_base``); a sell's ``filled``."""
        return self.filled - self.fee_base if self.side == "buy" else self.filled


@dataclass(frozen=True)
class AccountFill:
    """One execution of the account (ccxt ``fetch_my_trades``): ``amount`` base, ``price`` quote
    per base, ``fee`` in ``fee_currency``, ``timestamp`` UTC ms; ``client_order_id`` when known."""

    trade_id: str
    order_id: str
    symbol: str
    side: str
    amount: float
    price: float
    fee: float
    fee_currency: str
    timestamp: int


def ccxt_order(type: str, stop_price: float | None = None) -> tuple[str, dict]:
    """(ccxt order type, unified params) of an order record's ``type``: ``limit`` rests good till
    cancelled, ``limit_maker`` is ccxt's ``postOnly`` limit (Binance ``LIMIT_MAKER``: refused,
    -2010, when it would take liquidity), ``stop_loss_limit`` a limit with ccxt's
    ``stopLossPrice`` trigger (Binance ``STOP_LOSS_LIMIT``); other types pass through."""
    if type == "limit":
        return "limit", {"timeInForce": "GTC"}
    if type == "limit_maker":
        return "limit", {"postOnly": True}
    if type == "stop_loss_limit":
        if stop_price is None:
            raise ValueError("stop_price = None: a stop_loss_limit order needs its trigger price")
        return "limit", {"stopLossPrice": stop_price, "timeInForce": "GTC"}
    return type, {}


class OrderApi(ExchangeBase):
    """Order methods of :class:`~daybreak.exchange.client.Exchange`."""

    recv_window_ms: int = 10_000
    """How long after its timestamp the exchange still executes a signed request (ccxt's
    ``options['recvWindow']`` for Binance, read at construction)."""

    def create_order(
        self,
        symbol: str,
        side: str,
        amount: float,
        client_order_id: str,
        type: str = "market",
        price: float | None = None,
        params: dict | None = None,
        stop_price: float | None = None,
    ) -> OrderResult:
        """Place an order of ``amount`` (base) with ``client_order_id`` (ccxt's unified
        ``clientOrderId``: Binance's ``newClientOrderId``, Kraken's ``cl_ord_id``). ``type`` is an
        order record's type (:func:`ccxt_order`: ``market``, ``limit`` (GTC), ``limit_maker``
        (post-only), ``stop_loss_limit`` (trigger ``stop_price``, limit ``price``)) or any type
        ccxt takes; ``params`` extra exchange parameters.

        Never retried: on a network error or timeout the order is looked up by its client id
        once and returned when found; otherwise :class:`OrderOutcomeUnknown`. Raises
        :class:`OrderRejected` (filters, funds; nothing was placed) or :class:`ExchangeFatal`,
        and ValueError for arguments that could never be valid.
        """
        if side not in ("buy", "sell"):
            raise ValueError(f"side = {side!r}: must be 'buy' or 'sell'")
        if not math.isfinite(amount) or amount <= 0:
            raise ValueError(f"amount = {amount!r}: must be a positive number of {symbol.split('/', maxsplit=1)[0]}")
        action = f"{type} {side} {amount:g}"
        kind, extra = ccxt_order(type, stop_price)
        extra.update(params or {}, clientOrderId=client_order_id)
        try:
            order = self.client.create_order(symbol, kind, side, amount, price, extra)
        except ccxt.BaseError as err:
            error = self._error(err, action, symbol, placing_order=True)
            if not isinstance(error, ExchangeUnavailable):
                raise error from err
            log.warning("%s; outcome unknown, looking the order up by client id %s", error, client_order_id)
            try:
                found = self.fetch_order_by_client_id(symbol, client_order_id)
            except ExchangeUnavailable as lookup_err:
                raise OrderOutcomeUnknown(
                    f"{error}; looking up order {client_order_id} failed too ({lookup_err}): "
                    f"it may exist, reconcile by client id",
                    self.id,
                    symbol,
                    action,
                ) from err
            if found is None:
                raise OrderOutcomeUnknown(
                    f"{error}; order {client_order_id} not found on the exchange (yet): "
                    "it may still arrive, look it up again",
                    self.id,
                    symbol,
                    action,
                ) from err
            return found
        return self._order_result(order, symbol, client_order_id)

    def create_market_order(self, symbol: str, side: str, amount: float, client_order_id: str) -> OrderResult:
        """:meth:`create_order` of a market order."""
        return self.create_order(symbol, side, amount, client_order_id)

    def fetch_order_by_client_id(self, symbol: str, client_order_id: str) -> OrderResult | None:
        """The order with ``client_order_id`` (``origClientOrderId`` on Binance), or ``None``
        when the exchange does not know it. Its fees come from the order's trades."""
        order = self._read("fetch_order", symbol, self._fetch_order_raw, symbol, client_order_id)
        return None if order is None else self._order_result(order, symbol, client_order_id)

    def _fetch_order_raw(self, symbol: str, client_order_id: str) -> dict | None:
        try:
            order = self.client.fetch_order(None, symbol, {"origClientOrderId": client_order_id})
        except ccxt.OrderNotFound:
            return None
        return self._with_trade_fees(order, symbol)

    def _with_trade_fees(self, order: dict, symbol: str) -> dict:
        if order.get("fee") is None and not order.get("fees") and (order.get("filled") or 0) > 0 and order.get("id"):
            trades = self.client.fetch_order_trades(order["id"], symbol)
            order = dict(order, fees=[t["fee"] for t in trades if t.get("fee")])
        return order

    def fetch_open_orders(self, symbol: str | None = None) -> list[OrderResult]:
        """Open orders (of ``symbol``, or of every market: one request either way)."""
        orders = self._read("fetch_open_orders", symbol, self.client.fetch_open_orders, symbol)
        return [self._order_result(o, o.get("symbol") or symbol or "", o.get("clientOrderId") or "") for o in orders]

    def cancel_order(self, symbol: str, client_order_id: str) -> OrderResult | None:
        """Cancel the open order ``client_order_id``; its final state (fills so far included), or
        None when the exchange knows no open order of that id. Temporary failures raise
        :class:`ExchangeUnavailable` (the cancel may have happened: look the order up)."""
        try:
            self._read(
                "cancel_order",
                symbol,
                self.client.cancel_order,
                None,
                symbol,
                {"origClientOrderId": client_order_id},
                attempts=1,
            )
        except ExchangeError as err:
            if isinstance(err.__cause__, ccxt.OrderNotFound):
                return None
            raise
        return self.fetch_order_by_client_id(symbol, client_order_id)

    def fetch_my_trades(self, symbol: str, since: int | None = None) -> list[AccountFill]:
        """The account's fills on ``symbol`` from ``since`` (UTC ms) on, oldest first."""
        rows = self._read("fetch_my_trades", symbol, self.client.fetch_my_trades, symbol, since)
        out = []
        for t in rows:
            fee = t.get("fee") or {}
            out.append(
                AccountFill(
                    str(t.get("id") or ""),
                    str(t.get("order") or ""),
                    t.get("symbol") or symbol,
                    t.get("side") or "",
                    float(t.get("amount") or 0.0),
                    float(t.get("price") or 0.0),
                    float(fee.get("cost") or 0.0),
                    fee.get("currency") or "",
                    int(t.get("timestamp") or 0),
                )
            )
        return out

    # -- parsing ----------------------------------------------------------------------------------
    def _order_result(self, order: dict, symbol: str, client_order_id: str) -> OrderResult:
        filled = float(order.get("filled") or 0.0)
        average = order.get("average")
        if average is None:
            cost = order.get("cost")
            average = cost / filled if cost and filled else 0.0
        status = CCXT_STATUS.get(order.get("status") or "", OrderStatus.OPEN)
        symbol = order.get("symbol") or symbol
        fees = order.get("fees") or ([order["fee"]] if order.get("fee") else [])
        return OrderResult(
            client_order_id=order.get("clientOrderId") or client_order_id,
            exchange_order_id=str(order.get("id") or ""),
            symbol=symbol,
            side=order.get("side") or "",
            type=order.get("type") or "",
            amount=float(order.get("amount") or 0.0),
            filled=filled,
            average=float(average),
            fee=self._fee_in_quote(fees, symbol, float(average)),
            status=status,
            timestamp=int(order.get("lastTradeTimestamp") or order.get("timestamp") or self.now_ms()),
            fee_base=sum(float(f.get("cost") or 0.0) for f in fees if f.get("currency") == symbol.partition("/")[0]),
            fee_currency=",".join(sorted({f.get("currency") or "" for f in fees if f.get("cost")})),
            price=float(order["price"]) if order.get("type") != "market" and order.get("price") else None,
        )

    def _fee_in_quote(self, fees: list[dict], symbol: str, price: float) -> float:
        """Sum of ``fees`` in quote currency: a fee in base is converted at ``price``; one in a
        third currency (e.g. BNB) at that currency's last price against the quote."""
        base, _, quote = symbol.partition("/")
        total = 0.0
        for fee in fees:
            cost, currency = fee.get("cost"), fee.get("currency")
            if not cost:
                continue
            if currency in (quote, None):
                total += float(cost)
            elif currency == base:
                total += float(cost) * price
            else:
                try:
                    total += float(cost) * self.fetch_last_price(f"{currency}/{quote}")
                except ExchangeError as err:
                    log.error("%s: fee %s %s not converted to %s: %s", symbol, cost, currency, quote, err)
        return total
