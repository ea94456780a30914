"""What an API key may do, as the exchange reports it: trading on, withdrawals off is what a bot's
key should have.

Binance and Binance.US report it per key: ``GET /sapi/v1/account/apiRestrictions`` (signed;
``enableSpotAndMarginTrading``, ``enableWithdrawals``; Binance spot API docs, "Get API Key
Permission"). When that endpoint is refused as unknown, the account-wide flags of
``GET /api/v3/account`` (``canTrade``, ``canWithdraw``) are used and the source says so. Other
exchanges: not reported through ccxt (both fields None).
"""

from __future__ import annotations

from dataclasses import dataclass

import ccxt

from daybreak.exchange.client import Exchange
from daybreak.exchange.errors import ExchangeUnavailable, translate

BINANCE_FAMILY = ("binance", "binanceus")


@dataclass(frozen=True)
class KeyPermissions:
    """``trading``/``withdrawals``: True, False, or None when the exchange does not say;
    ``source``: the endpoint the answer came from (or why there is none)."""

    trading: bool | None
    withdrawals: bool | None
    source: str


def key_permissions(exchange: Exchange) -> KeyPermissions:
    """The permissions of the key ``exchange`` signs with. Raises :class:`ExchangeUnavailable`
    (temporary) or :class:`~daybreak.exchange.errors.ExchangeFatal` (e.g. the key is refused)."""
    if exchange.id not in BINANCE_FAMILY:
        return KeyPermissions(None, None, f"{exchange.id} does not report key permissions through ccxt")
    client = exchange.client
    try:
        reply = client.sapiGetAccountApiRestrictions()
        return KeyPermissions(
            bool(reply.get("enableSpotAndMarginTrading")),
            bool(reply.get("enableWithdrawals")),
            "GET /sapi/v1/account/apiRestrictions",
        )
    except ccxt.BaseError as err:
        error = translate(err, exchange.id, "fetch key permissions")
        if isinstance(error, ExchangeUnavailable) or isinstance(err, ccxt.AuthenticationError):
            raise error from err  # temporary, or the key itself is refused: no fallback answers that
    try:
        account = client.privateGetAccount()
    except ccxt.BaseError as err:
        raise translate(err, exchange.id, "fetch account") from err
    return KeyPermissions(
        bool(account.get("canTrade")),
        bool(account.get("canWithdraw")),
        "GET /api/v3/account (account-wide flags: this exchange did not answer per key)",
    )
