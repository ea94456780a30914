"""A run asks and tells on an in-memory copy of the study and writes finished trials to the SQLite
file in batches: what ends up in the file is every finished trial once, also when the run is
interrupted, and a resumed grid run asks only for the points not written yet."""

from __future__ import annotations

import math

import optuna
import pytest

from daybreak.drivers import optimize
from daybreak.drivers.optimize import SearchSettings, grid_points, open_storage, open_study, prepare, run_trials
from daybreak.drivers.trials import TRIAL_METRICS, TrialOutcome, Window

WINDOWS = {"all": Window()}


class FakeExecutor:
    """Outcomes from the point alone (profit = short * long); raises KeyboardInterrupt at the
    ``stop_after``-th finished trial, as a Ctrl-C in the middle of a run."""

    slots = 1
    depth = 2

    def __init__(self, stop_after: int | None = None):
        self.queue: list[tuple[object, dict]] = []
        self.done = 0
        self.stop_after = stop_after

    def submit(self, tag, point, windows):
        self.queue.append((tag, point))

    def next_done(self):
        if self.stop_after is not None and self.done == self.stop_after:
            raise KeyboardInterrupt
        self.done += 1
        tag, point = self.queue.pop(0)
        short, long = point["params.short_period"], point["params.long_period"]
        if short >= long:
            return tag, TrialOutcome(infeasible="short_period must be below long_period")
        metrics = dict.fromkeys(TRIAL_METRICS, 0.0) | {"profit": float(short * long), "trades": 10.0}
        return tag, TrialOutcome({"all": metrics})

    def close(self):
        pass


def _run(tmp_path, executor, n=100):
    settings = SearchSettings("MA_Crossover", objectives=["profit"], sampler="grid", min_trades=0, study="g")
    settings.space = ["short_period=10:30:10", "long_period=20:40:10"]
    space = prepare(settings)
    storage = open_storage(tmp_path / "s.db")
    study = open_study(storage, "g", settings, {"k": 1}, optuna.samplers.RandomSampler(seed=1))
    grid = grid_points(space)
    try:
        run_trials(study, space, executor, WINDOWS, n, settings, "all", grid)
    finally:
        stored = optuna.load_study(study_name="g", storage=open_storage(tmp_path / "s.db")).get_trials(deepcopy=False)
    return grid, stored


@pytest.mark.parametrize("flush_seconds", [0.0, 3600.0])
def test_every_finished_trial_is_written_once_with_its_metrics(tmp_path, monkeypatch, flush_seconds):
    monkeypatch.setattr(optimize, "FLUSH_SECONDS", flush_seconds)
    grid, stored = _run(tmp_path, FakeExecutor())
    assert len(stored) == len(grid) == 9
    assert sorted(str(t.params) for t in stored) == sorted(str(p) for p in grid)
    assert [t.number for t in stored] == list(range(9))
    for t in stored:
        short, long = t.params["params.short_period"], t.params["params.long_period"]
        assert "fixed_params" not in t.system_attrs
        assert t.datetime_start is not None and t.datetime_complete is not None
        if short >= long:
            assert t.state == optuna.trial.TrialState.PRUNED and "below" in t.user_attrs["infeasible"]
        else:
            assert t.state == optuna.trial.TrialState.COMPLETE
            assert t.value == short * long == t.user_attrs["all"]["profit"]
            assert not math.isnan(t.user_attrs["all"]["trades"])


def test_an_interrupted_run_keeps_its_finished_trials_and_a_resumed_one_asks_for_the_rest(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path, FakeExecutor(stop_after=4))
    study = optuna.load_study(study_name="g", storage=open_storage(tmp_path / "s.db"))
    first = study.get_trials(deepcopy=False)
    assert len(first) == 4 and all(t.state.is_finished() for t in first)  # nothing left RUNNING
    grid, stored = _run(tmp_path, FakeExecutor())
    assert len(stored) == len(grid)
    assert sorted(str(t.params) for t in stored) == sorted(str(p) for p in grid)
