"""Daybreak's exchange errors and the translation of ccxt exceptions into them (by class only).

ccxt's manual: ``NetworkError`` is recoverable, ``ExchangeError`` is not (the same request fails
again); never parse an exception's message. Mapping:

* :class:`ExchangeUnavailable`: ccxt ``NetworkError`` family (network, timeout, HTTP 5xx, 418/429
  rate limits as ``DDoSProtection``/``RateLimitExceeded``, ``OnMaintenance``) and
  ``OperationFailed`` (e.g. an unreadable reply). Carries ``retry_after`` (seconds) when the
  exchange sent a ``Retry-After`` header.
* :class:`OrderRejected` (placing an order only): ``InvalidOrder``, ``InsufficientFunds``,
  ``OperationRejected``, and ``BadRequest`` other than ``BadSymbol``: ccxt classifies Binance's
  ``{"code": -1013, "msg": "Filter failure: NOTIONAL"}`` as ``BadRequest``.
* :class:`ExchangeFatal`: ``AuthenticationError`` (with ``PermissionDenied``,
  ``AccountSuspended``, ``AccountNotEnabled``), ``BadSymbol``, ``RestrictedLocation`` and
  ``ManualInteractionNeeded`` (the account may not trade from here), ``NotSupported``, and any
  other ccxt error. A person has to act: the live bot stops entries and says so (state ``ERROR``).
"""

from __future__ import annotations

from collections.abc import Mapping

import ccxt


class ExchangeError(Exception):
    """Base of Daybreak's exchange errors. ``str()`` names exchange, symbol and what failed."""

    def __init__(self, message: str, exchange: str = "", symbol: str | None = None, action: str = "") -> None:
        super().__init__(message)
        self.exchange, self.symbol, self.action = exchange, symbol, action


class ExchangeUnavailable(ExchangeError):
    """Temporary: network, timeout, HTTP 5xx, rate limit. Try again later."""

    def __init__(
        self,
        message: str,
        exchange: str = "",
        symbol: str | None = None,
        action: str = "",
        *,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, exchange, symbol, action)
        self.retry_after = retry_after


class OrderOutcomeUnknown(ExchangeUnavailable):
    """An order request failed in transit and the look-up by client id failed too: the order may
    exist. Reconcile later with :meth:`Exchange.fetch_order_by_client_id`; never re-send it."""


class OrderRejected(ExchangeError):
    """The exchange refused the order (filters, funds); it was not placed. ``insufficient_funds``:
    refused for want of balance (ccxt ``InsufficientFunds``)."""

    def __init__(
        self,
        message: str,
        exchange: str = "",
        symbol: str | None = None,
        action: str = "",
        *,
        insufficient_funds: bool = False,
    ) -> None:
        super().__init__(message, exchange, symbol, action)
        self.insufficient_funds = insufficient_funds


class ExchangeFatal(ExchangeError):
    """Authentication failure, unknown symbol, unsupported request: needs a person."""


_ORDER_REJECTED = (ccxt.InvalidOrder, ccxt.InsufficientFunds, ccxt.OperationRejected, ccxt.BadRequest)
_FATAL = (
    ccxt.AuthenticationError,
    ccxt.BadSymbol,
    ccxt.NotSupported,
    ccxt.RestrictedLocation,
    ccxt.ManualInteractionNeeded,
)


def translate(
    err: Exception,
    exchange_id: str,
    action: str,
    symbol: str | None = None,
    *,
    placing_order: bool = False,
    response_headers: Mapping[str, str] | None = None,
) -> ExchangeError:
    """Our error for ccxt exception ``err`` raised while doing ``action`` (e.g. ``"fetch_ohlcv"``).

    The message reads ``"<exchange> <symbol>: <action> failed[ (temporary)]: <ccxt class>: <ccxt
    text>"``. ``placing_order`` selects :class:`OrderRejected` for refusals; ``response_headers``
    (ccxt ``last_response_headers``) supply ``Retry-After`` for rate limits.
    """
    where = f"{exchange_id} {symbol}" if symbol else exchange_id
    detail = f"{type(err).__name__}: {err}"
    if isinstance(err, (ccxt.NetworkError, ccxt.OperationFailed)):
        retry_after = None
        if isinstance(err, (ccxt.DDoSProtection, ccxt.RateLimitExceeded)):
            retry_after = _retry_after_seconds(response_headers)
        return ExchangeUnavailable(
            f"{where}: {action} failed (temporary): {detail}", exchange_id, symbol, action, retry_after=retry_after
        )
    if isinstance(err, _FATAL):
        return ExchangeFatal(f"{where}: {action} failed: {detail}", exchange_id, symbol, action)
    if placing_order and isinstance(err, _ORDER_REJECTED):
        return OrderRejected(
            f"{where}: {action} rejected by the exchange: {detail}",
            exchange_id,
            symbol,
            action,
            insufficient_funds=isinstance(err, ccxt.InsufficientFunds),
        )
    return ExchangeFatal(f"{where}: {action} failed: {detail}", exchange_id, symbol, action)


def _retry_after_seconds(headers) -> float | None:
    value = headers.get("Retry-After") if hasattr(headers, "get") else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
