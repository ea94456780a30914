"""Benchmark: Daybreak's backtest against backtesting.py and vectorbt on 188k real BTC/USDT 1m candles.

What it runs, in one process and on the same candles (``../shared/data/extra/2026-03_to_2026-07/
BTC-USDT_1m.csv.gz``, 188,100 candles; override with ``--data``):

* MA crossover 50/200 in Daybreak (:func:`daybreak.drivers.backtest.run_backtest`), in backtesting.py
  (the setup of :mod:`tests.peers`, which the peer test checks trade for trade) and in vectorbt
  (``vbt.MA`` crossings, ``Portfolio.from_signals`` filling at the next open; timed warm, after a
  first run that compiles its Numba code). All three: fill at the open of the candle after the
  signal, no fee, no slippage, 1 unit per trade, long only. It checks that the three give the
  same trades (entry and exit times) and prints candles/s and Daybreak's ratio to each.
* A plain NumPy pass finding the same crossovers: the physical floor, for reference.
* Daybreak with stop-loss, take-profit and trailing exits enabled.
* Peak RSS of a process loading and backtesting 1,000,000 candles (the real series repeated
  with timestamps shifted so the copies follow on), and of the whole ``bot.py backtest`` on them.
* Wall time of the whole ``python bot.py backtest --data FILE --config CFG`` on the 188k file,
  start-up included.

Candles/s = candles / seconds of the run; reading the candle file is excluded (it is timed and
printed on its own). Times are the best of ``--repeat`` runs (backtesting.py: ``--peer-repeat``).
Each measured value is printed next to the issue's target.

With ``--against [REV]`` it only answers issue 10's question: the same MA crossover backtest on
this tree and on ``REV`` (default ee81106, the tree before the layout redesign, checked out in a
temporary ``git worktree``), alternately A B A B in fresh processes, the ratio of the best times,
whether it is within the 25 % budget, and whether both made the same trades.

Usage: ``python benchmarks/backtest_speed.py [--data FILE] [--repeat N] [--peer-repeat N]
[--against [REV] [--rounds N]]``.
Exits 0 with a message when the data file is missing. vectorbt is not a project dependency
(install it into the venv with ``.venv/bin/pip install vectorbt``); without it that column says
why it is unavailable.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.strategies import best_of, year_of_candles  # noqa: E402
from daybreak.core.config import Config  # noqa: E402
from daybreak.drivers.backtest import run_backtest  # noqa: E402
from daybreak.drivers.replay import ReplayData, load_files  # noqa: E402
from daybreak.ops.config_file import parse_config  # noqa: E402
from daybreak.ops.heap import keep_freed_memory  # noqa: E402
from daybreak.reporting.result import round_trips  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "extra" / "2026-03_to_2026-07" / "BTC-USDT_1m.csv.gz"
SHORT, LONG = 50, 200
CASH = 1_000_000.0
EXIT_RISK = {"stop_loss_ratio": 0.01, "take_profit_ratio": 0.02, "trailing_start_ratio": 0.005, "trailing_ratio": 0.005}
MILLION = 1_000_000

# The targets (issue 5, "Speed and memory").
TARGET_RATE = 5e6
TARGET_VS_BACKTESTING = 30.0
TARGET_VS_VECTORBT = 8.0
TARGET_RATE_EXITS = 1e6
TARGET_RSS_MB = 300.0
TARGET_COMMAND_S = 3.0


def bench_config(risk: dict | None = None, symbol: str = "BTC/USDT") -> dict:
    """The benchmark's config.json: MA crossover 50/200, 1 unit per trade, no fee, no slippage."""
    return {
        "symbols": [symbol],
        "algos": {"MA_Crossover": True},
        "params": {"MA_Crossover": {"short_period": SHORT, "long_period": LONG}},
        "order_size": {"default": {"amount": 1.0}},
        "paper": {"fee_rate": 0.0, "slippage_bps": 0.0, "starting_balance": CASH},
        "risk": risk or {},
    }


def times_of(entries, exits) -> list[tuple[int, int]]:
    return list(zip(map(int, entries), map(int, exits)))


# -- the peers ------------------------------------------------------------------------------------
def backtesting_py(candles: pd.DataFrame, repeat: int) -> dict:
    """backtesting.py as set up in tests/peers.py: seconds (best of ``repeat``) and closed trades."""
    import backtesting

    from tests.peers import closed_trades, ohlcv_frame, run_peer

    ohlcv = ohlcv_frame(candles)
    stats = {}

    def run() -> None:
        with contextlib.redirect_stderr(io.StringIO()):  # its tqdm bar; it refreshes every 2 s at most
            stats["last"] = run_peer(ohlcv, SHORT, LONG, cash=CASH)

    seconds = best_of(run, repeat)
    trades = closed_trades(stats["last"])
    return {
        "name": f"backtesting.py {backtesting.__version__}",
        "seconds": seconds,
        "trades": times_of(trades["entry_time"], trades["exit_time"]),
    }


def vectorbt(candles: pd.DataFrame, repeat: int) -> dict:
    """vectorbt: ``MA`` crossings shifted one candle, ``from_signals`` at the open, then its trade
    records and equity curve (computed lazily by vectorbt; Daybreak's run returns both). Warm timing."""
    try:
        import vectorbt as vbt
    except Exception as err:
        return {"name": "vectorbt", "unavailable": f"{type(err).__name__}: {err}"}
    from tests.peers import ohlcv_frame

    ohlcv = ohlcv_frame(candles)
    close, open_ = ohlcv["Close"], ohlcv["Open"]
    out = {}

    def run() -> None:
        fast, slow = vbt.MA.run(close, SHORT), vbt.MA.run(close, LONG)
        entries = fast.ma_crossed_above(slow).vbt.fshift(1, fill_value=False)
        exits = fast.ma_crossed_below(slow).vbt.fshift(1, fill_value=False)
        pf = vbt.Portfolio.from_signals(
            close,
            entries,
            exits,
            price=open_,
            size=1.0,
            size_type="amount",
            fees=0.0,
            slippage=0.0,
            init_cash=CASH,
            freq="1min",
        )
        # the outputs Daybreak's timed run also produces: the trades and the equity curve
        out["pf"], out["trades"], out["equity"] = pf, pf.trades.records, pf.value()

    start = time.perf_counter()
    run()
    jit = time.perf_counter() - start
    seconds = best_of(run, repeat)
    records = out["pf"].trades.records_readable
    closed = records[records["Status"] == "Closed"]
    ms = lambda col: pd.DatetimeIndex(closed[col]).as_unit("ms").asi8  # noqa: E731
    return {
        "name": f"vectorbt {vbt.__version__} (warm)",
        "seconds": seconds,
        "first_run": jit,
        "trades": times_of(ms("Entry Timestamp"), ms("Exit Timestamp")),
    }


def numpy_floor(candles: pd.DataFrame, repeat: int) -> dict:
    """Crossovers of SMA 50/200 by cumulative sums and boolean masks: no fills, the floor."""
    close = candles["close"].to_numpy(np.float64)
    found = {}

    def run() -> None:
        c = np.concatenate(([0.0], np.cumsum(close)))
        s = (c[LONG:] - c[LONG - SHORT : -SHORT]) / SHORT  # both SMAs on candles LONG-1 .. end
        lg = (c[LONG:] - c[:-LONG]) / LONG
        above = s > lg
        found["up"] = np.flatnonzero(above[1:] & (s[:-1] <= lg[:-1]))
        found["down"] = np.flatnonzero((s[1:] < lg[1:]) & (s[:-1] >= lg[:-1]))

    return {
        "name": "NumPy crossovers (floor)",
        "seconds": best_of(run, repeat),
        "crossings": len(found["up"]) + len(found["down"]),
    }


# -- Daybreak ---------------------------------------------------------------------------------------
def daybreak(config: Config, data: ReplayData, repeat: int, name: str) -> dict:
    out = {}

    def run() -> None:
        out["result"] = run_backtest(config, data, progress=False)

    run()  # first run: imports and caches, as the peers get
    seconds = best_of(run, repeat)
    result = out["result"]
    rt = round_trips(result.trades)
    return {
        "name": name,
        "seconds": seconds,
        "trades": times_of(rt["entry_time"], rt["exit_time"]),
        "exit_reasons": dict(Counter(rt["exit_reason"])),
    }


def profile_daybreak(config: Config, data: ReplayData, top: int, name: str) -> None:
    """cProfile of one Daybreak run: the ``top`` functions by own time and by cumulative time."""
    profiler = cProfile.Profile()
    profiler.runcall(run_backtest, config, data, progress=False)
    for key in ("tottime", "cumulative"):
        print(f"\n{name} profile, top {top} by {key}:")
        stats = pstats.Stats(profiler, stream=sys.stdout)
        stats.strip_dirs().sort_stats(key).print_stats(top)


# -- memory and the whole command (subprocesses) -------------------------------------------------------
def peak_rss_mb() -> float:
    """Peak resident set of this process, MB: ``VmHWM`` of /proc/self/status (Linux).

    Not ``ru_maxrss``: Linux carries the parent's resident set at fork into the child's
    ``ru_maxrss`` across exec, so a child started by this (large) process would report at least
    the parent's size. ``VmHWM`` belongs to the process's own address space, fresh at exec.
    """
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status (Linux only)")


def rss_child(path: Path) -> None:
    """Run in a fresh process: load ``path``, backtest it, print peak RSS (MB) at each stage as JSON."""
    report = {"after_import_mb": peak_rss_mb()}
    config = parse_config(bench_config())
    start = time.perf_counter()
    data = load_files([path], config)
    report.update(
        load_s=time.perf_counter() - start, after_load_mb=peak_rss_mb(), candles=sum(map(len, data.frames.values()))
    )
    start = time.perf_counter()
    result = run_backtest(config, data, progress=False)
    report.update(run_s=time.perf_counter() - start, peak_mb=peak_rss_mb(), fills=len(result.trades))
    print(json.dumps(report))


# ``bot.py`` is ``sys.exit(daybreak.cli.main())``; this is the same with the peak RSS written to argv[1] at the end.
_COMMAND_WITH_PEAK = (
    "import sys; sys.path.insert(0, sys.argv[2]); from daybreak.cli import main; rc = main(sys.argv[3:]); "
    "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0].split()[1]; "
    "open(sys.argv[1], 'w').write(hwm); sys.exit(rc)"
)


def measured(cmd: list[str], cwd: Path) -> dict:
    """Run ``cmd``; wall seconds, exit code, stdout, stderr."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        rc = subprocess.run(cmd, cwd=cwd, stdout=out, stderr=err).returncode
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        return {
            "wall_s": wall,
            "rc": rc,
            "stdout": out.read().decode(errors="replace"),
            "stderr": err.read().decode(errors="replace"),
        }


def command_run(data_path: Path, tmp: Path) -> dict:
    """``python bot.py backtest --data FILE --config CFG`` as a trader runs it: wall time (start-up
    included) of the plain command, then peak RSS (MB) of a second, identical run that reports it."""
    cfg = dict(
        bench_config(),
        storage={"backend": "sqlite", "path": str(tmp / "daybreak.db")},
        log={"path": str(tmp / "daybreak.log"), "level": "INFO"},
    )
    cfg_path = tmp / "config.json"
    cfg_path.write_text(json.dumps(cfg))
    args = ["backtest", "--data", str(data_path), "--config", str(cfg_path)]
    run = measured([sys.executable, str(ROOT / "bot.py"), *args], ROOT)
    if run["rc"] != 0:
        print(f"  bot.py backtest exited {run['rc']}:\n{run['stderr'][-2000:]}")
    hwm = tmp / "peak_kib"
    measured([sys.executable, "-c", _COMMAND_WITH_PEAK, str(hwm), str(ROOT), *args], ROOT)
    run["peak_mb"] = int(hwm.read_text()) / 1024 if hwm.exists() else float("nan")
    return run


# -- against an earlier revision (issue 10's budget) ------------------------------------------------
BASELINE_REV = "ee81106"
"""The tree before the layout redesign (issue 10): the backtest may be at most 25 % slower than it."""
BUDGET_SLOWER = 0.25

# Run in a fresh process with the revision's checkout as working directory (``-c`` puts it first on
# sys.path): the MA crossover backtest of :func:`bench_config`, best of argv[2] runs after one warm
# run, printed as JSON with a digest of the trades. It speaks both layouts: ``daybreak.drivers`` (after
# the redesign) and the flat ``daybreak.backtest`` before it (whose run_backtest applies mallopt itself).
_TIMING_CHILD = """
import hashlib, json, sys, time
from pathlib import Path
try:
    from daybreak.drivers.backtest import run_backtest
    from daybreak.drivers.replay import load_files
    from daybreak.ops.config_file import parse_config
    from daybreak.ops.heap import keep_freed_memory
    keep_freed_memory()
except ImportError:
    from daybreak.backtest import run_backtest
    from daybreak.replay import load_files
    from daybreak.settings import parse_config
config = parse_config(json.loads(sys.argv[3]))
data = load_files([Path(sys.argv[1])], config)
result = run_backtest(config, data, progress=False)
best = float("inf")
for _ in range(int(sys.argv[2])):
    start = time.perf_counter()
    result = run_backtest(config, data, progress=False)
    best = min(best, time.perf_counter() - start)
digest = hashlib.sha256()
for t in result.trades:
    action = getattr(t.action, "value", t.action)
    digest.update(repr((t.timestamp, t.algo, t.symbol, action, t.amount, t.price, t.fee, t.pnl)).encode())
print(json.dumps({"seconds": best, "fills": len(result.trades), "trades": digest.hexdigest()}))
"""


def time_tree(root: Path, data_path: Path, repeat: int) -> dict:
    """Best-of-``repeat`` seconds of the benchmark backtest in a fresh process on the tree ``root``."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    args = [sys.executable, "-c", _TIMING_CHILD, str(data_path), str(repeat), json.dumps(bench_config())]
    run = subprocess.run(args, cwd=root, env=env, capture_output=True, text=True, check=False)
    if run.returncode != 0:
        raise RuntimeError(f"timing run in {root} exited {run.returncode}:\n{run.stderr[-2000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def against(rev: str, data_path: Path, repeat: int, rounds: int) -> int:
    """Time this tree and ``rev`` (checked out in a temporary ``git worktree``) alternately, A B A B,
    each run in a fresh process; print both, the ratio of the best times and whether it is within
    issue 10's budget. Exit code 1 when it is not or the trades differ."""
    with tempfile.TemporaryDirectory(prefix="daybreak-against-") as tmpdir:
        other = Path(tmpdir) / "tree"
        git = ["git", "-C", str(ROOT)]
        subprocess.run([*git, "worktree", "add", "--detach", "--quiet", str(other), rev], check=True)
        try:
            here = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True)
            dirty = subprocess.run(
                [*git, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True
            )
            name = here.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")
            print(
                f"MA crossover {SHORT}/{LONG} on {data_path.name}: this tree ({name}) against {rev}, best of {repeat} runs"
            )
            print(f"per fresh process, {rounds} rounds alternating A B A B\n")
            mine, theirs = [], []
            for i in range(rounds):
                mine.append(time_tree(ROOT, data_path, repeat))
                theirs.append(time_tree(other, data_path, repeat))
                ratio = mine[-1]["seconds"] / theirs[-1]["seconds"]
                print(
                    f"round {i + 1}: this tree {mine[-1]['seconds'] * 1e3:7.2f} ms   {rev} {theirs[-1]['seconds'] * 1e3:7.2f} ms   ratio {ratio:.3f}"
                )
        finally:
            subprocess.run([*git, "worktree", "remove", "--force", str(other)], check=False)
    best_mine = min(r["seconds"] for r in mine)
    best_theirs = min(r["seconds"] for r in theirs)
    ratio = best_mine / best_theirs
    ratios = sorted(a["seconds"] / b["seconds"] for a, b in zip(mine, theirs, strict=True))
    ok = ratio <= 1.0 + BUDGET_SLOWER
    same_trades = len({r["trades"] for r in mine + theirs}) == 1
    print(
        f"\nbest: this tree {best_mine * 1e3:.2f} ms, {rev} {best_theirs * 1e3:.2f} ms: ratio {ratio:.3f} "
        f"({(ratio - 1) * 100:+.1f} %); median of the rounds' ratios {ratios[len(ratios) // 2]:.3f}"
    )
    print(f"within issue 10's budget (at most {BUDGET_SLOWER:.0%} slower than {rev}): {'yes' if ok else 'NO'}")
    print(
        f"same trades: {'yes' if same_trades else 'NO'} ({mine[0]['fills']} fills here, {theirs[0]['fills']} in {rev})"
    )
    return 0 if ok and same_trades else 1


# -- printing ----------------------------------------------------------------------------------------
def rate(candles: int, seconds: float) -> float:
    return candles / seconds if seconds > 0 else float("inf")


def human(x: float) -> str:
    return f"{x / 1e6:.2f}M" if x >= 1e6 else f"{x / 1e3:.1f}k"


def same(a: list, b: list) -> str:
    if a == b:
        return f"yes ({len(a)} trades)"
    diff = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    return f"NO: {len(a)} vs {len(b)} trades, first difference at trade {diff}"


def main(argv: list[str] | None = None) -> int:
    keep_freed_memory()  # what `bot.py backtest` applies to its own process (daybreak/ops/heap.py)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="1m candle file named like BTC-USDT_1m.csv.gz")
    parser.add_argument(
        "--repeat",
        type=int,
        default=20,
        help="timed runs of Daybreak, vectorbt and NumPy; the best counts (runs of 30-60 ms vary by a third on a shared VM)",
    )
    parser.add_argument(
        "--peer-repeat", type=int, default=1, help="timed runs of backtesting.py (slow); the best counts"
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="also print the N costliest functions (cProfile) of one Daybreak run",
    )
    parser.add_argument(
        "--against",
        nargs="?",
        const=BASELINE_REV,
        metavar="REV",
        help=f"only compare with git revision REV (default {BASELINE_REV}, before the layout redesign): "
        "the MA crossover timed alternately in fresh processes, the ratio and issue 10's 25 %% budget",
    )
    parser.add_argument("--rounds", type=int, default=5, help="with --against: A B rounds (each a fresh process)")
    parser.add_argument("--rss-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rss_child:
        rss_child(args.rss_child)
        return 0
    if not args.data.exists():
        print(f"skipped: {args.data} not found (the real 188,100-candle BTC/USDT 1m series in ../shared/data)")
        return 0
    if args.against:
        return against(args.against, args.data.resolve(), args.repeat, args.rounds)

    config = parse_config(bench_config())
    start = time.perf_counter()
    data = load_files([args.data], config)
    load_s = time.perf_counter() - start
    candles = data.frames["BTC/USDT"]
    n = len(candles)
    print(f"data: {args.data} ({n:,} candles; loading took {load_s:.2f} s, excluded below)")
    print(f"MA crossover {SHORT}/{LONG}, fill at next open, no fee, no slippage, 1 BTC per trade\n")

    ours = daybreak(config, data, args.repeat, "Daybreak")
    exits = daybreak(parse_config(bench_config(EXIT_RISK)), data, args.repeat, "Daybreak + SL/TP/trailing")
    peers = [backtesting_py(candles, args.peer_repeat), vectorbt(candles, args.repeat)]
    floor = numpy_floor(candles, args.repeat)

    print(f"{'engine':<30}{'seconds':>10}{'candles/s':>12}{'trades':>8}   Daybreak is")
    for row in [ours, *peers, floor, exits]:
        if "unavailable" in row:
            print(f"{row['name']:<30}  unavailable: {row['unavailable']}")
            continue
        r = rate(n, row["seconds"])
        count = len(row["trades"]) if "trades" in row else row["crossings"]
        ratio = "" if row is ours or row is exits else f"{row['seconds'] / ours['seconds']:.2f}x as fast"
        print(f"{row['name']:<30}{row['seconds']:>10.4f}{human(r):>12}{count:>8}   {ratio}")
    print(
        f"  (NumPy row counts crossings, up and down; vectorbt's first run incl. JIT: "
        f"{peers[1].get('first_run', float('nan')):.2f} s; exits: {exits['exit_reasons']})\n"
    )

    for peer in peers:
        if "trades" in peer:
            print(
                f"same trades (entry, exit times), Daybreak vs {peer['name']}: {same(ours['trades'], peer['trades'])}"
            )

    with tempfile.TemporaryDirectory(prefix="daybreak-bench-") as tmpdir:
        tmp = Path(tmpdir)
        million = tmp / "BTC-USDT_1m.csv"
        year_of_candles(candles, MILLION).to_csv(million, index=False)
        child = measured([sys.executable, str(Path(__file__).resolve()), "--rss-child", str(million)], ROOT)
        if child["rc"] != 0:
            print(f"1M-candle child exited {child['rc']}:\n{child['stderr'][-2000:]}")
            return 1
        mem = json.loads(child["stdout"].strip().splitlines()[-1])
        (tmp / "big").mkdir()
        big_cmd = command_run(million, tmp / "big")
        cmd = command_run(args.data, tmp)
    print(
        f"\n1M candles, fresh process: peak RSS {mem['after_import_mb']:.0f} MB after imports, "
        f"{mem['after_load_mb']:.0f} MB after loading ({mem['load_s']:.2f} s), {mem['peak_mb']:.0f} MB after "
        f"run_backtest ({mem['run_s']:.2f} s, {human(rate(mem['candles'], mem['run_s']))} candles/s, {mem['fills']} fills)"
    )
    print(f"1M candles, whole bot.py backtest: {big_cmd['wall_s']:.2f} s wall, peak RSS {big_cmd['peak_mb']:.0f} MB")
    print(
        f"188k candles, whole bot.py backtest: {cmd['wall_s']:.2f} s wall (start-up included), peak RSS {cmd['peak_mb']:.0f} MB"
    )

    if args.profile:
        profile_daybreak(config, data, args.profile, ours["name"])
        profile_daybreak(parse_config(bench_config(EXIT_RISK)), data, args.profile, exits["name"])

    vb = peers[1]
    rows = [
        (
            "Daybreak candles/s",
            f">= {human(TARGET_RATE)}",
            human(rate(n, ours["seconds"])),
            rate(n, ours["seconds"]) >= TARGET_RATE,
        ),
        (
            "vs backtesting.py",
            f"> {TARGET_VS_BACKTESTING:.0f}x",
            f"{peers[0]['seconds'] / ours['seconds']:.1f}x",
            peers[0]["seconds"] / ours["seconds"] > TARGET_VS_BACKTESTING,
        ),
        (
            "vs vectorbt (warm)",
            f"> {TARGET_VS_VECTORBT:.0f}x",
            "unavailable" if "unavailable" in vb else f"{vb['seconds'] / ours['seconds']:.2f}x",
            None if "unavailable" in vb else vb["seconds"] / ours["seconds"] > TARGET_VS_VECTORBT,
        ),
        (
            "with SL/TP/trailing candles/s",
            f">= {human(TARGET_RATE_EXITS)}",
            human(rate(n, exits["seconds"])),
            rate(n, exits["seconds"]) >= TARGET_RATE_EXITS,
        ),
        (
            "peak RSS, 1M candles (load+run)",
            f"< {TARGET_RSS_MB:.0f} MB",
            f"{mem['peak_mb']:.0f} MB",
            mem["peak_mb"] < TARGET_RSS_MB,
        ),
        (
            "peak RSS, 1M, whole command",
            f"< {TARGET_RSS_MB:.0f} MB",
            f"{big_cmd['peak_mb']:.0f} MB",
            big_cmd["peak_mb"] < TARGET_RSS_MB,
        ),
        (
            "bot.py backtest on 188k, wall",
            f"< {TARGET_COMMAND_S:.0f} s",
            f"{cmd['wall_s']:.2f} s",
            cmd["wall_s"] < TARGET_COMMAND_S,
        ),
    ]
    print(f"\n{'target (issue 5)':<34}{'wanted':>12}{'measured':>14}   met")
    for label, want, got, ok in rows:
        print(f"{label:<34}{want:>12}{got:>14}   {'-' if ok is None else 'yes' if ok else 'NO'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
