"""Accounting: cash, open positions per (strategy, symbol), each symbol's dust, realized P&L.

Positions are kept per strategy and symbol, so strategies sharing a symbol never close each
other's positions; the cash balance is shared. Realized P&L of a closing fill:

    pnl = (exit_price - entry_price) * amount - exit_fee - entry_fee * amount / position_amount

i.e. both legs' fees are charged to the closing trade (the entry fee pro rata when a position is
closed in parts). Cash: a buy pays ``cost + fee``; a sell receives ``cost - fee``.

Dust: what is left of a position that can no longer be sold on its own
(:meth:`~daybreak.core.markets.MarketLimits.is_dust`; e.g. Binance takes a buy's fee in the
bought coin, so a 0.001 BTC buy leaves 0.000999 and only 0.00099 can be sold). The closing trade
charges its whole entry cost, as the exchange's fills do (quote paid for the buy, received for
the sell); the remainder stays in the account as the symbol's dust, carried at zero cost, valued
in equity, and sold with a later full exit of that symbol once position plus dust make a
sellable amount (its proceeds count in that trade's P&L). So the P&L of all trades is the quote
the fills moved, and dust = base bought - base sold - base in open positions, which is how
:meth:`Ledger.restore` rebuilds it.

In paper mode the cash is the starting balance plus the fills; in live mode the driver sets it
from the exchange's balance (:meth:`Ledger.set_account`) and bookings move it until the next sync.
"""

from __future__ import annotations

from collections.abc import Iterable

from daybreak.core.domain import Action, ExitReason, Fill, Mode, Position, Trade
from daybreak.core.markets import MarketLimits, default_limits

LAST_ORDER = "last_order"
"""``Position.extra`` key: the client order id of the last fill applied to the position (a
restarted bot can tell whether a fill's position write was stored)."""
_ZERO = 1e-12


def cash_flow(action: Action, amount: float, price: float, fee: float) -> float:
    """Quote currency into the account from one fill: a buy pays ``amount * price + fee``, a sell
    receives ``amount * price - fee``. The one cash rule of booking and restoring (the backtest's vectorised equity curve is
    pinned to it by tests/test_equity_curve.py)."""
    cost = amount * price
    return cost - fee if action is Action.SELL else -(cost + fee)


class Ledger:
    """Cash, positions and dust. ``cash`` and ``locked`` in quote currency, dust in base."""

    def __init__(self, starting_balance: float, mode: Mode | str = Mode.PAPER):
        self.starting_balance = starting_balance
        self.cash = starting_balance
        self.locked = 0.0
        self.positions: dict[tuple[str, str], Position] = {}
        self.dust: dict[str, float] = {}
        self.mode = Mode(mode)

    # -- queries -------------------------------------------------------------------------------
    def position(self, algo: str, symbol: str) -> Position | None:
        return self.positions.get((algo, symbol))

    def open_positions(self, symbol: str | None = None) -> list[Position]:
        return [p for p in self.positions.values() if symbol is None or p.symbol == symbol]

    @property
    def available(self) -> float:
        """Quote currency free for a new order: cash minus what open orders lock (live)."""
        return self.cash - self.locked

    def held(self, symbol: str) -> float:
        """Base amount the bot holds on ``symbol``: its positions plus the symbol's dust."""
        return sum(p.amount for p in self.positions.values() if p.symbol == symbol) + self.dust.get(symbol, 0.0)

    def equity(self, prices: dict[str, float]) -> float:
        """Cash plus open positions marked at ``prices`` (entry price where a symbol has none),
        plus dust at ``prices`` (dust of a symbol without a price counts 0)."""
        if not self.positions and not self.dust:
            return self.cash
        return self.cash + self.exposure(prices) + sum(a * prices.get(s, 0.0) for s, a in self.dust.items())

    def exposure(self, prices: dict[str, float]) -> float:
        """Notional of open positions at ``prices``, quote currency."""
        return sum(p.amount * prices.get(p.symbol, p.entry_price) for p in self.positions.values())

    # -- changes -------------------------------------------------------------------------------
    def set_account(self, cash: float, locked: float = 0.0) -> None:
        """Live: the exchange's quote balance, ``cash`` = free + locked, ``locked`` in orders."""
        self.cash, self.locked = cash, locked

    def open(self, fill: Fill, trade_id: str, extra: dict | None = None) -> Trade:
        """Book a buy fill as a new position; returns the trade record."""
        o, price, amount, fee = fill.order, fill.price, fill.amount, fill.fee
        self.cash += cash_flow(o.action, amount, price, fee)
        info = {} if extra is None else dict(extra)
        info[LAST_ORDER] = o.client_order_id
        self.positions[(o.algo, o.symbol)] = Position(
            o.algo, o.symbol, amount, price, fill.timestamp, fee, trade_id, price, None, False, info
        )
        return Trade(
            trade_id,
            fill.timestamp,
            o.symbol,
            o.action,
            amount,
            price,
            fee,
            o.algo,
            None,
            o.client_order_id,
            None,
            self.mode,
            o.kind,
            o.ref_price,
        )

    def close(self, fill: Fill, trade_id: str, reason: ExitReason, limits: MarketLimits | None = None) -> Trade:
        """Book a sell fill against the position of (algo, symbol); returns the trade record
        with realized ``pnl``. Raises KeyError when there is no such position.

        A fill larger than the position sells the symbol's dust too (at zero cost). A remainder
        that is dust by ``limits`` (default: :func:`~daybreak.core.markets.default_limits`)
        closes the position; its entry cost is charged to this trade and the base amount moves
        to the symbol's dust (see the module docstring)."""
        o = fill.order
        key = (o.algo, o.symbol)
        pos = self.positions[key]
        part = min(fill.amount, pos.amount)
        from_dust = min(fill.amount - part, self.dust.get(o.symbol, 0.0))
        share = part / pos.amount
        entry_fee = pos.entry_fee * share
        pnl = (fill.price - pos.entry_price) * part - fill.fee - entry_fee + fill.price * from_dust
        self.cash += cash_flow(o.action, fill.amount, fill.price, fill.fee)
        if from_dust:
            self._add_dust(o.symbol, -from_dust)
        pos.amount -= part
        pos.entry_fee -= entry_fee
        pos.extra[LAST_ORDER] = o.client_order_id
        limits = limits or default_limits(o.symbol)
        if limits.is_dust(pos.amount, fill.price):
            pnl -= pos.amount * pos.entry_price + pos.entry_fee
            self._add_dust(o.symbol, pos.amount)
            del self.positions[key]
        return Trade(
            trade_id,
            fill.timestamp,
            o.symbol,
            o.action,
            fill.amount,
            fill.price,
            fill.fee,
            o.algo,
            pnl,
            o.client_order_id,
            reason,
            self.mode,
            o.kind,
            o.ref_price,
        )

    def to_dust(self, key: tuple[str, str]) -> None:
        """Close a position that cannot be sold at all (below the market's minimum): its amount
        becomes the symbol's dust, with no trade."""
        pos = self.positions.pop(key)
        self._add_dust(pos.symbol, pos.amount)

    def _add_dust(self, symbol: str, amount: float) -> None:
        left = self.dust.get(symbol, 0.0) + amount
        if left > _ZERO:
            self.dust[symbol] = left
        else:
            self.dust.pop(symbol, None)

    # -- persistence ---------------------------------------------------------------------------
    def restore(self, trades: Iterable[Trade], positions: Iterable[Position]) -> None:
        """Rebuild cash from stored trades, positions from stored position records, and each
        symbol's dust as base bought - base sold - base in its open positions."""
        cash = self.starting_balance
        base: dict[str, float] = {}
        for t in trades:  # in booking order: the same float additions as the live run made
            cash += cash_flow(t.action, t.amount, t.price, t.fee)
            base[t.symbol] = base.get(t.symbol, 0.0) + (t.amount if t.action is Action.BUY else -t.amount)
        self.cash = cash
        self.positions = {(r.algo, r.symbol): r.copy() for r in positions}
        for p in self.positions.values():
            base[p.symbol] = base.get(p.symbol, 0.0) - p.amount
        self.dust = {}
        for symbol, amount in base.items():
            self._add_dust(symbol, amount)
