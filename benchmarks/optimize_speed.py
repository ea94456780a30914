"""Benchmark: parameter-search throughput of ``bot.py optimize`` against vectorbt and backtesting.py.

The grid (issue 16): MA_Crossover ``short_period`` 5..100 step 5 x ``long_period`` 50..500 step 50,
the 188 combinations with short < long, on the 188,100 BTC/USDT 1m candles of
``../shared/data/extra/2026-03_to_2026-07/BTC-USDT_1m.csv.gz``. Same rules as
``benchmarks/backtest_speed.py``: fill at the next open, no fee, no slippage, 1 BTC per trade,
long only; the objective is the final equity (profit).

Rows, each in a fresh process (so each peak RSS is its own):

* ``daybreak jobs=1`` / ``jobs=2`` / ``ray``: ``bot.py optimize --sampler grid`` through
  ``daybreak.cli.main`` (study in a temporary SQLite file; Ray: a local instance with 2 CPUs).
  Timed from the call to its return, candle loading included (it is 0.3 s), and, from the
  command's report (``run.seconds``), its study phase alone: asking, running, telling and
  writing the trials, without the start-up (imports, candles, storage, workers) and the report.
  The grid has 200 points; the 12 with short >= long are pruned as infeasible at once, and rates
  count the 188. These rows run without scikit-learn (as the bot's own install: vectorbt brings
  it, and Optuna's importance package imports it when it is there, about 2 s).
* ``daybreak jobs=1 plain`` / ``jobs=2 plain``: the same with ``--no-fast-path`` (every trial
  through the engine, not the fast paths of :mod:`daybreak.drivers.sweep` and
  :mod:`daybreak.drivers.sweep_vector`; the same study): process scaling where trials are heavy.
* ``daybreak runner only``: the same 188 trials through ``TrialRunner.evaluate`` in a loop, no
  Optuna: what the study's bookkeeping (SQLite, sampler) costs is the difference.
* ``vectorbt``: its broadcast sweep, each distinct window's MA computed once (``vbt.MA.run`` with
  the list of windows), crossings of the 188 pairs, one ``Portfolio.from_signals`` over 188
  columns at the next open; warm (a first, compiling run is not timed).
* ``backtesting.py``: ``Backtest.optimize`` over the same grid (``constraint`` short < long,
  maximize ``Equity Final [$]``); ``--quick`` limits it to short <= 20 (the others too, then).

Prints combinations/s, CPU seconds (the row's process and its reaped children: not Ray's
workers), peak RSS and the best parameters of each, then the ratios and targets:
at least 4x vectorbt's sweep on one core, at least 0.8x per added process and per Ray worker.
vectorbt: ``pip install -r requirements-bench.txt``. A missing data file prints ``skipped``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DATA = ROOT.parent / "shared" / "data" / "extra" / "2026-03_to_2026-07" / "BTC-USDT_1m.csv.gz"
SHORTS, LONGS = range(5, 101, 5), range(50, 501, 50)
TARGET_VS_VECTORBT = 4.0
TARGET_SCALING = 0.8


def combos(quick: bool) -> list[tuple[int, int]]:
    return [(s, l) for s in SHORTS for l in LONGS if s < l and (not quick or s <= 20)]


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


CPU = [float("nan")]  # the timed section's CPU seconds, set by the child that ran


def cpu_seconds() -> float:
    """CPU seconds of this process and its reaped children (a process pool's workers count once
    it is shut down; Ray's workers never do)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def bench_config(tmp: Path) -> Path:
    from benchmarks.backtest_speed import bench_config as base

    raw = base()
    raw["storage"] = {"backend": "sqlite", "path": str(tmp / "bench.db")}
    path = tmp / "config.json"
    path.write_text(json.dumps(raw))
    return path


def child_daybreak(mode: str, quick: bool) -> dict:
    # The bot's install (requirements.txt) has no scikit-learn; vectorbt's (requirements-bench.txt)
    # brings it, and Optuna's importance package imports it when it is there (about 2 s). The
    # daybreak rows run as the bot's own install would: without it.
    sys.modules["sklearn"] = None  # type: ignore[assignment]
    from daybreak.cli import main

    with tempfile.TemporaryDirectory() as d:
        cfg = bench_config(Path(d))
        high = 20 if quick else 100
        args = [
            "optimize",
            "--config",
            str(cfg),
            "--strategy",
            "MA_Crossover",
            "--data",
            str(DATA),
            "--sampler",
            "grid",
            "--space",
            f"short_period=5:{high}:5",
            "long_period=50:500:50",
            "--objective",
            "profit",
            "--min-trades",
            "0",
            "--mc-runs",
            "0",
            "--json",
            str(Path(d) / "r.json"),
        ]
        if mode == "ray":
            args += ["--ray", "auto", "--jobs", "2"]
        else:
            args += ["--jobs", mode.removesuffix("plain")] + (["--no-fast-path"] if mode.endswith("plain") else [])
        if mode == "ray":
            import ray  # lazy: optional peer of the run

            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
        t, c0 = time.perf_counter(), cpu_seconds()
        with contextlib.redirect_stdout(io.StringIO()):
            code = main(args)
        seconds = time.perf_counter() - t
        CPU[0] = cpu_seconds() - c0
        report = json.loads((Path(d) / "r.json").read_text())
    best = report["best"][0]
    return {
        "seconds": seconds,
        "code": code,
        "trials": report["trials"].get("complete", 0),
        "study_seconds": report["run"]["seconds"],
        "asked": report["run"]["trials"],
        "best": [best["params"]["params.short_period"], best["params"]["params.long_period"]],
        "profit": best["all"]["profit"],
    }


def child_runner(quick: bool) -> dict:
    from daybreak.drivers.replay import load_files
    from daybreak.drivers.trials import TrialRunner, Window
    from daybreak.ops.config_file import load_config

    with tempfile.TemporaryDirectory() as d:
        cfg = bench_config(Path(d))
        raw = json.loads(cfg.read_text())
        config = load_config(cfg)
    t, c0 = time.perf_counter(), cpu_seconds()
    runner = TrialRunner(raw, "MA_Crossover", load_files([DATA], config))
    results = {}
    for s, l in combos(quick):
        out = runner.evaluate({"params.short_period": s, "params.long_period": l}, {"all": Window()})
        results[(s, l)] = out.metrics["all"]["profit"]
    seconds = time.perf_counter() - t
    CPU[0] = cpu_seconds() - c0
    best = max(results, key=results.get)
    return {"seconds": seconds, "trials": len(results), "best": list(best), "profit": results[best]}


def child_vectorbt(quick: bool) -> dict:
    import numpy as np
    import vectorbt as vbt  # lazy: benchmark peer, not a project dependency

    from daybreak.exchange.candle_files import read_candles

    frame = read_candles(DATA).frame
    close = frame["close"].to_numpy(float)
    open_ = frame["open"].to_numpy(float)
    pairs = combos(quick)

    def run():
        windows = sorted({w for p in pairs for w in p})
        ma = vbt.MA.run(close, window=windows).ma.to_numpy()  # each distinct window once
        col = {w: i for i, w in enumerate(windows)}
        fast = ma[:, [col[s] for s, _ in pairs]]
        slow = ma[:, [col[l] for _, l in pairs]]
        above = fast > slow
        prev = np.vstack([np.zeros((1, len(pairs)), bool), above[:-1]])
        prev_below = np.vstack([np.zeros((1, len(pairs)), bool), (fast <= slow)[:-1]])
        entries = above & prev_below
        exits = (fast < slow) & prev
        entries = np.vstack([np.zeros((1, len(pairs)), bool), entries[:-1]])  # fill at the next open
        exits = np.vstack([np.zeros((1, len(pairs)), bool), exits[:-1]])
        pf = vbt.Portfolio.from_signals(
            close=close[:, None],
            entries=entries,
            exits=exits,
            price=open_[:, None],
            size=1.0,
            init_cash=1_000_000.0,
            fees=0.0,
        )
        return pf.final_value().to_numpy() if hasattr(pf.final_value(), "to_numpy") else np.asarray(pf.final_value())

    run()  # compiles vectorbt's Numba code
    t, c0 = time.perf_counter(), cpu_seconds()
    final = run()
    seconds = time.perf_counter() - t
    CPU[0] = cpu_seconds() - c0
    i = int(np.argmax(final))
    return {"seconds": seconds, "trials": len(pairs), "best": list(pairs[i]), "profit": float(final[i] - 1_000_000.0)}


def child_backtesting(quick: bool) -> dict:
    import backtesting  # lazy: benchmark peer

    from daybreak.exchange.candle_files import read_candles
    from tests.peers import PeerCross, ohlcv_frame

    frame = ohlcv_frame(read_candles(DATA).frame)
    bt = backtesting.Backtest(
        frame,
        PeerCross,
        cash=10_000_000,
        commission=0.0,
        spread=0.0,
        trade_on_close=False,
        exclusive_orders=False,
        finalize_trades=False,
    )
    shorts = [s for s in SHORTS if not quick or s <= 20]
    t, c0 = time.perf_counter(), cpu_seconds()
    with contextlib.redirect_stderr(io.StringIO()):
        stats = bt.optimize(
            short=shorts, long=list(LONGS), constraint=lambda p: p.short < p.long, maximize="Equity Final [$]"
        )
    seconds = time.perf_counter() - t
    CPU[0] = cpu_seconds() - c0
    return {
        "seconds": seconds,
        "trials": len(combos(quick)),
        "best": [int(stats._strategy.short), int(stats._strategy.long)],
        "profit": float(stats["Equity Final [$]"] - 10_000_000),
    }


CHILDREN = {"runner": child_runner, "vectorbt": child_vectorbt, "backtesting": child_backtesting}


def run_child(name: str, quick: bool) -> dict:
    cmd = [sys.executable, __file__, "--child", name] + (["--quick"] if quick else [])
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if done.returncode:
        return {"unavailable": (done.stderr.strip().splitlines() or ["exit " + str(done.returncode)])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child")
    ap.add_argument("--quick", action="store_true", help="short <= 20 only (32 combinations), every engine")
    ap.add_argument("--skip", nargs="*", default=[], help="rows to leave out (e.g. backtesting ray)")
    args = ap.parse_args()
    if args.child:
        fn = CHILDREN.get(args.child)
        out = fn(args.quick) if fn else child_daybreak(args.child, args.quick)
        out["rss_mb"] = peak_rss_mb()
        out["cpu"] = CPU[0]
        print(json.dumps(out))
        return 0
    if not DATA.exists():
        print(f"skipped: {DATA} is missing")
        return 0
    rows = {}
    for name in ("1", "1plain", "2", "2plain", "ray", "runner", "vectorbt", "backtesting"):
        if name in args.skip:
            continue
        rows[name] = r = run_child(name, args.quick)
        label = {
            "1": "daybreak jobs=1",
            "1plain": "daybreak jobs=1 plain",
            "2": "daybreak jobs=2",
            "2plain": "daybreak jobs=2 plain",
            "ray": "daybreak ray (2 CPUs)",
        }.get(name, name)
        if "unavailable" in r:
            print(f"{label:24s} unavailable: {r['unavailable']}")
            continue
        print(
            f"{label:24s} {r['trials']:4d} combinations in {r['seconds']:7.2f} s = {r['trials'] / r['seconds']:6.1f}/s"
            f"  CPU {r['cpu']:7.2f} s  peak RSS {r['rss_mb']:7.0f} MB  best short/long {r['best']}  profit {r['profit']:,.2f}",
            flush=True,
        )
        if "study_seconds" in r:
            print(
                f"{'':24s}      the trials alone (study phase): {r['study_seconds']:7.2f} s = {r['trials'] / r['study_seconds']:6.1f}/s"
            )
    ok = {k: v for k, v in rows.items() if "unavailable" not in v}

    def rate(k):
        return ok[k]["trials"] / ok[k]["seconds"]

    def study_rate(k):
        return ok[k]["trials"] / ok[k].get("study_seconds", ok[k]["seconds"])

    print()
    if "1" in ok and "vectorbt" in ok:
        ratio = rate("1") / rate("vectorbt")
        print(
            f"jobs=1 vs vectorbt's broadcast sweep: {ratio:.2f}x (target >= {TARGET_VS_VECTORBT}x: "
            f"{'met' if ratio >= TARGET_VS_VECTORBT else 'NOT met'})"
        )
    if "1" in ok and "vectorbt" in ok:
        ratio = study_rate("1") / rate("vectorbt")
        print(
            f"jobs=1 study phase (the trials, without start-up and report) vs vectorbt: {ratio:.2f}x "
            f"(target >= {TARGET_VS_VECTORBT}x: {'met' if ratio >= TARGET_VS_VECTORBT else 'NOT met'})"
        )
    if "1" in ok and "1plain" in ok:
        print(f"jobs=1 with the sweep kernel vs --no-fast-path: {rate('1') / rate('1plain'):.2f}x")
    if "1plain" in ok and "vectorbt" in ok:
        print(f"jobs=1 --no-fast-path vs vectorbt's broadcast sweep: {rate('1plain') / rate('vectorbt'):.2f}x")
    if "runner" in ok and "vectorbt" in ok:
        print(f"runner loop (no Optuna) vs vectorbt's broadcast sweep: {rate('runner') / rate('vectorbt'):.2f}x")
    if "1" in ok and "backtesting" in ok:
        print(f"jobs=1 vs backtesting.py optimize: {rate('1') / rate('backtesting'):.1f}x")
    for k, label in (("2", "2 processes"), ("ray", "local Ray, 2 workers")):
        if "1" in ok and k in ok:
            for name, fn in (("whole command", rate), ("study phase", study_rate)):
                per = fn(k) / fn("1") / 2
                print(
                    f"{label}, {name}: {fn(k) / fn('1'):.2f}x jobs=1, {per:.2f} per worker "
                    f"(target >= {TARGET_SCALING}: {'met' if per >= TARGET_SCALING else 'NOT met'})"
                )
    if "1plain" in ok and "2plain" in ok:  # heavier trials: every trial through the engine
        for name, fn in (("whole command", rate), ("study phase", study_rate)):
            per = fn("2plain") / fn("1plain") / 2
            print(
                f"2 processes, every trial through the engine (--no-fast-path), {name}: "
                f"{fn('2plain') / fn('1plain'):.2f}x, {per:.2f} per worker"
            )
    if "1" in ok and "runner" in ok:
        print(
            f"study bookkeeping (Optuna, SQLite, report): {ok['1']['seconds'] - ok['runner']['seconds']:.2f} s of "
            f"{ok['1']['seconds']:.2f} s"
        )
    bests = {k: tuple(v["best"]) for k, v in ok.items()}
    print("same best parameters:", "yes" if len(set(bests.values())) == 1 else f"NO: {bests}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
