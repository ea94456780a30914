"""The ``risk`` section of ``config.json`` (and each ``risk_overrides.<strategy>``).

Every key is optional: left out or ``null`` turns that rule off, so ``"risk": {}`` means exits by
signal only, no protections, and sizing from ``order_size``. Ratios are fractions (0.01 = 1 %).
Types are strict: a JSON boolean is not a number, ``10.0`` is not an integer.

Rules that tie keys together (sizing ``risk`` needs a stop, ...) are checked on complete settings
(:class:`RiskSettings`): ``risk`` itself, and each strategy's ``risk`` merged with its override
(:meth:`daybreak.core.config.Config.risk_for`). An override alone (:class:`RiskOverride`) only
has its values checked, since the keys it leaves out come from ``risk``.
"""

from __future__ import annotations

from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


def _ratio(desc: str, le: float = 1.0):
    return Field(None, gt=0, le=le, description=desc)


class _RiskFields(BaseModel):
    """The keys of ``risk`` and their ranges (no rule linking two keys)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, strict=True)

    # exits
    stop_loss_ratio: float | None = _ratio("Stop-loss distance below entry, fraction of entry price")
    stop_loss_atr_mult: float | None = Field(
        None, gt=0, le=50, description="Stop-loss distance as k x ATR(14) at entry"
    )
    take_profit_ratio: float | None = _ratio("Take-profit distance above entry, fraction", le=100.0)
    take_profit_fraction: float | None = _ratio(
        "Partial take-profit: fraction of the position sold at take_profit_ratio; the rest trails"
    )
    trailing_start_ratio: float | None = Field(
        None, ge=0, le=100, description="Gain above entry that arms the trailing stop, fraction"
    )
    trailing_ratio: float | None = _ratio("Trailing stop distance below the highest price since entry, fraction")
    trailing_atr_mult: float | None = Field(
        None, gt=0, le=50, description="Trailing stop distance as k x ATR(14) at entry"
    )
    breakeven_trigger_ratio: float | None = Field(
        None, gt=0, le=100, description="Gain that moves the stop to the entry price (break-even), fraction"
    )
    trailing_decay_start: float | None = Field(
        None, gt=0, le=1, description="Decaying trail: callback as a fraction of the gain at the arming point"
    )
    trailing_decay_min: float | None = Field(
        None, gt=0, le=1, description="Decaying trail: the smallest callback fraction of the gain"
    )
    trailing_decay_rate: float | None = Field(
        None, gt=0, le=1000, description="Decaying trail: e-folding rate per unit of gain ratio"
    )
    trailing_min_gain_ratio: float | None = Field(
        None, ge=0, le=100, description="Decaying trail arms only above this gain (cover fees plus a buffer), fraction"
    )
    time_stop_seconds: float | None = Field(
        None, gt=0, le=30 * 86_400, description="Close a position after this many seconds"
    )
    # sizing
    sizing: Literal["amount", "stake", "equity_fraction", "risk"] | None = None
    equity_fraction: float | None = _ratio("Sizing 'equity_fraction': notional as a fraction of equity")
    risk_per_trade_ratio: float | None = _ratio("Sizing 'risk': equity fraction lost if the stop is hit", le=0.5)
    max_trade_equity_ratio: float | None = _ratio("Cap: notional of one trade as a fraction of equity")
    max_notional: float | None = Field(None, gt=0, le=1e12, description="Cap: notional of one trade, quote currency")
    # protections
    daily_max_loss_ratio: float | None = _ratio(
        "No new entries after losing this fraction of the day's starting equity"
    )
    day_timezone: str = Field("UTC", min_length=1, description="IANA timezone of the trading day boundary")
    max_trades_per_day: int | None = Field(None, ge=1, le=100_000, description="Entries allowed per day")
    max_consecutive_losses: int | None = Field(
        None, ge=1, le=1000, description="Losing trades in a row that pause entries"
    )
    loss_pause_minutes: float | None = Field(
        None, gt=0, le=10_080, description="Length of the loss-streak pause, minutes"
    )
    symbol_cooldown_seconds: float | None = Field(
        None, gt=0, le=86_400, description="No new entry on a symbol for this long after a trade on it"
    )
    max_open_positions: int | None = Field(
        None, ge=1, le=10_000, description="Global cap on open positions (one per strategy and symbol always)"
    )
    max_positions_per_symbol: int | None = Field(
        None, ge=1, le=1000, description="Cap on open positions on one symbol across strategies"
    )
    stale_data_seconds: float | None = Field(
        None, gt=0, le=86_400, description="Pause entries when the newest candle closed longer ago than this (live)"
    )

    @field_validator("day_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"day_timezone {value!r} is not an IANA timezone") from None
        return value


class RiskOverride(_RiskFields):
    """``risk_overrides.<strategy>``: any ``risk`` key; the keys set replace ``risk``'s."""


class RiskSettings(_RiskFields):
    """Exit rules, sizing and protections; see README "Risk" for the shipped defaults."""

    @model_validator(mode="after")
    def _check(self) -> RiskSettings:
        if self.sizing == "risk" and not (self.stop_loss_ratio or self.stop_loss_atr_mult):
            raise ValueError("sizing 'risk' needs stop_loss_ratio or stop_loss_atr_mult")
        if self.sizing == "risk" and not self.risk_per_trade_ratio:
            raise ValueError("sizing 'risk' needs risk_per_trade_ratio")
        if self.sizing == "equity_fraction" and not self.equity_fraction:
            raise ValueError("sizing 'equity_fraction' needs equity_fraction")
        if self.take_profit_fraction and not self.take_profit_ratio:
            raise ValueError("take_profit_fraction needs take_profit_ratio")
        if self.trailing_decay_start and not self.trailing_decay_min:
            raise ValueError("trailing_decay_start needs trailing_decay_min")
        if (
            self.trailing_decay_min
            and self.trailing_decay_start
            and self.trailing_decay_min > self.trailing_decay_start
        ):
            raise ValueError("trailing_decay_min must not exceed trailing_decay_start")
        if self.max_consecutive_losses and not self.loss_pause_minutes:
            raise ValueError("max_consecutive_losses needs loss_pause_minutes")
        return self
