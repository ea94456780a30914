"""Benchmark: ``populate`` time of every registered strategy on real 1m candles.

Data: the 188,100 real BTC/USDT 1m candles of 2026-03-01 .. 07-09 in
``/work/shared/data/extra/2026-03_to_2026-07/BTC-USDT_1m.csv.gz`` (override with ``--data``),
and a full year (525,600 candles) built by repeating that series with timestamps shifted forward
so the copies follow each other. Prints candles/s per strategy, whether the year takes < 1 s
(measured, not extrapolated), and the ratio to a peer on the same data: TA-Lib computing the
strategy's indicators (its ``talib_refs``), the C library most bots use for the same job.

Usage: ``python benchmarks/strategies.py [--data FILE] [--repeat N]``. Exits 0 and prints a
message when the data file is missing. Timings are the best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import strategies  # noqa: E402,F401  (registers every strategy)
from strategies import registry  # noqa: E402

DEFAULT_DATA = Path("/work/shared/data/extra/2026-03_to_2026-07/BTC-USDT_1m.csv.gz")
YEAR = 525_600
BUDGET_S = 1.0


def year_of_candles(candles: pd.DataFrame, rows: int = YEAR) -> pd.DataFrame:
    """``rows`` candles: copies of ``candles`` one after another, timestamps shifted to follow on."""
    span = int(candles["timestamp"].iat[-1] - candles["timestamp"].iat[0]) + 60_000
    copies = -(-rows // len(candles))
    parts = [candles.assign(timestamp=candles["timestamp"] + i * span) for i in range(copies)]
    return pd.concat(parts, ignore_index=True).iloc[:rows].reset_index(drop=True)


def best_of(fn, repeat: int) -> float:
    """Fastest wall time of ``repeat`` calls of ``fn``, seconds."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def talib_peer(strategy, candles: pd.DataFrame):
    """A callable computing the strategy's TA-Lib reference indicators, or None without any."""
    import talib

    from daybreak.core.timeframes import resample

    refs = getattr(strategy, "talib_refs", lambda: [])()
    if not refs:
        return None

    def run() -> None:
        frames = {None: candles}
        for ref in refs:
            if ref.timeframe not in frames:
                frames[ref.timeframe] = resample(candles, ref.timeframe, strategy.timeframe)
            frame = frames[ref.timeframe]
            getattr(talib, ref.function)(*(frame[c].to_numpy(np.float64) for c in ref.inputs), **ref.params)

    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help="1m candle CSV (timestamp,open,high,low,close,volume)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best counts")
    args = parser.parse_args(argv)
    if not args.data.exists():
        print(f"skipped: {args.data} not found (the real 188k-candle BTC/USDT 1m series)")
        return 0
    real = pd.read_csv(args.data)
    year = year_of_candles(real)
    print(
        f"data: {args.data.name}, {len(real):,} real 1m candles; year frame {len(year):,} candles; best of {args.repeat}"
    )
    header = f"{'strategy':22s} {'188k s':>8s} {'candles/s':>12s} {'525k s':>8s} {'525k < 1 s':>10s} {'vs TA-Lib':>10s}"
    print(header)
    print("-" * len(header))
    slow = []
    for cls in registry.all_classes():
        strategy = cls()
        t_real = best_of(lambda: strategy.populate(real), args.repeat)
        t_year = best_of(lambda: strategy.populate(year), args.repeat)
        peer = talib_peer(strategy, real)
        ratio = f"{t_real / best_of(peer, args.repeat):9.1f}x" if peer else f"{'-':>10s}"
        ok = t_year < BUDGET_S
        slow += [] if ok else [cls.name]
        print(
            f"{cls.name:22s} {t_real:8.3f} {len(real) / t_real:12,.0f} {t_year:8.3f} {'yes' if ok else 'NO':>10s} {ratio}"
        )
    print(
        "vs TA-Lib: populate time / TA-Lib time for the same indicators on the 188k candles "
        "(populate also computes the signal rules TA-Lib has no notion of)."
    )
    print(
        "all strategies handle a year of 1m candles in under 1 s"
        if not slow
        else f"over the 1 s budget for a year of 1m candles: {', '.join(slow)}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
