"""The simulated fill model shared by paper trading, replay and backtest.

* A signal decided on candle t's close fills at candle t+1's **open**.
* An exit triggered inside a candle (stop-loss, take-profit, trailing, time stop) fills at the
  trigger price, or at the candle's open when the candle gapped through it.
* Every fill is moved against the trader by ``slippage_bps`` basis points:
  buy at ``price * (1 + bps/10_000)``, sell at ``price * (1 - bps/10_000)``.
* The fee is ``fee_rate * notional`` in quote currency, notional = ``amount * fill price``
  (Binance charges spot fees on the traded notional; paper mode books them in quote).
"""
from __future__ import annotations

from daybreak.core.domain import Action, Fill, Order


def simulate_fill(order: Order, reference_price: float, timestamp: int,
                  fee_rate: float, slippage_bps: float) -> Fill:
    """Fill ``order`` in full at ``reference_price`` (open or trigger price) after slippage.

    Price: ``reference_price * (1 + bps / 10_000)`` for a buy, ``* (1 - bps / 10_000)`` for a
    sell (quote per base). Fee: ``fee_rate * amount * price`` (quote)."""
    move = slippage_bps / 10_000.0
    price = reference_price * (1.0 + move) if order.action is Action.BUY else reference_price * (1.0 - move)
    amount = order.amount
    return Fill(order, timestamp, price, amount, fee_rate * amount * price)
