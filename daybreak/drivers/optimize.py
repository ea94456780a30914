"""``bot.py optimize``: an Optuna study over a strategy's parameters (and chosen risk keys), every
trial the real backtest, validated out of sample.

* Sampler: TPE by default (multivariate), NSGA-II for two objectives and NSGA-III for three or
  more, ``random``, or ``grid`` (every point of a discrete space, each once, also across resumed
  runs). Directions: every objective is maximised except ``max_drawdown``.
* The study lives in Optuna's RDB storage, a SQLite file beside the store
  (:func:`storage_path`), named by ``--study`` or by a digest of the settings, so the same command
  run again resumes it. Each trial stores its metrics per window as user attributes
  (``train``/``test`` or ``all``: :data:`~daybreak.drivers.trials.TRIAL_METRICS`, one JSON value
  per window). A run asks and tells its trials on an in-memory copy of the study and writes the
  finished ones to the file in batches (every :data:`FLUSH_SECONDS` and when the run ends or is
  interrupted): Optuna's RDB storage costs several SQLAlchemy transactions per asked and told
  trial, a batch one insert per trial. A run killed outright loses at most the last
  :data:`FLUSH_SECONDS` of trials; ``--study`` resumes from what was written.
* A trial is pruned, with the reason in its ``infeasible`` attribute, when its point is not a
  valid config (e.g. ``short_period >= long_period``), when it made fewer than ``min_trades``
  round trips, or when an objective is undefined (nan, e.g. a Sharpe ratio of fewer than two
  daily returns). TPE treats pruned trials as bad ones.
* ``train_until``: trials are scored on the candles before it only; their metrics after it are
  stored beside (the sampler never sees them) and reported side by side.
  Walk-forward folds: :mod:`daybreak.drivers.walk_forward`.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import optuna
from sqlalchemy import event
from tqdm import tqdm

from daybreak.core.config import Config
from daybreak.core.search_space import Dimension, build_space, config_patch, full_point, searched
from daybreak.drivers.executors import Executor, InlineExecutor, ProcessExecutor
from daybreak.drivers.replay import ReplayData
from daybreak.drivers.trials import TrialOutcome, TrialRunner, Window
from strategies import registry

Direction = Literal["minimize", "maximize"]

OBJECTIVES: dict[str, tuple[str, Direction]] = {
    "sharpe": ("sharpe", "maximize"),
    "sortino": ("sortino", "maximize"),
    "calmar": ("calmar", "maximize"),
    "profit": ("profit", "maximize"),
    "profit_drawdown": ("recovery_factor", "maximize"),
    "sqn": ("sqn", "maximize"),
    "max_drawdown": ("max_drawdown_ratio", "minimize"),
    "return": ("total_return_ratio", "maximize"),
    "profit_factor": ("profit_factor", "maximize"),
    "win_rate": ("win_rate", "maximize"),
    "expectancy": ("expectancy_ratio", "maximize"),
}
"""Objective name -> (metric key of :data:`~daybreak.drivers.trials.TRIAL_METRICS`, direction)."""
SAMPLERS = ("auto", "tpe", "random", "grid")
DEFAULT_TRIALS = 100
FLUSH_SECONDS = 10.0
"""How often a run writes its finished trials to the study's file (seconds of wall time)."""


class SearchError(ValueError):
    """Bad search settings (unknown objective, a grid over a continuous range, a study made with
    other settings); the message names the setting and the value."""


@dataclass
class SearchSettings:
    """What ``bot.py optimize`` was asked for (see ``docs/optimize.md``)."""

    strategy: str
    objectives: list[str] = field(default_factory=lambda: ["sharpe"])
    space: list[str] = field(default_factory=list)
    trials: int | None = None
    sampler: str = "auto"
    train_until: int | None = None
    walk_forward: int | None = None
    train_blocks: int = 3
    min_trades: int = 5
    top: int = 5
    seed: int | None = None
    study: str | None = None
    mc_runs: int = 1000

    def check(self) -> None:
        """Raises SearchError naming the first bad setting."""
        if self.strategy not in registry.names():
            raise SearchError(f"--strategy {self.strategy!r}: unknown; registered: {', '.join(registry.names())}")
        for name in self.objectives:
            if name not in OBJECTIVES:
                raise SearchError(f"--objective {name!r}: unknown; one of {', '.join(OBJECTIVES)}")
        if len(set(self.objectives)) != len(self.objectives):
            raise SearchError(f"--objective {','.join(self.objectives)}: an objective is named twice")
        if self.sampler not in SAMPLERS:
            raise SearchError(f"--sampler {self.sampler!r}: one of {', '.join(SAMPLERS)}")
        if self.train_until is not None and self.walk_forward is not None:
            raise SearchError("--train-until and --walk-forward: give one of them")
        if self.walk_forward is not None and not 1 <= self.walk_forward <= 50:
            raise SearchError(f"--walk-forward {self.walk_forward}: between 1 and 50 folds")
        for name, value, low in (
            ("--trials", self.trials, 1),
            ("--train-blocks", self.train_blocks, 1),
            ("--min-trades", self.min_trades, 0),
            ("--top", self.top, 1),
            ("--mc-runs", self.mc_runs, 0),
        ):
            if value is not None and value < low:
                raise SearchError(f"{name} {value}: must be at least {low}")

    def directions(self) -> list[Direction]:
        return [OBJECTIVES[o][1] for o in self.objectives]


def storage_path(config: Config) -> Path:
    """The SQLite file of the studies: ``<store>.studies.db`` beside the SQLite store
    (``data/daybreak.db`` -> ``data/daybreak.studies.db``), ``data/studies.db`` for DynamoDB."""
    if config.storage.backend == "sqlite":
        p = Path(config.storage.path)
        return p.with_name(p.stem + ".studies.db")
    return Path("data") / "studies.db"


def open_storage(path: Path) -> optuna.storages.RDBStorage:
    """Optuna's RDB storage in the SQLite file ``path`` (created with its folder; WAL journal so
    that reading a study while it runs does not block it, ``synchronous=NORMAL``: a commit does
    not wait for the disk, a power cut may lose the last commits but never corrupts the file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    storage = optuna.storages.RDBStorage(f"sqlite:///{path}", engine_kwargs={"connect_args": {"timeout": 60}})
    event.listen(storage.engine, "connect", _sqlite_pragmas)
    storage.engine.dispose()  # the connection that created the schema had no pragmas
    with storage.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA journal_mode=WAL")
    return storage


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_sampler(settings: SearchSettings, jobs: int) -> optuna.samplers.BaseSampler:
    n_obj, seed = len(settings.objectives), settings.seed
    if settings.sampler in ("random", "grid"):
        return optuna.samplers.RandomSampler(seed=seed)
    if n_obj == 2 and settings.sampler == "auto":
        return optuna.samplers.NSGAIISampler(seed=seed)
    if n_obj >= 3 and settings.sampler == "auto":
        return optuna.samplers.NSGAIIISampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed, multivariate=True, constant_liar=jobs > 1, n_startup_trials=10)


def distribution(d: Dimension) -> optuna.distributions.BaseDistribution:
    """The Optuna distribution of a searched dimension."""
    if d.kind == "int":
        low, high = d.span()
        return optuna.distributions.IntDistribution(int(low), int(high), log=d.log, step=int(d.step or 1))
    if d.kind == "float":
        low, high = d.span()
        return optuna.distributions.FloatDistribution(float(low), float(high), log=d.log, step=d.step)
    return optuna.distributions.CategoricalDistribution(list(d.options()))


def fingerprint(
    settings: SearchSettings, space: list[Dimension], windows: dict[str, Window], data: ReplayData, raw_config: dict
) -> dict:
    """What makes two runs the same study: strategy, objectives, space, windows, data and the
    config the points are applied to (the searched strategy's params and overrides excluded)."""
    base = {k: v for k, v in raw_config.items() if k not in ("params", "risk_overrides", "algos", "storage", "log")}
    base["risk_overrides"] = {
        k: v for k, v in (raw_config.get("risk_overrides") or {}).items() if k != settings.strategy
    }
    spans = {
        s: [int(f["timestamp"].iat[0]), int(f["timestamp"].iat[-1])] for s, f in sorted(data.frames.items()) if len(f)
    }
    return {
        "strategy": settings.strategy,
        "objectives": settings.objectives,
        "space": [d.describe() for d in space],
        "windows": {k: [w.start, w.end] for k, w in windows.items()},
        "timeframe": data.timeframe,
        "candles": spans,
        "config": base,
        "min_trades": settings.min_trades,
    }


def open_study(
    storage: str | optuna.storages.BaseStorage,
    name: str | None,
    settings: SearchSettings,
    print_: dict,
    sampler: optuna.samplers.BaseSampler,
) -> optuna.Study:
    """Create or resume the study. Raises SearchError when ``name`` exists with other settings."""
    digest = hashlib.sha256(json.dumps(print_, sort_keys=True, default=str).encode()).hexdigest()[:10]
    name = name or f"{settings.strategy}-{digest}"
    study = optuna.create_study(
        storage=storage, study_name=name, directions=settings.directions(), sampler=sampler, load_if_exists=True
    )
    known = study.user_attrs.get("settings")
    if known is None:
        study.set_user_attr("settings", print_)
    elif json.dumps(known, sort_keys=True, default=str) != json.dumps(print_, sort_keys=True, default=str):
        diff = sorted(
            k
            for k in set(known) | set(print_)
            if json.dumps(known.get(k), sort_keys=True, default=str)
            != json.dumps(print_.get(k), sort_keys=True, default=str)
        )
        raise SearchError(f"--study {name}: made with other settings ({', '.join(diff)}); give another --study name")
    return study


def grid_points(space: list[Dimension]) -> list[dict]:
    """Every point of a discrete space, in a fixed order. Raises SearchError for a float range
    without a step."""
    dims = searched(space)
    try:
        values = [d.grid() for d in dims]
    except ValueError as err:
        raise SearchError(f"--sampler grid: {err}") from None
    return [dict(zip([d.key for d in dims], combo, strict=True)) for combo in itertools.product(*values)]


def _key(params: dict) -> str:
    return json.dumps(params, sort_keys=True, default=str)


def run_trials(
    study: optuna.Study,
    space: list[Dimension],
    executor: Executor,
    windows: dict[str, Window],
    n_trials: int,
    settings: SearchSettings,
    score_window: str,
    grid: list[dict] | None = None,
    desc: str = "trials",
) -> int:
    """Ask, run and tell ``n_trials`` trials (fewer when a grid runs out). Returns how many ran.

    The trials are asked and told on an in-memory copy of ``study`` (its finished trials, the
    same sampler) and written to ``study``'s storage in batches (module docstring); trials still
    running when the run stops are not written (a resumed run asks for them again)."""
    dists = {d.key: distribution(d) for d in searched(space)}
    past = [t for t in study.get_trials(deepcopy=False) if t.state.is_finished()]
    if grid is not None:
        seen = {_key(t.params) for t in past if t.state in (optuna.trial.TrialState.COMPLETE, _PRUNED)}
        todo = iter([p for p in grid if _key(p) not in seen][:n_trials])
        n_trials = min(n_trials, len(grid) - len(seen & {_key(p) for p in grid}))
    local = optuna.create_study(
        storage=optuna.storages.InMemoryStorage(), directions=study.directions, sampler=study.sampler
    )
    local.add_trials(past)
    written: set[int] = set()  # numbers in ``local`` of this run's trials already in ``study``
    last_flush = time.monotonic()
    asked, told = 0, 0
    running: dict[object, optuna.Trial] = {}
    depth = executor.depth
    bar = tqdm(total=n_trials, desc=desc, unit="trial", leave=False, disable=None)
    try:
        while told < n_trials:
            while asked < n_trials and len(running) < depth:
                if grid is not None:
                    local.enqueue_trial(next(todo))
                trial = local.ask(dists)
                running[trial.number] = trial
                executor.submit(trial.number, full_point(space, trial.params), windows)
                asked += 1
            number, outcome = executor.next_done()
            tell(local, running.pop(number), outcome, settings, score_window)
            told += 1
            bar.update(1)
            if time.monotonic() - last_flush >= FLUSH_SECONDS:
                flush_trials(study, local.get_trials(deepcopy=False)[len(past) :], written)
                last_flush = time.monotonic()
    finally:
        bar.close()
        flush_trials(study, local.get_trials(deepcopy=False)[len(past) :], written)
    return told


_PRUNED = optuna.trial.TrialState.PRUNED
_FIXED = "fixed_params"  # the system attribute of an enqueued point: nothing reads it once finished


def flush_trials(study: optuna.Study, trials: list[optuna.trial.FrozenTrial], written: set[int]) -> None:
    """Write the finished ``trials`` whose numbers are not in ``written`` to ``study`` (in number
    order, without the enqueued point's system attribute) and add their numbers to ``written``."""
    todo = [t for t in trials if t.state.is_finished() and t.number not in written]
    if not todo:
        return
    study.add_trials(
        [
            optuna.trial.FrozenTrial(
                number=t.number,
                state=t.state,
                value=None,
                values=t.values,
                datetime_start=t.datetime_start,
                datetime_complete=t.datetime_complete,
                params=t.params,
                distributions=t.distributions,
                user_attrs=t.user_attrs,
                system_attrs={k: v for k, v in t.system_attrs.items() if k != _FIXED},
                intermediate_values=t.intermediate_values,
                trial_id=t._trial_id,
            )
            for t in todo
        ]
    )
    written.update(t.number for t in todo)


def tell(
    study: optuna.Study, trial: optuna.Trial, outcome: TrialOutcome, settings: SearchSettings, score_window: str
) -> None:
    """Record a trial's metrics (user attributes) and its objective values, or prune it with the reason."""
    for window, metrics in outcome.metrics.items():
        trial.set_user_attr(window, metrics)
    reason = outcome.infeasible
    if reason is None:
        metrics = outcome.metrics[score_window]
        values = [metrics[OBJECTIVES[o][0]] for o in settings.objectives]
        if metrics["trades"] < settings.min_trades:
            reason = f"{metrics['trades']:.0f} round trips < min_trades {settings.min_trades}"
        elif any(math.isnan(v) for v in values):
            reason = "objective undefined (nan): " + ", ".join(
                o for o, v in zip(settings.objectives, values, strict=True) if math.isnan(v)
            )
    if reason is not None:
        trial.set_user_attr("infeasible", reason)
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    else:
        study.tell(trial, values)


def make_executor(
    raw_config: dict,
    strategy: str,
    data: ReplayData,
    jobs: int,
    ray_address: str | None,
    runner: TrialRunner,
    fast_path: bool = True,
) -> Executor:
    """Where the trials run: Ray tasks (``ray_address``), this process (``jobs`` <= 1: ``runner``)
    or ``jobs`` worker processes; ``fast_path``: the workers' :class:`TrialRunner` setting."""
    if ray_address:
        from daybreak.drivers.optimize_ray import RayExecutor  # lazy: Ray is optional

        return RayExecutor(raw_config, strategy, data, ray_address, jobs or None, fast_path=fast_path)
    if jobs <= 1:
        return InlineExecutor(runner)
    return ProcessExecutor(raw_config, strategy, data, jobs, fast_path=fast_path)


def quiet_optuna() -> None:
    """Optuna logs one INFO line per trial; the progress bar and the report say it instead."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger("optuna").propagate = False


def prepare(settings: SearchSettings) -> list[Dimension]:
    """Check the settings and build the search space. Raises SearchError / SpaceError."""
    settings.check()
    space = build_space(registry.params_model(settings.strategy), settings.space)
    if not searched(space):
        raise SearchError("the search space is empty: every key is fixed")
    if settings.sampler == "grid":
        grid_points(space)
    return space


def settings_dict(settings: SearchSettings) -> dict:
    return asdict(settings)


def patch_of(settings: SearchSettings, raw_config: dict, space: list[Dimension], params: dict) -> dict:
    """The config patch of a trial's sampled ``params`` (fixed dimensions included)."""
    return config_patch(settings.strategy, raw_config, full_point(space, params))
