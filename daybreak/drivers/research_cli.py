"""Arguments and runs of ``bot.py optimize`` and ``bot.py lookahead`` (wired in :mod:`daybreak.cli`).

Exit codes as every command: 0 ok, 1 runtime failure (Ray unreachable, interrupted), 2 bad input.
``lookahead`` exits 1 when it finds a column that changed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from daybreak.core.config import Config, ConfigError
from daybreak.core.search_space import SpaceError, apply_patch
from daybreak.drivers.executors import default_jobs
from daybreak.drivers.lookahead import check_strategy, format_result
from daybreak.drivers.optimize import (
    OBJECTIVES,
    SAMPLERS,
    SearchError,
    SearchSettings,
    prepare,
    quiet_optuna,
    storage_path,
)
from daybreak.drivers.optimize_ray import RayUnavailable
from daybreak.drivers.replay import ReplayData, load_files
from daybreak.drivers.research import Research
from daybreak.exchange.candle_files import parse_name
from daybreak.ops import config_versions
from daybreak.ops.heap import keep_freed_memory
from daybreak.reporting.optimize_report import print_optimize_report, write_optimize_html, write_optimize_json
from storage import open_store
from strategies import registry


def add_optimize_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--strategy", required=True, help="registered strategy to search (see bot.py strategies)")
    p.add_argument("--data", nargs="+", required=True, metavar="FILE", help="candle files (one symbol each)")
    p.add_argument("--trials", type=int, help="trials to run now (default 100; grid: every point not yet run)")
    p.add_argument(
        "--objective",
        default="sharpe",
        help=f"one objective or several comma-separated (multi-objective): {', '.join(OBJECTIVES)}",
    )
    p.add_argument(
        "--space",
        nargs="+",
        default=[],
        metavar="KEY",
        help="narrow a params field or add a risk key: KEY, KEY=LOW:HIGH[:STEP|:log], KEY=A,B,C, KEY=V",
    )
    p.add_argument("--sampler", choices=SAMPLERS, default="auto", help="auto: TPE (NSGA-II/III for 2/3+ objectives)")
    split = p.add_mutually_exclusive_group()
    split.add_argument("--train-until", metavar="DATE", help="score trials before DATE only; report after it beside")
    split.add_argument("--walk-forward", type=int, metavar="K", help="K rolling train/test folds")
    p.add_argument("--train-blocks", type=int, default=3, help="walk-forward: train length in test lengths (default 3)")
    p.add_argument("--from", dest="start", help="first candle (YYYY-MM-DD or ISO, UTC)")
    p.add_argument("--to", dest="end", help="end (exclusive)")
    p.add_argument("--min-trades", type=int, default=5, help="fewer round trips prune the trial (default 5)")
    p.add_argument("--jobs", type=int, help="worker processes (default: all cores)")
    p.add_argument(
        "--ray", metavar="ADDRESS", help="run trials on a Ray cluster (auto: this machine's, or a local one)"
    )
    p.add_argument("--study", help="study name (resumes it when it exists; default: from the settings)")
    p.add_argument("--seed", type=int, help="sampler seed, for a reproducible search")
    p.add_argument("--top", type=int, default=5, help="best trials to report (default 5)")
    p.add_argument("--mc-runs", type=int, default=1000, help="Monte Carlo resamplings (default 1000)")
    p.add_argument("--json", dest="json_out", metavar="OUT", help="write the JSON report here")
    p.add_argument("--html", dest="html_out", metavar="OUT", help="write the HTML report here")
    p.add_argument("--apply", action="store_true", help="write the best trial's patch into the config file")
    p.add_argument(
        "--no-fast-path",
        action="store_true",
        help="run every trial through the engine (the sweep kernel off: the same results, slower)",
    )


def load_data(paths: list[str | Path], config: Config, start: int | None, end: int | None) -> ReplayData:
    """The candle files, whatever symbols they hold (a search runs on the data's symbols)."""
    symbols = sorted({parse_name(p)[0] for p in paths})
    data = load_files(paths, config.model_copy(update={"symbols": symbols}), start, end)
    if not any(len(f) for f in data.frames.values()):
        raise ConfigError("no candles in the selected span")
    return data


def run_optimize(
    args: argparse.Namespace, config: Config, train_until: int | None, start: int | None, end: int | None
) -> int:
    try:
        raw = json.loads(Path(args.config).read_text(encoding="utf-8"))
        settings = SearchSettings(
            strategy=args.strategy,
            objectives=[o.strip() for o in args.objective.split(",") if o.strip()],
            space=args.space,
            trials=args.trials,
            sampler=args.sampler,
            train_until=train_until,
            walk_forward=args.walk_forward,
            train_blocks=args.train_blocks,
            min_trades=args.min_trades,
            top=args.top,
            seed=args.seed,
            study=args.study,
            mc_runs=args.mc_runs,
        )
        space = prepare(settings)
        data = load_data(args.data, config, start, end)
        if train_until is not None:
            _check_split(data, train_until)
        if args.jobs is not None and args.jobs < 1:
            raise SearchError(f"--jobs {args.jobs}: must be at least 1")
        jobs = args.jobs if args.jobs is not None else (0 if args.ray else default_jobs())
    except (SearchError, SpaceError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    quiet_optuna()
    keep_freed_memory()
    research = Research(
        settings,
        space,
        raw,
        data,
        storage_path(config),
        jobs=jobs,
        ray_address=args.ray,
        fast_path=not args.no_fast_path,
    )
    try:
        report = research.run()
    except (SearchError, SpaceError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except RayUnavailable as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: the trials told so far are stored; run the same command again to resume", file=sys.stderr)
        return 1
    print_optimize_report(report)
    if args.json_out:
        write_optimize_json(report, args.json_out)
        print(f"JSON report: {args.json_out}")
    if args.html_out:
        write_optimize_html(report, args.html_out)
        print(f"HTML report: {args.html_out}")
    if args.apply:
        if not report.get("patch"):
            print("error: --apply: no complete trial, nothing to apply", file=sys.stderr)
            return 1
        fresh = json.loads(Path(args.config).read_text(encoding="utf-8"))
        keys = [f"{section}.{name}" for section, names in report["patch"].items() for name in names]
        store = open_store(config.storage)
        try:
            saved = config_versions.save(
                apply_patch(fresh, report["patch"]),
                args.config,
                store,
                "optimize",
                int(time.time() * 1000),
                f"bot.py optimize --strategy {args.strategy}",
            )
        finally:
            store.close()
        print(f"applied to {args.config} as config version {saved.version.version}: {', '.join(keys)}")
    return 0


def _check_split(data: ReplayData, train_until: int) -> None:
    frames = [f for f in data.frames.values() if len(f)]
    first = min(int(f["timestamp"].iat[0]) for f in frames)
    last = max(int(f["timestamp"].iat[-1]) for f in frames)
    if not first < train_until <= last:
        raise SearchError(
            f"--train-until {train_until}: outside the data ({first} .. {last} ms); it must leave candles on both sides"
        )


def add_lookahead_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--strategy", required=True, help="registered strategy to check (params from the config)")
    p.add_argument("--data", nargs="+", required=True, metavar="FILE", help="candle files (one symbol each)")


def run_lookahead(args: argparse.Namespace, config: Config) -> int:
    if args.strategy not in registry.names():
        print(
            f"error: --strategy {args.strategy!r}: unknown; registered: {', '.join(registry.names())}", file=sys.stderr
        )
        return 2
    strategy = registry.build(args.strategy, config.params.get(args.strategy))
    data = load_data(args.data, config, None, None)
    ok = True
    for symbol, frame in sorted(data.frames.items()):
        result = check_strategy(strategy, frame, symbol, data.timeframe)
        print(format_result(result))
        ok &= result.ok
    return 0 if ok else 1
