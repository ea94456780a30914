"""BaseStrategy: the contract every strategy fulfils, in live, replay and backtest alike.

A strategy is pure and whole-frame: :meth:`BaseStrategy.populate` takes a candle frame and returns
it with two boolean columns, ``enter_long`` and ``exit_long``, computed with pandas and ``ta``
(no I/O, no clock, no ``iloc[-1]``; look back with ``shift()``). Row ``i`` may only depend on rows
``<= i`` (checked for every registered strategy by the registry-wide tests). The base class checks
the result and turns the last *closed* candle into a :class:`~daybreak.domain.Signal`.

Candle frame shape (input): a RangeIndex and the columns

=============  =========  ===================================================
``timestamp``  int64      UTC epoch ms of the candle *open*
``open``       float64    quote per base
``high``       float64    quote per base
``low``        float64    quote per base
``close``      float64    quote per base
``volume``     float64    base-currency volume (may be 0 on thin markets)
=============  =========  ===================================================

Every row is a closed candle of the strategy's timeframe; gaps (missing candles) are allowed.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Generic, Literal, TypeVar, cast

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from daybreak.core.domain import Action, ExitReason, Signal
from daybreak.core.timeframes import timeframe_ms

SIGNAL_COLUMNS = ("enter_long", "exit_long")


class StrategyParams(BaseModel):
    """Base of every strategy's params model: strict, with the candle timeframe it runs on."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    timeframe: Literal["1m", "5m"] = Field("1m", description="Candle timeframe the strategy evaluates")


P = TypeVar("P", bound=StrategyParams)


class BaseStrategy(ABC, Generic[P]):
    """Subclass, set ``name`` and ``params_model``, implement :attr:`warmup` and :meth:`populate`,
    and decorate with :func:`strategies.registry.register`.

    ``context_timeframe`` names a coarser timeframe the strategy reads (built from closed candles
    of its own timeframe by :func:`daybreak.timeframes.context_frame`, never looking ahead).
    """

    name: ClassVar[str] = ""
    params_model: ClassVar[type[StrategyParams]] = StrategyParams
    context_timeframe: ClassVar[str | None] = None

    def __init__(self, params: P | dict[str, Any] | None = None):
        if params is None or isinstance(params, dict):
            params = cast(P, self.params_model.model_validate(params or {}))
        self.params: P = params

    @property
    def timeframe(self) -> str:
        """The timeframe of the candles ``populate`` expects, e.g. ``"1m"``."""
        return self.params.timeframe

    @property
    @abstractmethod
    def warmup(self) -> int:
        """Candles of :attr:`timeframe` needed before the first signal can be defined."""

    @abstractmethod
    def populate(self, candles: pd.DataFrame) -> pd.DataFrame:
        """Return ``candles`` plus boolean ``enter_long`` / ``exit_long`` columns (and indicators)."""

    # -- provided ---------------------------------------------------------------------------
    def signals(self, candles: pd.DataFrame) -> pd.DataFrame:
        """:meth:`populate`, checked: same length, boolean signal columns with no missing values.

        Raises ValueError when the strategy breaks the contract.
        """
        out = self.populate(candles)
        if len(out) != len(candles):
            raise ValueError(f"{self.name}.populate changed the row count ({len(candles)} -> {len(out)})")
        for col in SIGNAL_COLUMNS:
            if col not in out:
                raise ValueError(f"{self.name}.populate did not set column {col!r}")
            values = out[col]
            if values.dtype != bool:
                out[col] = values.fillna(False).astype(bool)
        return out

    def signal_at(self, frame: pd.DataFrame, row: int, symbol: str) -> Signal | None:
        """The :class:`Signal` of populated ``frame`` at position ``row`` (an exit wins a tie)."""
        close_ts = int(frame["timestamp"].iat[row]) + timeframe_ms(self.timeframe)
        return signal_from_flags(
            self.name, symbol, bool(frame["enter_long"].iat[row]), bool(frame["exit_long"].iat[row]), close_ts
        )

    def last_signal(self, candles: pd.DataFrame, symbol: str) -> Signal | None:
        """Signal of the last row of ``candles`` (which must all be closed candles)."""
        if len(candles) == 0:
            return None
        return self.signal_at(self.signals(candles), len(candles) - 1, symbol)

    def describe(self) -> dict[str, Any]:
        """Name, timeframe, warm-up and the params JSON schema, for ``bot.py strategies``."""
        return {
            "name": self.name,
            "timeframe": self.timeframe,
            "context_timeframe": self.context_timeframe,
            "warmup": self.warmup,
            "params_schema": self.params_model.model_json_schema(),
            "doc": (type(self).__doc__ or "").strip().splitlines()[0] if type(self).__doc__ else "",
        }


def signal_from_flags(algo: str, symbol: str, enter: bool, exit_: bool, close_ts: int) -> Signal | None:
    """The signal of one row's flags, decided at ``close_ts`` (ms); an exit wins a tie."""
    if exit_:
        return Signal(algo, symbol, Action.SELL, close_ts, ExitReason.SIGNAL)
    if enter:
        return Signal(algo, symbol, Action.BUY, close_ts)
    return None


def crossed_above(a: pd.Series, b: pd.Series) -> pd.Series:
    """True where ``a`` closes above ``b`` after being at or below it on the previous row.

    NaN on either row gives False (IEEE comparisons with NaN are false). ``a`` and ``b`` share
    one index; the result has it.
    """
    if not a.index.equals(b.index):
        raise ValueError("crossed_above: a and b must have the same index")
    x, y = _floats(a), _floats(b)
    out = np.zeros(len(x), bool)
    np.logical_and(x[1:] > y[1:], x[:-1] <= y[:-1], out=out[1:])
    return pd.Series(out, index=a.index, copy=False)


def _floats(s: pd.Series) -> np.ndarray:
    """``s`` as float64 values, missing as NaN (a view when ``s`` already is float64)."""
    return s.to_numpy() if s.dtype == np.float64 else s.to_numpy(float, na_value=np.nan)


def crossed_below(a: pd.Series, b: pd.Series) -> pd.Series:
    """True where ``a`` closes below ``b`` after being at or above it on the previous row."""
    return crossed_above(b, a)


def safe_ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    """``num / den`` with NaN where ``den`` is 0 or NaN (zero-volume candles), never inf."""
    den = den.where(den != 0)
    out = num / den
    return out.replace([np.inf, -np.inf], np.nan)
