"""Live polling benchmark: the live bot against the fake Binance.US with 20 symbols, all 11
strategies and 150 ms added to every request (a distant exchange), as issue 11 measured it.

Measured (the bot runs in this process, live mode, real ccxt; the fake's clock is fast-forwarded
while the bot sleeps, so a minute costs only the work done in it):

* **first start**: from ``run_live`` to every symbol's warm-up history fetched and computed
  (its cursor set) on a fresh store;
* **candle close to action**: for every symbol and closed candle, the time from the candle being
  served by the exchange (its close) to the bot's decision on it (stepper decide done, cursor
  set): the bot's own wake-up delay after the close plus the wall time of its work;
* **steady request weight** per minute, as Binance.US counts it (tests/fakes/binance_weights.py),
  against its limit of 1,200.

Targets (issue 11): first start under 10 s; a closed candle acted on within 1 s of being served
(median; the worst is printed too); steady weight under 25 % of the limit. Before this issue:
101.7 s first start for one symbol, 14.4 s median from close to action, 1,191 weight per minute.

Run: ``.venv/bin/python benchmarks/live_polling.py [--symbols 20] [--latency 0.15] [--minutes 6]``.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from daybreak.drivers.live import CLOSE_DELAY_MS, run_live  # noqa: E402
from daybreak.drivers.services import RunContext  # noqa: E402
from daybreak.ops.config_file import load_config  # noqa: E402
from strategies import registry  # noqa: E402
from tests.fakes.fake_binance import FakeBinance  # noqa: E402
from tests.fixtures_exchange import exchange_for, sample_candles  # noqa: E402
from tests.helpers import write_config  # noqa: E402

MINUTE = 60_000
LIMIT = 1200


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--symbols", type=int, default=20)
    p.add_argument("--latency", type=float, default=0.15, help="seconds added to every request")
    p.add_argument("--minutes", type=int, default=6, help="simulated minutes after the start")
    args = p.parse_args(argv)

    base = sample_candles("BTC/USDT")
    symbols = [f"S{i:02d}/USDT" for i in range(args.symbols)]
    fake = FakeBinance()
    for i, symbol in enumerate(symbols):
        scale = 1.0 + i / 10
        fake.add_candles(symbol, "1m", base.assign(**{c: base[c] * scale for c in ("open", "high", "low", "close")}))
    fake.set_balance("USDT", "100000")
    tmp = Path(tempfile.mkdtemp(prefix="daybreak-bench-"))
    cfg = write_config(
        tmp,
        mode="live",
        symbols=symbols,
        order_size={"default": {"stake": 100}},
        algos={name: True for name in registry.names()},
        params={},
        risk={},
        external_signals=False,
        poll_seconds=5,
        account_sync_seconds=60,
    )
    os.environ.update(DAYBREAK_LIVE_CONFIRM="yes", DAYBREAK_API_KEY=fake.api_key, DAYBREAK_API_SECRET=fake.secret)

    acted: dict[tuple[str, int], float] = {}
    set_cursor = RunContext.set_cursor

    def timed_set_cursor(self, symbol, close_ts, durable=False):
        acted.setdefault((symbol, int(close_ts)), time.perf_counter())
        return set_cursor(self, symbol, close_ts, durable)

    RunContext.set_cursor = timed_set_cursor
    served: dict[int, float] = {}  # candle close (ms) -> wall time it was served, as the bot lived it
    marks: list[tuple[int, int]] = []  # (candle close, index into fake.requests) at each close
    start_ms = int(base["timestamp"].iat[3400]) + 1_000
    end_ms = start_ms + args.minutes * MINUTE

    def sleep(seconds: float) -> None:
        before = fake.now()
        after = before + int(seconds * 1000)
        boundary = after - after % MINUTE
        fake.set_clock(after)
        if boundary > before:  # a candle closed while the bot slept: it was served at its close
            served[boundary] = time.perf_counter() - (after - boundary) / 1000
            marks.append((boundary, len(fake.requests)))

    with fake:
        fake.set_clock(start_ms)
        fake.latency = args.latency
        t0 = time.perf_counter()
        code = run_live(
            cfg,
            load_config(cfg),
            lambda: fake.now() >= end_ms,
            exchange=exchange_for(fake, retries=3),
            clock=fake.now,
            sleep=sleep,
        )
        fake.latency = 0.0
    RunContext.set_cursor = set_cursor
    first_close = min(close for _, close in acted)
    first_start = max(t for (s, close), t in acted.items() if close == first_close) - t0
    lags = [acted[(s, close)] - at for close, at in served.items() for s in symbols if (s, close) in acted]
    weights = [sum(r.weight for r in fake.requests[a:b]) for (_, a), (_, b) in itertools.pairwise(marks)]
    steady = statistics.mean(weights[1:]) if len(weights) > 1 else float("nan")

    print(
        f"live polling: {len(symbols)} symbols, {len(registry.names())} strategies, "
        f"{args.latency * 1000:.0f} ms per request, {args.minutes} simulated minutes (exit code {code})"
    )
    print(
        f"  first start (history + warm-up of every symbol):  {first_start:6.2f} s      target < 10 s  "
        f"met {'yes' if first_start < 10 else 'NO'}"
    )
    print(
        f"  candle close -> acted on, median:                 {statistics.median(lags):6.2f} s      target < 1 s   "
        f"met {'yes' if statistics.median(lags) < 1 else 'NO'}"
    )
    print(
        f"  candle close -> acted on, worst of {len(lags):3d}:          {max(lags):6.2f} s      "
        f"(the bot wakes {CLOSE_DELAY_MS} ms after a close)"
    )
    print(
        f"  steady request weight per minute:                 {steady:6.0f} of {LIMIT} = {steady / LIMIT:.1%}  "
        f"target < 25 %  met {'yes' if steady / LIMIT < 0.25 else 'NO'}"
    )
    counts = {}
    for r in fake.requests[marks[1][1] : marks[-1][1]] if len(marks) > 2 else []:
        counts[r.path] = counts.get(r.path, 0) + 1
    minutes = max(1, len(marks) - 2)
    print("  requests per minute: " + ", ".join(f"{p} {n / minutes:.1f}" for p, n in sorted(counts.items())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
