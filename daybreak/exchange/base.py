"""What the parts of :class:`~daybreak.exchange.client.Exchange` use of each other.

:class:`~daybreak.exchange.account.AccountApi`, :class:`~daybreak.exchange.orders.OrderApi` and
:class:`~daybreak.exchange.resting.RestingOrderApi` are mixed into ``Exchange`` and call its
ccxt ``client``, its retrying ``_read`` and one another's methods. :class:`ExchangeBase` declares
those for the type checker only: at run time it is an empty class (``Exchange`` and the mixins
define everything).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import ccxt

    from daybreak.exchange.errors import ExchangeError
    from daybreak.exchange.orders import OrderResult


class ExchangeBase:
    """Attributes and methods of :class:`~daybreak.exchange.client.Exchange` its mixins use."""

    if TYPE_CHECKING:
        id: str
        client: ccxt.Exchange

        def _read(
            self,
            action: str,
            symbol: str | None,
            fn: Callable[..., Any],
            *args: Any,
            attempts: int | None = None,
            **kwargs: Any,
        ) -> Any: ...

        def _error(
            self, err: Exception, action: str, symbol: str | None, placing_order: bool = False
        ) -> ExchangeError: ...

        def now_ms(self) -> int: ...

        # AccountApi
        def fetch_last_price(self, symbol: str) -> float: ...

        # OrderApi
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
        ) -> OrderResult: ...

        def fetch_order_by_client_id(self, symbol: str, client_order_id: str) -> OrderResult | None: ...

        def cancel_order(self, symbol: str, client_order_id: str) -> OrderResult | None: ...

        def _order_result(self, order: dict, symbol: str, client_order_id: str) -> OrderResult: ...
