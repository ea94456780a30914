"""The research runs behind ``bot.py optimize``: one study (optionally with a held-out test span) or
walk-forward folds, and the report of each: best trials in and out of sample, parameter
importances, the config patch, and the winner's robustness (deflated Sharpe ratio, Monte Carlo).

Report shape (JSON-ready after :func:`daybreak.reporting.render.to_jsonable`), keys:
``study``, ``storage``, ``settings``, ``space`` (dimension descriptions), ``data`` (symbols,
timeframe, start, end ms), ``windows`` ({name: [start, end]} ms, None = open), ``trials``
(counts by state), ``best`` (rows: ``number``, ``values``, ``params``, ``train``/``test`` or
``all`` metrics), ``importances`` ({key: share}), ``patch``, ``deflated_sharpe``,
``monte_carlo``, ``history`` (every trial: ``number``, ``state``, ``score``, ``test``) and, for
walk-forward, ``walk_forward`` (``folds``, ``efficiency``, ``oos`` metrics, ``oos_equity``).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import optuna

from daybreak.core.search_space import Dimension, full_point
from daybreak.drivers.executors import Executor
from daybreak.drivers.optimize import (
    DEFAULT_TRIALS,
    OBJECTIVES,
    SearchSettings,
    fingerprint,
    grid_points,
    make_executor,
    make_sampler,
    open_storage,
    open_study,
    patch_of,
    run_trials,
    settings_dict,
)
from daybreak.drivers.replay import ReplayData
from daybreak.drivers.trials import TrialRunner, Window
from daybreak.reporting.metrics import PERIODS_PER_YEAR, daily_returns, equity_curve, max_drawdown
from daybreak.reporting.result import round_trips
from daybreak.reporting.robustness import (
    chain_equity,
    deflated_sharpe,
    monte_carlo,
    walk_forward_efficiency,
)

DAY_MS = 86_400_000
MAX_EQUITY_POINTS = 2000
COMPLETE = optuna.trial.TrialState.COMPLETE


class Research:
    """One ``bot.py optimize`` run: settings, space, data and where trials run."""

    def __init__(
        self,
        settings: SearchSettings,
        space: list[Dimension],
        raw_config: dict,
        data: ReplayData,
        storage_file: Path,
        jobs: int = 1,
        ray_address: str | None = None,
        fast_path: bool = True,
    ):
        self.settings, self.space, self.data = settings, space, data
        self.raw_config = raw_config
        self.storage_file = storage_file
        self.jobs, self.ray_address = jobs, ray_address
        self.fast_path = fast_path
        self.runner = TrialRunner(raw_config, settings.strategy, data, fast_path=fast_path)
        self._storage: optuna.storages.RDBStorage | None = None
        self._executor: Executor | None = None
        self._ran = [0, 0.0]  # trials run by this command and the wall seconds of running them

    @property
    def storage(self) -> optuna.storages.RDBStorage:
        if self._storage is None:
            self._storage = open_storage(self.storage_file)
        return self._storage

    def executor(self) -> Executor:
        if self._executor is None:
            self._executor = make_executor(
                self.raw_config,
                self.settings.strategy,
                self.data,
                self.jobs,
                self.ray_address,
                self.runner,
                self.fast_path,
            )
        return self._executor

    def close(self) -> None:
        if self._executor is not None:
            self._executor.close()
            self._executor = None

    # -- runs ----------------------------------------------------------------------------------
    def run(self) -> dict:
        """The whole run per the settings; returns the report (module docstring)."""
        try:
            if self.settings.walk_forward:
                return self._walk_forward(self.settings.walk_forward)
            windows = {"all": Window()}
            if self.settings.train_until is not None:
                windows = {"train": Window(None, self.settings.train_until), "test": Window(self.settings.train_until)}
            study = self._study(windows, self.settings.study)
            report = self._summarize(study, windows)
            report.update(self._header(study, windows))
            return report
        finally:
            self.close()

    def _study(self, windows: dict[str, Window], name: str | None, desc: str = "trials") -> optuna.Study:
        s = self.settings
        study = open_study(
            self.storage,
            name,
            s,
            fingerprint(s, self.space, windows, self.data, self.raw_config),
            make_sampler(s, self.executor().slots),
        )
        grid = grid_points(self.space) if s.sampler == "grid" else None
        n = s.trials or (len(grid) if grid is not None else DEFAULT_TRIALS)
        executor = self.executor()  # started (workers up) before the clock
        begin = time.perf_counter()
        self._ran[0] += run_trials(study, self.space, executor, windows, n, s, _score_window(windows), grid, desc)
        self._ran[1] += time.perf_counter() - begin
        return study

    def _walk_forward(self, n_folds: int) -> dict:
        s = self.settings
        folds = fold_windows(self.data, n_folds, s.train_blocks)
        base = s.study or _default_name(s, self.space, self.data, self.raw_config)
        rows, curves, oos_pnls, last = [], [], [], None
        for i, (train, test) in enumerate(folds):
            windows = {"train": train, "test": test}
            study = self._study(windows, f"{base}.fold{i + 1}", desc=f"fold {i + 1}/{len(folds)}")
            best = self._best(study)
            row = {
                "fold": i + 1,
                "study": study.study_name,
                "train": [train.start, train.end],
                "test": [test.start, test.end],
                "trials": _counts(study),
            }
            if best is None:
                rows.append(row)
                continue
            point = full_point(self.space, best.params)
            result = self.runner.run(point, test)
            curve = equity_curve(result)
            curves.append((curve["timestamp"].to_numpy(), curve["equity"].to_numpy()))
            oos_pnls.extend(round_trips(result.trades)["pnl"].tolist())
            row.update(
                params=point,
                values=list(best.values),
                train_metrics=best.user_attrs.get("train"),
                test_metrics=best.user_attrs.get("test"),
                train_days=_days(train, self.data),
                test_days=_days(test, self.data),
            )
            rows.append(row)
            last = (study, best)
        report = self._wf_report(rows, curves, oos_pnls)
        if last is not None:
            report.update(self._summarize(last[0], {"train": folds[-1][0], "test": folds[-1][1]}))
        report.update(self._header(last[0] if last else None, {"folds": Window(folds[0][0].start, None)}))
        report["study"] = base
        return report

    def _wf_report(self, rows: list[dict], curves, oos_pnls: list[float]) -> dict:
        start_balance = float(self.runner.config_for({}).paper.starting_balance)
        ts, eq = chain_equity(curves, start_balance)
        scored = [r for r in rows if "test_metrics" in r]
        wfe = walk_forward_efficiency(
            [
                {
                    "train_return_ratio": r["train_metrics"]["total_return_ratio"],
                    "train_days": r["train_days"],
                    "test_return_ratio": r["test_metrics"]["total_return_ratio"],
                    "test_days": r["test_days"],
                }
                for r in scored
            ]
        )
        oos = {
            "return_ratio": float(eq[-1] / start_balance - 1) if len(eq) else math.nan,
            "max_drawdown_ratio": (
                max_drawdown(np.r_[ts[:1], ts], np.r_[start_balance, eq])["max_drawdown_ratio"] if len(eq) else math.nan
            ),
            "trades": len(oos_pnls),
            "profitable_folds": sum(r["test_metrics"]["total_return_ratio"] > 0 for r in scored),
            "folds": len(rows),
        }
        step = max(1, len(ts) // MAX_EQUITY_POINTS)
        return {
            "walk_forward": {
                "folds": rows,
                "efficiency": wfe,
                "oos": oos,
                "oos_equity": [[int(t), float(e)] for t, e in zip(ts[::step], eq[::step], strict=True)],
                "oos_monte_carlo": monte_carlo(np.array(oos_pnls), start_balance, self.settings.mc_runs),
            }
        }

    # -- summaries -------------------------------------------------------------------------------
    def _best(self, study: optuna.Study) -> optuna.trial.FrozenTrial | None:
        ranked = rank_trials(study, self.settings)
        return ranked[0] if ranked else None

    def _summarize(self, study: optuna.Study, windows: dict[str, Window]) -> dict:
        s = self.settings
        score = _score_window(windows)
        ranked = rank_trials(study, s)
        best: list[dict[str, Any]] = []
        out: dict[str, Any] = {
            "trials": _counts(study),
            "best": best,
            "importances": importances(study),
            "patch": None,
            "deflated_sharpe": None,
            "monte_carlo": None,
            "history": history(study, s, score),
        }
        for t in ranked[: s.top]:
            best.append(
                {
                    "number": t.number,
                    "values": list(t.values),
                    "params": full_point(self.space, t.params),
                    **{w: t.user_attrs.get(w) for w in windows},
                }
            )
        if not ranked:
            return out
        top = ranked[0]
        point = full_point(self.space, top.params)
        out["patch"] = patch_of(s, self.raw_config, self.space, top.params)
        scored = self.runner.run(point, windows[score])
        sharpes = [
            t.user_attrs[score]["sharpe"] / math.sqrt(PERIODS_PER_YEAR)
            for t in study.get_trials(deepcopy=False, states=(COMPLETE,))
        ]
        out["deflated_sharpe"] = deflated_sharpe(
            daily_returns(equity_curve(scored)).to_numpy(), np.array(sharpes), len(sharpes)
        )
        shown = self.runner.run(point, windows["test"]) if "test" in windows else scored
        out["monte_carlo"] = monte_carlo(round_trips(shown.trades)["pnl"].to_numpy(), shown.starting_balance, s.mc_runs)
        out["monte_carlo"]["window"] = "test" if "test" in windows else score
        return out

    def _header(self, study: optuna.Study | None, windows: dict[str, Window]) -> dict:
        frames = [f for f in self.data.frames.values() if len(f)]
        return {
            "study": study.study_name if study else None,
            "storage": str(self.storage_file),
            "settings": settings_dict(self.settings),
            "space": [d.describe() for d in self.space],
            "directions": self.settings.directions(),
            "data": {
                "symbols": sorted(self.data.frames),
                "timeframe": self.data.timeframe,
                "start": min(int(f["timestamp"].iat[0]) for f in frames),
                "end": max(int(f["timestamp"].iat[-1]) for f in frames),
            },
            "windows": {k: [w.start, w.end] for k, w in windows.items()},
            "run": {
                "trials": self._ran[0],
                "seconds": self._ran[1],
                "trials_per_second": self._ran[0] / self._ran[1] if self._ran[0] and self._ran[1] > 0 else None,
            },
        }


def rank_trials(study: optuna.Study, settings: SearchSettings) -> list[optuna.trial.FrozenTrial]:
    """Complete trials, best first: by the objective (one), or the Pareto front ordered by the
    first objective (several)."""
    if len(settings.objectives) > 1:
        trials = list(study.best_trials)
    else:
        trials = study.get_trials(deepcopy=False, states=(COMPLETE,))
    sign = -1 if settings.directions()[0] == "maximize" else 1
    return sorted(trials, key=lambda t: (sign * t.values[0], t.number))


def importances(study: optuna.Study) -> dict[str, float]:
    """Optuna's parameter importances for the first objective (PED-ANOVA, which ranks by low
    values: a maximised objective is negated); {} with too few complete trials."""
    sign = -1.0 if study.directions[0] == optuna.study.StudyDirection.MAXIMIZE else 1.0
    try:
        with warnings.catch_warnings():  # it warns that it ranks low values, which the sign takes care of
            warnings.simplefilter("ignore", UserWarning)
            return dict(optuna.importance.get_param_importances(study, target=lambda t: sign * t.values[0]))
    except (RuntimeError, ValueError, ZeroDivisionError):
        return {}


def history(study: optuna.Study, settings: SearchSettings, score: str) -> list[dict]:
    metric = OBJECTIVES[settings.objectives[0]][0]
    rows = []
    for t in study.get_trials(deepcopy=False):
        test = (t.user_attrs.get("test") or {}).get(metric)
        rows.append(
            {
                "number": t.number,
                "state": t.state.name,
                "score": t.values[0] if t.state == COMPLETE else None,
                "test": test,
                "reason": t.user_attrs.get("infeasible"),
            }
        )
    return rows


def fold_windows(data: ReplayData, folds: int, train_blocks: int) -> list[tuple[Window, Window]]:
    """Rolling walk-forward windows: the span cut into ``folds + train_blocks`` equal blocks;
    fold i trains on blocks ``i .. i + train_blocks - 1`` and tests on block ``i + train_blocks``
    (the last test runs to the end of the data)."""
    frames = [f for f in data.frames.values() if len(f)]
    start = min(int(f["timestamp"].iat[0]) for f in frames)
    end = max(int(f["timestamp"].iat[-1]) for f in frames) + 1
    block = (end - start) / (folds + train_blocks)
    edge = [int(start + round(i * block)) for i in range(folds + train_blocks + 1)]
    return [
        (Window(edge[i], edge[i + train_blocks]), Window(edge[i + train_blocks], edge[i + train_blocks + 1]))
        for i in range(folds)
    ]


def _days(w: Window, data: ReplayData) -> float:
    frames = [f for f in data.frames.values() if len(f)]
    start = w.start if w.start is not None else min(int(f["timestamp"].iat[0]) for f in frames)
    end = w.end if w.end is not None else max(int(f["timestamp"].iat[-1]) for f in frames)
    return max(end - start, 1) / DAY_MS


def _score_window(windows: dict[str, Window]) -> str:
    return "train" if "train" in windows else "all"


def _counts(study: optuna.Study) -> dict[str, int]:
    return dict(Counter(t.state.name.lower() for t in study.get_trials(deepcopy=False)))


def _default_name(settings: SearchSettings, space: list[Dimension], data: ReplayData, raw_config: dict) -> str:
    """Walk-forward studies' base name: the strategy and a digest of the settings and the data."""
    key = fingerprint(
        settings, space, {"walk_forward": Window(settings.walk_forward, settings.train_blocks)}, data, raw_config
    )
    return f"{settings.strategy}-wf-{hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:10]}"
