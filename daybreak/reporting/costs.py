"""Execution costs of a run: fees by order type, slippage per strategy, and the comparison with a
market-only run of the same candles and rules.

Per fill (:class:`~daybreak.core.domain.Trade`): ``notional = amount * price`` (quote);
``slippage_bps`` (:attr:`~daybreak.core.domain.Trade.slippage_bps`) against the decision's price,
positive when it cost the trader; ``slippage_cost = (price - ref) * amount`` for a buy and
``(ref - price) * amount`` for a sell (quote, positive = paid). A resting order filled better than
the decision's price has a negative slippage (a price improvement).

The market-only run is the same config with ``execution`` and ``execution_overrides`` back to
their defaults (every order a market order sent by the bot); the caller runs it
(:func:`market_only_config`) and :func:`cost_comparison` sets the two side by side:
``fee_saving = market_fees - fees`` and ``profit_difference = profit - market_profit`` (quote;
positive means this run's execution did better).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable

from daybreak.core.config import Config
from daybreak.core.domain import Action, Trade
from daybreak.core.execution_settings import ExecutionSettings


def market_only_config(config: Config) -> Config | None:
    """``config`` with market-only execution, or None when it is market-only already."""
    if config.execution.market_only and all(e.market_only for e in config.execution_overrides.values()):
        return None
    return config.model_copy(update={"execution": ExecutionSettings(), "execution_overrides": {}})


def slippage_cost(t: Trade) -> float:
    """Quote paid to slippage on fill ``t`` (module docstring); 0.0 without a reference price."""
    if not t.ref_price:
        return 0.0
    move = (t.price - t.ref_price) * t.amount
    return move if t.action is Action.BUY else -move


def fees_by_order_type(trades: Iterable[Trade]) -> list[dict]:
    """One row per order type that filled: ``order_type``, ``fills``, ``notional`` (quote),
    ``fees`` (quote), ``fee_bps`` = fees / notional * 10,000 (the rate paid)."""
    acc: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
    for t in trades:
        row = acc[t.order_type]
        row[0] += 1
        row[1] += t.amount * t.price
        row[2] += t.fee
    return [
        {
            "order_type": kind,
            "fills": int(n),
            "notional": notional,
            "fees": fees,
            "fee_bps": fees / notional * 10_000 if notional else math.nan,
        }
        for kind, (n, notional, fees) in sorted(acc.items())
    ]


def slippage_by_strategy(trades: Iterable[Trade], algos: Iterable[str] = ()) -> list[dict]:
    """One row per strategy (``algos`` listed even without fills): ``algo``, ``fills`` with a
    reference price, ``avg_slippage_bps`` (their mean), ``slippage_cost`` (quote, sum)."""
    acc: dict[str, list[float]] = {a: [0, 0.0, 0.0] for a in algos}
    for t in trades:
        bps = t.slippage_bps
        if bps is None:
            continue
        row = acc.setdefault(t.algo, [0, 0.0, 0.0])
        row[0] += 1
        row[1] += bps
        row[2] += slippage_cost(t)
    return [
        {"algo": algo, "fills": int(n), "avg_slippage_bps": total / n if n else math.nan, "slippage_cost": cost}
        for algo, (n, total, cost) in acc.items()
    ]


def cost_comparison(fees: float, profit: float, trades: int, baseline: dict | None) -> dict:
    """This run's costs beside the market-only run's (``baseline``: its ``fees_paid``,
    ``profit``, ``trades``), or ``None`` values without one (the run is market-only itself)."""
    if baseline is None:
        return {"market_only": None, "fee_saving": math.nan, "profit_difference": math.nan}
    return {
        "market_only": {"fees_paid": baseline["fees_paid"], "profit": baseline["profit"], "trades": baseline["trades"]},
        "fee_saving": baseline["fees_paid"] - fees,
        "profit_difference": profit - baseline["profit"],
    }
