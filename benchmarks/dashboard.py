"""Dashboard speed in a real browser: every page's load time with 100,000 stored fills, on SQLite
and on DynamoDB Local (dynalite), and the server's CPU with one open tab auto-refreshing.

The store holds ``--trades`` fills (half buys, half closing sells: 50,000 round trips) of four
strategies on two symbols over ``--days`` days ending at the bot's clock, the last 30 days of 1m
prices of both symbols (the default price retention: 86,400 rows), two open positions, 1,000
events, 50 external signals, the Stats table (totals and daily aggregates, as the bot keeps them)
and a live status row.

For each backend: ``streamlit run dashboard.py`` on that store and headless Chromium (Debian's,
``/usr/bin/chromium``) clicking each page in the sidebar as a person would. A page's load time is
from the click until its last section is drawn and the app is idle (no script running). Round 1
is cold (fresh server, empty caches); round 2 comes after the cache TTL expired (what a refresh
costs). Then the Operations tab stays open with auto-refresh for ``--cpu-seconds`` and the
Streamlit process's CPU time is read from ``/proc``.

Targets (issue 15): every page under 1 s on SQLite and under 3 s on dynalite with 100,000 fills.
Run: ``.venv/bin/python benchmarks/dashboard.py`` (needs ``make tools browser``; a few minutes,
most of it filling dynalite).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from daybreak.core.domain import Action, Event, ExitReason, Position, Trade  # noqa: E402
from daybreak.reporting.stats import daily_stat_records, stat_records  # noqa: E402
from storage.dynamo_schema import BUCKET  # noqa: E402
from storage.dynamodb import DynamoStore  # noqa: E402
from storage.init_db import init_db  # noqa: E402
from storage.records import PriceRecord, SignalRecord, StatusRecord  # noqa: E402
from storage.sqlite import SQLiteStore  # noqa: E402
from tests.fixtures_dynamo import DUMMY_AWS_ENV, DynaliteServer, dynamo_settings  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
TARGETS = {"sqlite": 1.0, "dynalite": 3.0}
MIN = 60_000
DAY = 86_400_000
REASONS = (ExitReason.SIGNAL, ExitReason.STOP_LOSS, ExitReason.TIME_STOP, ExitReason.TAKE_PROFIT)
ALGOS = ("MA_Crossover", "RSI_Reversion", "Bollinger_Squeeze", "External")
SYMBOLS = {"BTC/USDT": (0.001, 50_000.0), "ETH/USDT": (0.03, 3_000.0)}
# the last thing each page draws: the page counts as loaded once it is visible
PAGES = {
    "Operations": "Open orders",
    "Performance": "Realized slippage per strategy",
    "Trades": "Fills (",
    "Chart": "candles of",
    "Signals": "Why it didn't trade",
    "Logs": "records in the last megabyte",
    "Config": "Save config",
}


def walks(days: int, end: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per symbol: 1m candle opens (ms) and closes, a seeded random walk over ``days`` days."""
    n = days * 1440
    ts = end - n * MIN + np.arange(n, dtype=np.int64) * MIN
    rng = np.random.default_rng(15)
    return {s: (ts, p0 * np.exp(np.cumsum(rng.normal(0, 0.0008, n)))) for s, (_, p0) in SYMBOLS.items()}


def fills(n: int, days: int, end: int, prices) -> list[Trade]:
    """``n`` fills: round trip k is strategy k % 4 on symbol (k // 4) % 2, held 1 to 30 minutes,
    one every ``days``/(n/2) (no two trips of one strategy and symbol overlap)."""
    out, rng = [], np.random.default_rng(7)
    trips = n // 2
    spacing = days * DAY // trips
    start = end - days * DAY
    for k in range(trips):
        algo, sym = ALGOS[k % 4], list(SYMBOLS)[(k // 4) % 2]
        amount = SYMBOLS[sym][0]
        ts, close = prices[sym]
        t_in = start + k * spacing
        t_out = min(t_in + int(rng.integers(1, 31)) * MIN, end - MIN)
        p_in, p_out = (float(close[min(len(ts) - 1, (t - int(ts[0])) // MIN)]) for t in (t_in, t_out))
        f_in, f_out = amount * p_in * 0.001, amount * p_out * 0.001
        reason = REASONS[k % 4] if algo != "External" else ExitReason.EXTERNAL
        kind_in, kind_out = ("market", "limit")[k % 2], ("market", "maker", "stop_limit", "limit")[k % 4]
        out.append(
            Trade(f"b{k}", t_in, sym, Action.BUY, amount, p_in, f_in, algo, None, f"db-b{k:026x}", order_type=kind_in)
        )
        out.append(
            Trade(
                f"s{k}",
                t_out,
                sym,
                Action.SELL,
                amount,
                p_out,
                f_out,
                algo,
                amount * (p_out - p_in) - f_in - f_out,
                f"db-s{k:026x}",
                reason,
                order_type=kind_out,
            )
        )
    return out


def others(end: int, prices, keep_days: int):
    """Prices of the last ``keep_days``, open positions, events, signals, status."""
    records = []
    for sym, (ts, close) in prices.items():
        keep = ts >= end - keep_days * DAY
        for t, c in zip(ts[keep].tolist(), close[keep].tolist()):
            records.append(PriceRecord(sym, t, c, c * 0.9995, c * 1.001, c * 0.999, 12.5, t // 1000 + 30 * 86_400))
    last = {s: float(p[1][-1]) for s, p in prices.items()}
    positions = [
        Position(
            "MA_Crossover",
            "BTC/USDT",
            0.001,
            last["BTC/USDT"] * 0.99,
            end - 20 * MIN,
            0.05,
            "open-1",
            stop_price=last["BTC/USDT"] * 0.98,
        ),
        Position("RSI_Reversion", "ETH/USDT", 0.03, last["ETH/USDT"] * 1.01, end - 5 * MIN, 0.09, "open-2"),
    ]
    events = [
        Event(
            f"ev{i}",
            end - i * 7 * MIN,
            "rejection",
            "40 entries today, limit 40",
            ALGOS[i % 3],
            list(SYMBOLS)[i % 2],
            "max_trades_per_day",
            {"entries_today": 40},
        )
        for i in range(1_000)
    ]
    signals = [
        SignalRecord(
            f"sig{i}",
            end - i * 3_600_000,
            "BTC/USDT",
            ("buy", "sell")[i % 2],
            "tv-alerts",
            None,
            "rejected",
            "rejected",
            "no open External position on BTC/USDT to sell",
            end - i * 3_600_000 + MIN,
        )
        for i in range(50)
    ]
    return records, positions, events, signals


def status(end: int) -> StatusRecord:
    return StatusRecord(
        end,
        "paper",
        "RUNNING",
        detail={
            "limits": {
                "day": "x",
                "daily_loss_used": 12.0,
                "daily_loss_limit": 150.0,
                "trades_today": 3,
                "max_trades_per_day": 10,
                "loss_streak": 1,
                "max_consecutive_losses": 3,
            },
            "cash": 9_000.0,
            "equity": 10_050.0,
            "positions": 2,
            "run": "live",
            "wall_ms": int(time.time() * 1000),
            "feed": {s: {"last_candle": end, "error": ""} for s in SYMBOLS},
        },
    )


def write_log(path: Path, trades: list[Trade]) -> None:
    """A log as the bot writes it: one TRADE line per fill (about 3 MB for 20,000 fills)."""
    with path.open("w") as fh:
        for t in trades:
            when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t.timestamp / 1000))
            fh.write(
                f"{when} INFO TRADE {t.algo} {t.action.upper()} {t.symbol} {t.amount:.8g} @ {t.price:.8g} "
                f"fee={t.fee:.4f} [{t.trade_id}]\n"
            )


def fill_store(store, trades, records, positions, events, signals, end) -> None:
    stats = stat_records(trades, end) + daily_stat_records(trades, "UTC", end)
    if isinstance(store, DynamoStore):  # the batch writer carries the items put_trade writes
        for k in range(0, len(trades), 5_000):
            store.writer.submit(
                [store._op("trades", store._item("trades", t, bucket=BUCKET)) for t in trades[k : k + 5_000]]
            )
        for s in signals:
            store.put_signal(s)
    else:
        cols = [c for c in trades[0].to_json() if c != "slippage_bps"]  # a property, not a column
        store._many(
            f"INSERT INTO trades ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
            [tuple(t.to_json()[c] for c in cols) for t in trades],
        )
        for s in signals:
            store.put_signal(s)
    for k in range(0, len(records), 2_000):
        store.put_prices(records[k : k + 2_000])
    store.put_stats(stats)
    for p in positions:
        store.put_position(p)
    for e in events:
        store.put_event(e)
    store.put_status(status(end))
    if isinstance(store, DynamoStore):
        store.flush(timeout=3_600)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(config: Path, log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "dashboard.py"),
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
            "--",
            "--config",
            str(config),
        ],
        cwd=ROOT,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        env={**os.environ, **DUMMY_AWS_ENV},
    )
    url = f"http://127.0.0.1:{port}/"
    for _ in range(300):
        try:
            if urllib.request.urlopen(url + "_stcore/health", timeout=2).read().strip() == b"ok":
                return proc, url
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"streamlit did not start:\n{log.read_text()}")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle(page) -> None:
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"] svg')", timeout=120_000)


def measure(url: str, proc: subprocess.Popen, cpu_window: float, ttl: float) -> dict:
    from playwright.sync_api import sync_playwright

    out: dict = {"cold": {}, "refresh": {}}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        page.goto(url)
        page.get_by_role("heading", name="Operations").wait_for(timeout=120_000)
        idle(page)
        page.get_by_test_id("stSidebarNav").get_by_text("Config", exact=True).click()  # leave Operations
        page.get_by_role("heading", name="Config", exact=True).wait_for(timeout=120_000)
        idle(page)
        for rnd in ("cold", "refresh"):
            if rnd == "refresh":
                time.sleep(ttl + 1)  # every cached read expired
            for title, last in PAGES.items():
                t0 = time.perf_counter()
                page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
                page.get_by_role("heading", name=title, exact=True).wait_for(timeout=120_000)
                page.get_by_text(last).first.wait_for(timeout=120_000)
                idle(page)
                out[rnd][title] = time.perf_counter() - t0
                assert page.get_by_test_id("stException").count() == 0, f"exception on {title}"
        page.get_by_test_id("stSidebarNav").get_by_text("Operations", exact=True).click()
        idle(page)
        c0, t0 = cpu_seconds(proc.pid), time.monotonic()
        time.sleep(cpu_window)
        out["cpu_ratio"] = (cpu_seconds(proc.pid) - c0) / (time.monotonic() - t0)
        browser.close()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trades", type=int, default=100_000, help="stored fills")
    parser.add_argument("--days", type=int, default=365, help="days the fills span")
    parser.add_argument("--backends", nargs="+", default=["sqlite", "dynalite"], choices=["sqlite", "dynalite"])
    parser.add_argument("--cpu-seconds", type=float, default=60.0)
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        print(f"skipped: {CHROMIUM} missing (make browser)")
        return 0
    end = (int(time.time() * 1000) // MIN) * MIN
    t = time.perf_counter()
    prices = walks(args.days, end)
    trades = fills(args.trades, args.days, end, prices)
    records, positions, events, signals = others(end, prices, 30)
    print(f"data: {len(trades):,} fills over {args.days} d, {len(records):,} prices ({time.perf_counter() - t:.1f} s)")
    from daybreak.ui.data import WINDOW_TTL_SECONDS

    results = {}
    with tempfile.TemporaryDirectory(prefix="daybreak-dash-bench-") as tmp:
        base = json.loads((ROOT / "config.json").read_text())
        base["log"] = {"path": str(Path(tmp) / "daybreak.log"), "level": "INFO"}
        write_log(Path(base["log"]["path"]), trades[-20_000:])
        for backend in args.backends:
            server = None
            t = time.perf_counter()
            if backend == "sqlite":
                storage = {"backend": "sqlite", "path": str(Path(tmp) / "bench.db")}
                store = SQLiteStore(storage["path"])
            else:
                os.environ.update(DUMMY_AWS_ENV)
                server = DynaliteServer(Path(tmp) / "dynalite").start()
                settings = dynamo_settings(server.endpoint_url)
                init_db(settings)
                storage = json.loads(settings.model_dump_json())
                store = DynamoStore.from_settings(settings, read_wait_seconds=3_600)
            fill_store(store, trades, records, positions, events, signals, end)
            store.close()
            print(f"{backend}: store filled in {time.perf_counter() - t:.0f} s")
            config = Path(tmp) / f"config-{backend}.json"
            config.write_text(json.dumps({**base, "storage": storage}, indent=2))
            proc, url = serve(config, Path(tmp) / f"streamlit-{backend}.log")
            try:
                results[backend] = measure(url, proc, args.cpu_seconds, WINDOW_TTL_SECONDS)
            finally:
                proc.terminate()
                proc.wait(timeout=30)
                if server is not None:
                    server.kill()
    print(f"\npage load in Chromium, seconds (click to last section drawn and app idle), {args.trades:,} fills")
    print(f"{'page':<12}" + "".join(f"{f'{b} cold':>15}{f'{b} refresh':>17}" for b in results))
    for title in PAGES:
        print(
            f"{title:<12}" + "".join(f"{r['cold'][title]:>15.2f}{r['refresh'][title]:>17.2f}" for r in results.values())
        )
    for backend, r in results.items():
        worst = max(*r["cold"].values(), *r["refresh"].values())
        verdict = "ok" if worst < TARGETS[backend] else "MISSED"
        print(
            f"{backend}: slowest {worst:.2f} s, target < {TARGETS[backend]:g} s: {verdict}; "
            f"Operations tab open with auto-refresh: {r['cpu_ratio']:.1%} of a core (Streamlit process)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
