"""``bot.py lookahead``: the registry tests' look-ahead and warm-up checks, run on a trader's own
strategy and candles, naming the column that changed.

* **Look-ahead** (what freqtrade's ``lookahead-analysis`` looks for): ``populate`` on the first n
  candles must give exactly the first n rows of ``populate`` on all candles, for every output
  column. A column that differs used a later candle (``shift(-1)``, a centred window, a
  whole-series normalisation ...). Checked at the warm-up, right after every data gap, at evenly
  spread cuts and at the last candle.
* **Warm-up**: the last candle's signal and indicator values with one warm-up of history
  (:attr:`~strategies.base.BaseStrategy.warmup`) must equal those with two. A column that differs
  needs more history than the strategy declares (an EMA seeded too late, an expanding mean), so
  live trading, which starts from ``warmup`` candles, would see other values than the backtest.

Floats compare with a relative tolerance of 1e-9 (look-ahead) and 1e-6 (warm-up, the settling
tolerance of :mod:`strategies.indicators`); NaN equals NaN.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from daybreak.core.timeframes import resample, timeframe_ms
from strategies.base import BaseStrategy

LOOKAHEAD_RTOL = 1e-9
WARMUP_RTOL = 1e-6
MAX_CUTS = 40
MAX_WARMUP_ENDS = 60


@dataclass
class Finding:
    """A column that changed: ``check`` (``lookahead`` / ``warmup``), the candle (row, open time
    ms) where it first differed and the two values (with all candles / the longer history first)."""

    check: str
    column: str
    row: int
    timestamp: int
    reference: object
    shortened: object
    cut: int


@dataclass
class LookaheadResult:
    strategy: str
    symbol: str
    timeframe: str
    candles: int
    cuts: list[int] = field(default_factory=list)
    warmup_ends: list[int] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


def _differs(a: pd.Series, b: pd.Series, rtol: float) -> np.ndarray:
    """Per row: the two values differ (NaN equal to NaN)."""
    x, y = a.to_numpy(), b.to_numpy()
    if x.dtype.kind in "fiub" and y.dtype.kind in "fiub":
        x, y = x.astype(float), y.astype(float)
        same = np.isclose(x, y, rtol=rtol, atol=0.0) | (np.isnan(x) & np.isnan(y))
        return ~same
    return ~np.array([p == q or (p != p and q != q) for p, q in zip(x, y, strict=True)], dtype=bool)


def _cuts(frame: pd.DataFrame, warmup: int, timeframe: str) -> list[int]:
    n = len(frame)
    ts = frame["timestamp"].to_numpy(np.int64)
    after_gap = (np.flatnonzero(np.diff(ts) > timeframe_ms(timeframe)) + 1).tolist()
    spread = np.linspace(warmup, n - 1, num=min(MAX_CUTS // 2, max(n - warmup, 1))).astype(int).tolist()
    picks = {warmup // 2, warmup, warmup + 1, warmup + 2, n - 1, *spread}
    for g in after_gap[: MAX_CUTS // 4]:
        picks.update({g, g + 1, g + warmup})
    return sorted(c for c in picks if 1 <= c < n)[: MAX_CUTS + MAX_CUTS // 2]


def check_strategy(strategy: BaseStrategy, candles: pd.DataFrame, symbol: str, base_timeframe: str) -> LookaheadResult:
    """Run both checks on ``candles`` (base timeframe; resampled to the strategy's timeframe)."""
    frame = resample(candles, strategy.timeframe, base_timeframe)
    result = LookaheadResult(strategy.name, symbol, strategy.timeframe, len(frame))
    if len(frame) < 3:
        return result
    full = strategy.signals(frame)
    ts = frame["timestamp"].to_numpy(np.int64)
    seen: set[tuple[str, str]] = set()
    for n in _cuts(frame, strategy.warmup, strategy.timeframe):
        part = strategy.signals(frame.iloc[:n].copy())
        result.cuts.append(n)
        for col in full.columns:
            if (("lookahead", col) in seen) or col not in part:
                continue
            bad = np.flatnonzero(_differs(full[col].iloc[:n], part[col], LOOKAHEAD_RTOL))
            if len(bad):
                i = int(bad[0])
                seen.add(("lookahead", col))
                result.findings.append(Finding("lookahead", col, i, int(ts[i]), full[col].iat[i], part[col].iat[i], n))
    _check_warmup(strategy, frame, full, result, seen)
    return result


def _check_warmup(
    strategy: BaseStrategy, frame: pd.DataFrame, full: pd.DataFrame, result: LookaheadResult, seen: set
) -> None:
    w = strategy.warmup
    ends = np.arange(2 * w, len(frame) + 1)
    if not len(ends):
        return
    fired = ends[(full["enter_long"] | full["exit_long"]).to_numpy()[ends - 1]]
    quiet = ends[:: max(1, len(ends) // 10)]
    picks = np.unique(np.r_[fired[:: max(1, len(fired) // (MAX_WARMUP_ENDS // 2) or 1)], quiet])[:MAX_WARMUP_ENDS]
    ts = frame["timestamp"].to_numpy(np.int64)
    for end in picks.tolist():
        one = strategy.signals(frame.iloc[end - w : end].copy()).iloc[-1]
        two = strategy.signals(frame.iloc[end - 2 * w : end].copy()).iloc[-1]
        result.warmup_ends.append(end)
        for col in two.index:
            if ("warmup", col) in seen or col not in one.index or col == "timestamp":
                continue
            if _differs(pd.Series([two[col]]), pd.Series([one[col]]), WARMUP_RTOL)[0]:
                seen.add(("warmup", col))
                result.findings.append(Finding("warmup", col, end - 1, int(ts[end - 1]), two[col], one[col], end))


def format_result(r: LookaheadResult) -> str:
    """Lines a trader reads: what was checked, then one line per column that changed."""
    head = (
        f"{r.strategy} on {r.symbol} {r.timeframe}: {r.candles} candles, {len(r.cuts)} look-ahead cuts, "
        f"{len(r.warmup_ends)} warm-up checks"
    )
    if r.ok:
        return head + ": no look-ahead, warm-up is enough"
    lines = [head + ":"]
    for f in r.findings:
        when = pd.Timestamp(f.timestamp, unit="ms", tz="UTC").strftime("%Y-%m-%d %H:%M")
        if f.check == "lookahead":
            lines.append(
                f"  LOOK-AHEAD column {f.column!r}: row {f.row} ({when} UTC) is {f.reference!r} with all "
                f"candles but {f.shortened!r} with the first {f.cut}: it reads candles after row {f.row}"
            )
        else:
            lines.append(
                f"  WARM-UP column {f.column!r}: at row {f.row} ({when} UTC) it is {f.reference!r} with "
                f"two warm-ups of history but {f.shortened!r} with one ({r.strategy}.warmup is too short)"
            )
    return "\n".join(lines)
