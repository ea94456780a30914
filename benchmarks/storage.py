"""Storage benchmark: SQLite vs DynamoDB (a local dynalite server), same records, same machine.

Prints, per backend:

* write throughput of the bot's records: trades (``put_trade``, synchronous and durable), prices
  and events (one record per call, as the bot writes them; the DynamoDB store queues them, so the
  time includes the final ``flush``);
* the time to load the dashboard's trades page data at 10k and 100k stored trades, two ways:

  - *all trades* (what ``daybreak.ui.data.trades`` reads today): every trade newest first
    (``list_trades(newest_first=True)``), the per-strategy summary (``daybreak.stats.summarize``)
    and the table frame (``daybreak.ui.views.trades.fills_frame``), with the time of each part;
  - *newest page + Stats*: the newest ``--page`` trades (``list_trades(newest_first=True,
    limit=...)``), their table frame, and the summary the bot keeps in the Stats table
    (``list_stats()``, written by ``daybreak.stats.stat_records``: the same numbers).

  Best of 3, uncached.

Targets (issue 3): page data under 1 s at 100k trades on SQLite and under 3 s on dynalite.
Run: ``.venv/bin/python benchmarks/storage.py`` (``make bench``; needs ``make tools``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from daybreak.core.domain import Action, Event, ExitReason, Trade  # noqa: E402
from daybreak.reporting.stats import stat_records, summarize  # noqa: E402
from daybreak.ui.views.trades import fills_frame as trades_frame  # noqa: E402
from storage.dynamo_schema import BUCKET  # noqa: E402
from storage.dynamodb import DynamoStore  # noqa: E402
from storage.init_db import init_db  # noqa: E402
from storage.records import PriceRecord  # noqa: E402
from storage.sqlite import SQLiteStore  # noqa: E402
from tests.fixtures_dynamo import DUMMY_AWS_ENV, DynaliteServer, dynamo_settings  # noqa: E402

T0 = 1_617_321_600_000
TARGETS = {"sqlite": 1.0, "dynalite": 3.0}


def trade(i: int) -> Trade:
    """Realistic fills: two symbols, three strategies, a closing sell with P&L after each buy."""
    closing = i % 2 == 1
    return Trade(
        f"db-{i:032x}",
        T0 + i * 60_000,
        ("BTC/USDT", "ETH/USDT")[i // 2 % 2],
        Action.SELL if closing else Action.BUY,
        0.0017,
        58_720.45 + (i % 977) * 0.01,
        0.0998,
        ("MA_Crossover", "RSI_Divergence", "External")[i // 2 % 3],
        pnl=((i % 13) - 6) * 0.731 if closing else None,
        order_id=f"db-{i:032x}",
        exit_reason=ExitReason.SIGNAL if closing else None,
    )


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:,.0f}/s"


def writes(store, n_trades: int, n_prices: int, n_events: int, offset: int) -> dict[str, str]:
    out = {}
    t = time.perf_counter()
    for i in range(offset, offset + n_trades):
        store.put_trade(trade(i))
    out["trades"] = rate(n_trades, time.perf_counter() - t)
    t = time.perf_counter()
    for i in range(n_prices):
        store.put_prices(
            [
                PriceRecord(
                    "BTC/USDT",
                    T0 + i * 60_000,
                    58_720.45 + i * 0.01,
                    58_700.0,
                    58_800.5,
                    58_690.01,
                    61.685675,
                    2_000_000_000,
                )
            ]
        )
    store.flush()
    out["prices"] = rate(n_prices, time.perf_counter() - t)
    t = time.perf_counter()
    for i in range(n_events):
        store.put_event(
            Event(
                f"ev-{i}",
                T0 + i,
                "rejection",
                "order below min notional",
                "MA_Crossover",
                "BTC/USDT",
                "min_notional",
                {"notional": 4.99, "min": 5.0},
            )
        )
    store.flush()
    out["events"] = rate(n_events, time.perf_counter() - t)
    return out


def fill_trades(store, start: int, stop: int) -> None:
    """Store trades ``start..stop`` quickly: the DynamoDB store's batch writer carries the same
    items ``put_trade`` writes (no per-trade duplicate check); SQLite inserts them one by one."""
    if isinstance(store, DynamoStore):
        for k in range(start, stop, 5_000):
            store.writer.submit(
                [
                    store._op("trades", store._item("trades", trade(i), bucket=BUCKET))
                    for i in range(k, min(k + 5_000, stop))
                ]
            )
        store.flush(timeout=3_600)
    else:
        for i in range(start, stop):
            store.put_trade(trade(i))


def best_of_3(fn) -> tuple[float, list[float]]:
    """(best total seconds, its parts) of ``fn() -> list of part seconds``, 3 runs."""
    runs = [fn() for _ in range(3)]
    best = min(runs, key=sum)
    return sum(best), best


def all_trades_page(store, expect: int) -> list[float]:
    t0 = time.perf_counter()
    rows = store.list_trades(newest_first=True)
    t1 = time.perf_counter()
    summarize(rows)
    t2 = time.perf_counter()
    trades_frame(rows)
    t3 = time.perf_counter()
    assert len(rows) == expect, (len(rows), expect)
    return [t1 - t0, t2 - t1, t3 - t2]


def newest_page(store, page: int) -> list[float]:
    t0 = time.perf_counter()
    rows = store.list_trades(newest_first=True, limit=page)
    stats = store.list_stats()
    trades_frame(rows)
    assert len(rows) == page and stats
    return [time.perf_counter() - t0]


def run(backend: str, store, sizes: list[int], args) -> dict:
    result = {"writes": writes(store, args.trades, args.prices, args.events, offset=10_000_000)}
    stored = 0
    for size in sizes:
        fill_trades(store, stored, size)
        stored = size
        store.put_stats(stat_records(store.list_trades(), T0))
        result[size] = best_of_3(lambda: all_trades_page(store, size + args.trades))
        result[("page", size)] = best_of_3(lambda: newest_page(store, args.page))
    store.close()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000], help="stored trades")
    parser.add_argument("--backends", nargs="+", default=["sqlite", "dynalite"], choices=["sqlite", "dynalite"])
    parser.add_argument("--trades", type=int, default=1_000, help="trades for the write throughput")
    parser.add_argument("--prices", type=int, default=5_000, help="prices for the write throughput")
    parser.add_argument("--events", type=int, default=1_000, help="events for the write throughput")
    parser.add_argument("--page", type=int, default=500, help="trades on the newest page")
    args = parser.parse_args()
    sizes = sorted(args.sizes)
    results = {}
    with tempfile.TemporaryDirectory(prefix="daybreak-bench-") as tmp:
        if "sqlite" in args.backends:
            results["sqlite"] = run("sqlite", SQLiteStore(Path(tmp) / "bench.db"), sizes, args)
        if "dynalite" in args.backends:
            os.environ.update(DUMMY_AWS_ENV)
            server = DynaliteServer(Path(tmp) / "dynalite").start()
            try:
                settings = dynamo_settings(server.endpoint_url)
                init_db(settings)
                results["dynalite"] = run(
                    "dynalite", DynamoStore.from_settings(settings, read_wait_seconds=3_600), sizes, args
                )
            finally:
                server.kill()
    print(f"\nwrite throughput ({args.trades} trades, {args.prices} prices, {args.events} events; one record per call)")
    print(f"{'backend':<10} {'trades':>12} {'prices':>12} {'events':>12}")
    for backend, r in results.items():
        w = r["writes"]
        print(f"{backend:<10} {w['trades']:>12} {w['prices']:>12} {w['events']:>12}")
    print(
        "\ntrades page data, best of 3: all trades (store read + summary + table frame);"
        " for comparison: the dashboard does not read this way"
    )
    print(f"{'backend':<10} " + " ".join(f"{f'{s:,} trades':>34}" for s in sizes) + f" {'target':>8}")
    for backend, r in results.items():
        cells = " ".join(f"{r[s][0]:>7.3f}s ({' + '.join(f'{p:.3f}' for p in r[s][1])})" for s in sizes)
        verdict = "ok" if r[sizes[-1]][0] < TARGETS[backend] else "MISSED"
        print(f"{backend:<10} {cells} {f'< {TARGETS[backend]:g} s':>8} {verdict}")
    print(
        f"\ntrades page data, best of 3: newest {args.page} trades + Stats table"
        " (what the dashboard reads: daybreak.ui.data.trades/summary)"
    )
    print(f"{'backend':<10} " + " ".join(f"{f'{s:,} trades':>15}" for s in sizes) + f" {'target':>8}")
    for backend, r in results.items():
        cells = " ".join(f"{r[('page', s)][0]:>14.3f}s" for s in sizes)
        verdict = "ok" if r[("page", sizes[-1])][0] < TARGETS[backend] else "MISSED"
        print(f"{backend:<10} {cells} {f'< {TARGETS[backend]:g} s':>8} {verdict}")
    if len(results) == 2:
        for label, key in (("all trades", lambda s: s), ("newest page", lambda s: ("page", s))):
            ratios = " ".join(f"{results['dynalite'][key(s)][0] / results['sqlite'][key(s)][0]:.1f}x" for s in sizes)
            print(f"ratio dynalite/sqlite, {label}: {ratios}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
