"""Shared pieces of the fake Binance: the error reply and Binance's number formatting."""

from __future__ import annotations

from decimal import Decimal


class BinanceError(Exception):
    """An error reply: HTTP ``status`` with body ``{"code": code, "msg": msg}`` (plus ``"data"``
    when given, as cancelReplace failures carry)."""

    def __init__(self, status: int, code: int, msg: str, data: dict | None = None):
        super().__init__(msg)
        self.status, self.code, self.msg, self.data = status, code, msg, data

    def payload(self) -> dict:
        body = {"code": self.code, "msg": self.msg}
        if self.data is not None:
            body["data"] = self.data
        return body


def d(value: float | Decimal | str) -> Decimal:
    """Exact Decimal of a float's shortest repr, a string or a Decimal."""
    return value if isinstance(value, Decimal) else Decimal(repr(value) if isinstance(value, float) else str(value))


def s(value: float | Decimal) -> str:
    """Binance number text: 8 decimals (``"58720.45000000"``)."""
    return format(d(value), ".8f")
