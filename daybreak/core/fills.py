"""The simulated fill model shared by paper trading, replay and backtest.

* A signal decided on candle t's close fills at candle t+1's **open**.
* An exit triggered inside a candle (stop-loss, take-profit, trailing, time stop) fills at the
  trigger price, or at the candle's open when the candle gapped through it.
* A **market** fill is moved against the trader by ``slippage_bps`` basis points:
  buy at ``price * (1 + bps/10_000)``, sell at ``price * (1 - bps/10_000)``; it pays the taker fee.
* A **limit** or **maker** fill (a resting order the price traded through,
  :mod:`daybreak.core.execution`) is at the order's own price, no slippage, and pays the maker fee.
* A **stop-limit** fill (an exchange stop) is a taker fill like a market one, but never below its
  limit: ``max(limit, price * (1 - bps/10_000))`` for a sell.
* The fee is ``rate * notional`` in quote currency, notional = ``amount * fill price``
  (Binance charges spot fees on the traded notional; paper mode books them in quote).
"""

from __future__ import annotations

from daybreak.core.domain import Action, Fill, Order

_RESTING = ("limit", "maker")


def simulate_fill(
    order: Order,
    reference_price: float,
    timestamp: int,
    fee_rate: float,
    slippage_bps: float,
    maker_fee_rate: float | None = None,
) -> Fill:
    """Fill ``order`` in full (module docstring): at ``reference_price`` (open or trigger price)
    after slippage, or at ``order.price`` for a resting kind. ``fee_rate`` is the taker fee,
    ``maker_fee_rate`` the maker fee (None: ``fee_rate``); fees in quote."""
    amount = order.amount
    kind = order.kind
    if kind in _RESTING:
        price = order.price
        assert price is not None, "a resting order carries its limit price"
        rate = fee_rate if maker_fee_rate is None else maker_fee_rate
        return Fill(order, timestamp, price, amount, rate * amount * price)
    move = slippage_bps / 10_000.0
    price = reference_price * (1.0 + move) if order.action is Action.BUY else reference_price * (1.0 - move)
    if kind == "stop_limit" and order.price is not None:
        price = max(price, order.price) if order.action is Action.SELL else min(price, order.price)
    return Fill(order, timestamp, price, amount, fee_rate * amount * price)
