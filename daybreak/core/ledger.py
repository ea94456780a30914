"""Accounting: cash, open positions per (strategy, symbol), realized P&L.

Positions are kept per strategy and symbol, so strategies sharing a symbol never close each
other's positions; the cash balance is shared. Realized P&L of a closing fill:

    pnl = (exit_price - entry_price) * amount - exit_fee - entry_fee * amount / position_amount

i.e. both legs' fees are charged to the closing trade (the entry fee pro rata when a position is
closed in parts). Cash: a buy pays ``cost + fee``; a sell receives ``cost - fee``.
"""
from __future__ import annotations

from collections.abc import Iterable

from daybreak.core.domain import Action, ExitReason, Fill, Mode, Position, Trade

DUST_RATIO = 1e-9
"""A remainder below this fraction of the original amount counts as closed."""


def cash_flow(action: Action, amount: float, price: float, fee: float) -> float:
    """Quote currency into the account from one fill: a buy pays ``amount * price + fee``, a sell
    receives ``amount * price - fee``. The one cash rule of booking and restoring (the backtest's vectorised equity curve is
    pinned to it by tests/test_equity_curve.py)."""
    cost = amount * price
    return cost - fee if action is Action.SELL else -(cost + fee)


class Ledger:
    """Cash and positions. ``cash`` in quote currency."""

    def __init__(self, starting_balance: float, mode: Mode | str = Mode.PAPER):
        self.starting_balance = starting_balance
        self.cash = starting_balance
        self.positions: dict[tuple[str, str], Position] = {}
        self.mode = Mode(mode)

    # -- queries -------------------------------------------------------------------------------
    def position(self, algo: str, symbol: str) -> Position | None:
        return self.positions.get((algo, symbol))

    def open_positions(self, symbol: str | None = None) -> list[Position]:
        return [p for p in self.positions.values() if symbol is None or p.symbol == symbol]

    def equity(self, prices: dict[str, float]) -> float:
        """Cash plus open positions marked at ``prices`` (entry price where a symbol has none)."""
        if not self.positions:
            return self.cash
        return self.cash + sum(p.amount * prices.get(p.symbol, p.entry_price) for p in self.positions.values())

    def exposure(self, prices: dict[str, float]) -> float:
        """Notional of open positions at ``prices``, quote currency."""
        return sum(p.amount * prices.get(p.symbol, p.entry_price) for p in self.positions.values())

    # -- changes -------------------------------------------------------------------------------
    def open(self, fill: Fill, trade_id: str, extra: dict | None = None) -> Trade:
        """Book a buy fill as a new position; returns the trade record."""
        o, price, amount, fee = fill.order, fill.price, fill.amount, fill.fee
        self.cash += cash_flow(Action.BUY, amount, price, fee)
        self.positions[(o.algo, o.symbol)] = Position(
            o.algo, o.symbol, amount, price, fill.timestamp, fee, trade_id, price, None, False,
            {} if extra is None else dict(extra))
        return Trade(trade_id, fill.timestamp, o.symbol, Action.BUY, amount, price,
                           fee, o.algo, None, o.client_order_id, None, self.mode)

    def close(self, fill: Fill, trade_id: str, reason: ExitReason, dust: float = 0.0) -> Trade:
        """Book a sell fill against the position of (algo, symbol); returns the trade record
        with realized ``pnl``. Raises KeyError when there is no such position.

        A remainder of at most ``dust`` (base; the market's minimum amount) cannot be sold: the
        position is closed and the remainder written off at its entry cost in this trade's P&L
        (it stays in the exchange account, outside the bot's books)."""
        o = fill.order
        pos = self.positions[(o.algo, o.symbol)]
        amount = min(fill.amount, pos.amount)
        share = amount / pos.amount
        entry_fee = pos.entry_fee * share
        pnl = (fill.price - pos.entry_price) * amount - fill.fee - entry_fee
        self.cash += cash_flow(Action.SELL, amount, fill.price, fill.fee)
        pos.amount -= amount
        pos.entry_fee -= entry_fee
        if pos.amount <= max(DUST_RATIO * (pos.amount + amount), dust):
            if pos.amount > DUST_RATIO * (pos.amount + amount):
                pnl -= pos.amount * pos.entry_price + pos.entry_fee
            del self.positions[(o.algo, o.symbol)]
        return Trade(trade_id, fill.timestamp, o.symbol, Action.SELL, amount, fill.price,
                           fill.fee, o.algo, pnl, o.client_order_id, reason, self.mode)

    # -- persistence ---------------------------------------------------------------------------
    def restore(self, trades: Iterable[Trade], positions: Iterable[Position]) -> None:
        """Rebuild cash from stored trades and positions from stored position records."""
        cash = self.starting_balance
        for t in trades:  # in booking order: the same float additions as the live run made
            cash += cash_flow(t.action, t.amount, t.price, t.fee)
        self.cash = cash
        self.positions = {(r.algo, r.symbol): r.copy() for r in positions}
