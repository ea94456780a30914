"""The simulated brokers and the in-memory sink: :class:`PaperBroker` (paper, replay, backtest
fills by :mod:`daybreak.core.fills`) and :class:`ListSink` (backtest, tests)."""

from __future__ import annotations

from daybreak.core.config import Config
from daybreak.core.domain import Event, Fill, Order, Position, Trade
from daybreak.core.execution import fee_rates
from daybreak.core.fills import simulate_fill
from daybreak.core.markets import MarketLimits

__all__ = ["ListSink", "PaperBroker"]


class PaperBroker:
    """Simulated fills (:mod:`daybreak.core.fills`): taker ``fee_rate``, maker ``maker_fee_rate``
    (None: ``fee_rate``), or per symbol ``rates[symbol] = (taker, maker)`` when given."""

    rests_orders = False

    def __init__(
        self,
        fee_rate: float,
        slippage_bps: float,
        maker_fee_rate: float | None = None,
        rates: dict[str, tuple[float, float]] | None = None,
    ):
        self.fee_rate, self.slippage_bps, self.maker_fee_rate = fee_rate, slippage_bps, maker_fee_rate
        self.rates = rates or {}

    @classmethod
    def for_config(cls, config: Config, markets: dict[str, MarketLimits]) -> PaperBroker:
        """The paper broker of ``config`` on ``markets`` (rates: :func:`~daybreak.core.execution.fee_rates`)."""
        rates = {s: fee_rates(config, m) for s, m in markets.items()}
        taker, maker = fee_rates(config, None)
        return cls(taker, config.paper.slippage_bps, maker, rates)

    def execute(self, order: Order, reference_price: float, timestamp: int) -> Fill:
        taker, maker = self.rates.get(order.symbol) or (self.fee_rate, self.maker_fee_rate)
        return simulate_fill(order, reference_price, timestamp, taker, self.slippage_bps, maker)


class ListSink:
    """Collects outputs in memory (backtest, tests)."""

    def __init__(self) -> None:
        self.trades: list[Trade] = []
        self.rejections: list[Event] = []

    def trade(self, trade: Trade) -> None:
        self.trades.append(trade)

    def position(self, key: tuple[str, str], position: Position | None) -> None:
        pass

    def rejection(self, event: Event) -> None:
        self.rejections.append(event)

    def booked(self, trade: Trade) -> None:
        pass
