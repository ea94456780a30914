"""The ``execution`` section of ``config.json`` (and each ``execution_overrides.<strategy>``): how
orders are placed. Every key has a default that reproduces market-only execution, so
``"execution": {}`` trades exactly as a bot without this section did.

Entries: ``entry_order`` ``market`` or ``limit`` (a limit buy ``entry_offset_bps`` below the best
bid, converted to a market order or cancelled after ``entry_timeout_seconds``). Signal exits:
``exit_order`` ``market`` or ``maker`` (post-only at the best ask, re-priced as the book moves,
crossing at market after ``exit_chase_seconds``). Take-profit: ``take_profit_order`` ``bot`` (the
bot sells at market when the price reaches it) or ``resting`` (a limit sell on the exchange,
lowered by ``take_profit_ease_bps`` every ``take_profit_ease_seconds`` while unfilled, never below
the entry price plus fees). ``exchange_stop``: ``off``, ``stop_loss_limit`` (a stop-loss-limit
on the exchange, its limit ``exchange_stop_limit_offset_bps`` below the trigger) or ``oco``
(take-profit and stop in one order list). ``max_spread_bps``: no entry into a wider book.

What the exchange cannot do is refused here (the rules below) or at start, per exchange
(:mod:`daybreak.exchange.capabilities`). Basis points: 1 bps = 0.01 % of price.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from daybreak.core.risk_settings import RiskSettings


class SettingError(ValueError):
    """A combination refused by :class:`ExecutionSettings`: ``key`` names the field, ``value`` its value."""

    def __init__(self, key: str, value: object, msg: str) -> None:
        super().__init__(msg)
        self.setting_key, self.value = key, value


class ExecutionSettings(BaseModel):
    """Order types of entries, exits, take-profits and exchange stops; see the module docstring."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    entry_order: Literal["market", "limit"] = Field("market", description="Entries by market order or by limit buy")
    entry_offset_bps: float = Field(
        0.0, ge=0, le=1000, description="Limit entry: this far below the best bid, bps (0 = at the bid)"
    )
    entry_timeout_seconds: float = Field(
        60.0, gt=0, le=86_400, description="Limit entry: seconds it rests before entry_on_timeout"
    )
    entry_on_timeout: Literal["market", "cancel"] = Field(
        "market", description="Limit entry not filled in time: buy the rest at market, or cancel"
    )
    exit_order: Literal["market", "maker"] = Field(
        "market", description="Signal exits by market order or post-only at the best ask"
    )
    exit_chase_seconds: float = Field(
        60.0, gt=0, le=86_400, description="Maker exit: seconds it is re-priced before it crosses at market"
    )
    take_profit_order: Literal["bot", "resting"] = Field(
        "bot", description="Take-profit sold by the bot at market, or a limit sell resting on the exchange"
    )
    take_profit_ease_bps: float = Field(
        0.0, ge=0, le=1000, description="Resting take-profit: lowered this much per step while unfilled, bps"
    )
    take_profit_ease_seconds: float | None = Field(
        None, gt=0, le=86_400, description="Resting take-profit: seconds per easing step"
    )
    exchange_stop: Literal["off", "stop_loss_limit", "oco"] = Field(
        "off", description="Protective stop resting on the exchange"
    )
    exchange_stop_limit_offset_bps: float = Field(
        50.0, gt=0, le=1000, description="Exchange stop: limit this far below the trigger, bps"
    )
    max_spread_bps: float | None = Field(
        None, gt=0, le=10_000, description="Refuse an entry when (ask - bid) / mid exceeds this, bps"
    )

    @model_validator(mode="after")
    def _check(self) -> ExecutionSettings:
        if self.take_profit_ease_bps > 0 and self.take_profit_ease_seconds is None:
            raise SettingError("take_profit_ease_bps", self.take_profit_ease_bps, "needs take_profit_ease_seconds")
        if (
            self.take_profit_ease_bps > 0 or self.take_profit_ease_seconds is not None
        ) and self.take_profit_order != "resting":
            key = "take_profit_ease_bps" if self.take_profit_ease_bps > 0 else "take_profit_ease_seconds"
            raise SettingError(key, getattr(self, key), "eases a resting take-profit: set take_profit_order 'resting'")
        if self.exchange_stop == "oco" and self.take_profit_order != "resting":
            raise SettingError(
                "exchange_stop",
                "oco",
                "an OCO rests the take-profit on the exchange in the same list: set take_profit_order 'resting'",
            )
        if self.exchange_stop == "stop_loss_limit" and self.take_profit_order == "resting":
            raise SettingError(
                "exchange_stop",
                "stop_loss_limit",
                "with a resting take-profit both sells would lock "
                "the whole position on the exchange (the second is refused for insufficient balance): "
                "use exchange_stop 'oco'",
            )
        return self

    @property
    def market_only(self) -> bool:
        """Whether every order is a market order sent by the bot (today's behaviour)."""
        return (
            self.entry_order == "market"
            and self.exit_order == "market"
            and self.take_profit_order == "bot"
            and self.exchange_stop == "off"
        )

    def risk_problem(self, risk: RiskSettings) -> tuple[str, str] | None:
        """(field, problem) when these settings need a risk rule that ``risk`` lacks, else None."""
        if self.take_profit_order == "resting" and risk.take_profit_ratio is None:
            return "take_profit_order", "a resting take-profit needs risk.take_profit_ratio"
        if self.exchange_stop != "off" and not (risk.stop_loss_ratio or risk.stop_loss_atr_mult):
            return "exchange_stop", "an exchange stop needs risk.stop_loss_ratio or risk.stop_loss_atr_mult"
        if self.exchange_stop == "oco" and risk.take_profit_fraction is not None and risk.take_profit_fraction < 1:
            return (
                "exchange_stop",
                "an OCO's two legs sell the same amount: it cannot carry a partial take-profit "
                "(risk.take_profit_fraction)",
            )
        return None


MARKET_ONLY = ExecutionSettings()
"""The defaults: every order a market order, no exchange stop, no spread check."""
