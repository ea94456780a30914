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

from daybreak.domain import Action, Fill, OrderRequest


def slipped_price(price: float, action: Action, slippage_bps: float) -> float:
    """``price`` moved against the trader by ``slippage_bps`` (quote per base)."""
    move = slippage_bps / 10_000.0
    return price * (1.0 + move) if action is Action.BUY else price * (1.0 - move)


def fee_for(amount: float, price: float, fee_rate: float) -> float:
    """Fee in quote currency: ``fee_rate * amount * price``."""
    return fee_rate * amount * price


def simulate_fill(order: OrderRequest, reference_price: float, timestamp: int,
                  fee_rate: float, slippage_bps: float) -> Fill:
    """Fill ``order`` in full at ``reference_price`` (open or trigger price) after slippage."""
    price = slipped_price(reference_price, order.action, slippage_bps)
    return Fill(order, timestamp, price, order.amount, fee_for(order.amount, price, fee_rate))
