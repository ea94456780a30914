"""The risk gate every entry passes: protections, sizing and market limits.

Exits are never blocked here. Account-level counters (today's realized P&L and entries, the loss
streak, per-symbol last trade) are derived from the trades themselves, so they are identical in
live, replay and backtest and survive a restart (:meth:`RiskGate.replay_trades`). Thresholds come
from the deciding strategy's effective settings (``risk`` merged with ``risk_overrides``).

Daily loss rule: the trading day starts at midnight in ``day_timezone``. Day-start equity is the
starting balance plus all realized P&L before that day (paper, replay, backtest), or the
account's equity at the day boundary as the live driver read it from the exchange
(:meth:`RiskGate.set_day_start_equity`); entries stop once today's realized loss reaches
``daily_max_loss_ratio * day_start_equity`` and resume the next day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from daybreak.core.config import Config, OrderSize
from daybreak.core.domain import Action, Signal, Trade
from daybreak.core.exits import make_plan
from daybreak.core.ledger import Ledger
from daybreak.core.markets import MarketLimits
from daybreak.core.risk_settings import RiskSettings
from daybreak.core.timeframes import trading_day


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why an order was not placed: the rule's name and its numbers."""

    rule: str
    message: str
    data: dict = field(default_factory=dict)


@dataclass
class _Counters:
    day: str = ""
    day_start_equity: float = 0.0
    realized_before_day: float = 0.0
    realized_today: float = 0.0
    entries_today: int = 0
    loss_streak: int = 0
    paused_until: int | None = None
    last_trade: dict = field(default_factory=dict)


class RiskGate:
    """Decides whether an entry may be placed and how big it is."""

    def __init__(self, config: Config, markets: dict[str, MarketLimits]):
        self.config = config
        self.markets = markets
        self.manual_pause: str | None = None
        self.storage_fault = ""
        """Set (to the storage error) while writes wait to be stored: no new entries until then."""
        self.halt: Rejection | None = None
        """Set by the driver when no entry may be made whatever the rules say (state ERROR, the
        live account not read yet): every entry is refused with it."""
        self._day_start: tuple[str, float] | None = None
        self.c = _Counters()
        self._realized_total = 0.0
        self._day_bounds: tuple[int, int, str, str] = (0, 0, "", "")

    @property
    def config(self) -> Config:
        return self._config

    @config.setter
    def config(self, config: Config) -> None:
        self._config = config
        self._risk: dict[str, RiskSettings] = {}
        self._sizes: dict[str, OrderSize] = {}
        # read per trade and per entry signal: plain attributes rather than model lookups
        self._day_timezone = config.risk.day_timezone
        self._starting_balance = config.paper.starting_balance

    def risk_for(self, algo: str) -> RiskSettings:
        """``config.risk_for(algo)``, merged once per config (a config is replaced, not mutated)."""
        risk = self._risk.get(algo)
        if risk is None:
            risk = self._risk[algo] = self._config.risk_for(algo)
        return risk

    # -- counters --------------------------------------------------------------------------
    def _enter_day(self, ts: int, tz: str) -> str:
        """The trading day of ``ts`` in ``tz`` (:func:`~daybreak.core.timeframes.trading_day`);
        its bounds are kept in ``_day_bounds``, which :meth:`_roll_day` checks first."""
        day, start, end = trading_day(ts, tz)
        self._day_bounds = (start, end, day, tz)
        return day

    def _roll_day(self, ts: int) -> None:
        c = self.c
        lo, hi, day, zone = self._day_bounds
        tz = self._day_timezone
        if not (lo <= ts < hi and zone == tz):
            day = self._enter_day(ts, tz)
        if day != c.day:
            c.day = day
            c.realized_before_day = self._realized_total
            c.realized_today = 0.0
            c.entries_today = 0
        known = self._day_start
        if known is not None and known[0] == day:
            c.day_start_equity = known[1]
        else:
            c.day_start_equity = self._starting_balance + c.realized_before_day

    def set_day_start_equity(self, day: str, equity: float) -> None:
        """Live: the account's equity (quote) at the start of trading ``day`` (``YYYY-MM-DD`` in
        ``day_timezone``), read from the exchange; used instead of starting balance + P&L."""
        self._day_start = (day, equity)
        if self.c.day == day:
            self.c.day_start_equity = equity

    def record_trade(self, trade: Trade) -> None:
        """Update the counters with a stored or new trade (in time order)."""
        self._roll_day(trade.timestamp)
        self.c.last_trade[trade.symbol] = trade.timestamp
        if trade.action == Action.BUY:
            self.c.entries_today += 1
            return
        pnl = trade.pnl or 0.0
        self._realized_total += pnl
        self.c.realized_today += pnl
        risk = self.risk_for(trade.algo)
        self.c.loss_streak = self.c.loss_streak + 1 if pnl <= 0 else 0
        if risk.max_consecutive_losses and self.c.loss_streak >= risk.max_consecutive_losses:
            self.c.paused_until = trade.timestamp + int((risk.loss_pause_minutes or 0) * 60_000)
            self.c.loss_streak = 0

    def replay_trades(self, trades: list[Trade]) -> None:
        """Rebuild the counters from stored trades (after a restart)."""
        self.c = _Counters()
        self._realized_total = 0.0
        for t in trades:
            self.record_trade(t)

    # -- the checks ------------------------------------------------------------------------
    def account_block(self, now_ms: int) -> Rejection | None:
        """The account-wide protection that blocks every new entry now (manual pause, daily
        loss, entries per day, loss-streak pause, with the account's ``risk`` thresholds), or None."""
        return self._account_rules(self.config.risk, now_ms)

    def blocking_rule(
        self, algo: str, symbol: str, now_ms: int, ledger: Ledger, data_age_ms: int = 0
    ) -> Rejection | None:
        """The first protection that blocks a new entry of ``algo`` on ``symbol``, or None:
        the account rules with ``algo``'s thresholds, then cooldown, open-position caps and stale data."""
        risk = self.risk_for(algo)
        blocked = self._account_rules(risk, now_ms)
        if blocked is not None:
            return blocked
        c = self.c
        return self._symbol_rules(risk, algo, symbol, now_ms, ledger, data_age_ms, c)

    def _account_rules(self, risk: RiskSettings, now_ms: int) -> Rejection | None:
        self._roll_day(now_ms)
        c = self.c
        if self.halt is not None:
            return self.halt
        if self.manual_pause:
            return Rejection("paused_manual", f"entries paused by {self.manual_pause}")
        if self.storage_fault:
            return Rejection("storage_unavailable", f"entries paused while storage fails: {self.storage_fault}")
        if risk.daily_max_loss_ratio is not None:
            limit = risk.daily_max_loss_ratio * c.day_start_equity
            if -c.realized_today >= limit:
                return Rejection(
                    "daily_max_loss",
                    f"daily loss {-c.realized_today:.2f} reached limit {limit:.2f}",
                    {"loss": -c.realized_today, "limit": limit, "day": c.day},
                )
        if risk.max_trades_per_day is not None and c.entries_today >= risk.max_trades_per_day:
            return Rejection(
                "max_trades_per_day",
                f"{c.entries_today} entries today, limit {risk.max_trades_per_day}",
                {"entries_today": c.entries_today, "limit": risk.max_trades_per_day},
            )
        if c.paused_until is not None and now_ms < c.paused_until:
            until = datetime.fromtimestamp(c.paused_until / 1000, tz=ZoneInfo("UTC")).strftime("%Y-%m-%d %H:%M UTC")
            return Rejection(
                "loss_streak_pause", f"paused after a loss streak until {until}", {"paused_until": c.paused_until}
            )
        return None

    def _symbol_rules(
        self, risk: RiskSettings, algo: str, symbol: str, now_ms: int, ledger: Ledger, data_age_ms: int, c: _Counters
    ) -> Rejection | None:
        last = c.last_trade.get(symbol)
        if risk.symbol_cooldown_seconds is not None and last is not None:
            wait = last + int(risk.symbol_cooldown_seconds * 1000) - now_ms
            if wait > 0:
                return Rejection(
                    "symbol_cooldown",
                    f"{symbol} cooling down for {wait / 1000:.0f} s more",
                    {"seconds_left": wait / 1000},
                )
        if (algo, symbol) in ledger.positions:
            return Rejection("position_open", f"{algo} already holds {symbol}")
        if risk.max_positions_per_symbol is not None:
            n = len(ledger.open_positions(symbol))
            if n >= risk.max_positions_per_symbol:
                return Rejection(
                    "max_positions_per_symbol",
                    f"{n} open on {symbol}, limit {risk.max_positions_per_symbol}",
                    {"open": n, "limit": risk.max_positions_per_symbol},
                )
        if risk.max_open_positions is not None and len(ledger.positions) >= risk.max_open_positions:
            return Rejection(
                "max_open_positions",
                f"{len(ledger.positions)} open, limit {risk.max_open_positions}",
                {"open": len(ledger.positions), "limit": risk.max_open_positions},
            )
        if risk.stale_data_seconds is not None and data_age_ms > risk.stale_data_seconds * 1000:
            return Rejection(
                "stale_data",
                f"newest candle is {data_age_ms / 1000:.0f} s late",
                {"age_seconds": data_age_ms / 1000, "limit": risk.stale_data_seconds},
            )
        return None

    def size_entry(
        self, signal: Signal, price: float, atr: float | None, ledger: Ledger, prices: dict[str, float]
    ) -> float | Rejection:
        """Base amount for an entry at about ``price``, capped and rounded to the market step."""
        risk = self.risk_for(signal.algo)
        equity = ledger.equity(prices)
        amount = signal.amount if signal.amount is not None else self._raw_size(risk, signal, price, atr, equity)
        if isinstance(amount, Rejection):
            return amount
        if risk.max_notional is not None:
            amount = min(amount, risk.max_notional / price)
        if risk.max_trade_equity_ratio is not None:
            amount = min(amount, risk.max_trade_equity_ratio * equity / price)
        limits = self.markets[signal.symbol]
        amount = limits.round_amount(amount)
        reason = limits.rejection(amount, price)
        if reason:
            return Rejection("market_limits", reason, {"amount": amount, "price": price})
        return amount

    def _raw_size(
        self, risk: RiskSettings, signal: Signal, price: float, atr: float | None, equity: float
    ) -> float | Rejection:
        """Amount before caps; ``equity`` in quote currency."""
        if risk.sizing == "equity_fraction" and risk.equity_fraction is not None:  # validated together
            return risk.equity_fraction * equity / price
        if risk.sizing == "risk" and risk.risk_per_trade_ratio is not None:
            plan = make_plan(risk, price, signal.timestamp, atr)
            if plan.fixed_stop is None or plan.fixed_stop >= price:
                return Rejection("sizing", "risk sizing needs a stop below the price (ATR not ready?)")
            return risk.risk_per_trade_ratio * equity / (price - plan.fixed_stop)
        size = self._sizes.get(signal.symbol)
        if size is None:
            size = self._sizes[signal.symbol] = self._config.size_for(signal.symbol)
        if size.amount is not None:
            return size.amount
        assert size.stake is not None  # OrderSize holds exactly one of the two
        return size.stake / price

    def limits_snapshot(self, now_ms: int) -> dict:
        """Distances to each account limit, for the status row and the dashboard."""
        self._roll_day(now_ms)
        r, c = self.config.risk, self.c
        return {
            "day": c.day,
            "daily_loss_used": max(-c.realized_today, 0.0),
            "daily_loss_limit": r.daily_max_loss_ratio * c.day_start_equity if r.daily_max_loss_ratio else None,
            "trades_today": c.entries_today,
            "max_trades_per_day": r.max_trades_per_day,
            "loss_streak": c.loss_streak,
            "max_consecutive_losses": r.max_consecutive_losses,
            "paused_until": c.paused_until if c.paused_until and c.paused_until > now_ms else None,
            "manual_pause": self.manual_pause,
        }
