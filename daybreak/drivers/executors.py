"""Where a search's trials run: in this process, in N worker processes, or as Ray tasks.

The study stays in the driving process (:mod:`daybreak.drivers.optimize`): it asks the sampler for a
point, hands it to an executor, and tells the study the outcome. Workers never touch the study's
storage, so a Ray worker on another machine needs no access to the SQLite file, and N local
processes never contend for its lock. Each worker holds one
:class:`~daybreak.drivers.trials.TrialRunner`: the candles loaded once per worker, its indicator
memo and signal cache kept across the trials it runs.

An executor has ``slots`` (trials it runs at once), ``depth`` (trials the driver keeps submitted:
twice the slots for workers, so that a worker finds its next trial queued while the driver tells
the last one), ``submit(tag, point, windows)`` and ``next_done() -> (tag, TrialOutcome)`` (blocks
until one finishes), and ``close()``.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Protocol

from daybreak.drivers.replay import ReplayData
from daybreak.drivers.trials import TrialOutcome, TrialRunner, Window


class Executor(Protocol):
    """What runs a search's trials (see the module docstring); ``tag`` comes back with the outcome."""

    slots: int
    depth: int

    def submit(self, tag: object, point: dict, windows: dict[str, Window]) -> None: ...

    def next_done(self) -> tuple[object, TrialOutcome]: ...

    def close(self) -> None: ...


class InlineExecutor:
    """Trials one after the other in this process (``--jobs 1``)."""

    slots = 1
    depth = 1

    def __init__(self, runner: TrialRunner):
        self.runner = runner
        self._done: deque[tuple[object, TrialOutcome]] = deque()

    def submit(self, tag: object, point: dict, windows: dict[str, Window]) -> None:
        self._done.append((tag, self.runner.evaluate(point, windows)))

    def next_done(self) -> tuple[object, TrialOutcome]:
        return self._done.popleft()

    def close(self) -> None:
        pass


_WORKER: dict[str, TrialRunner] = {}
"""The runner of a worker process, set by :func:`_init_worker` in that child only (a process
pool's initializer can hand state to later tasks only through the worker's module; the parent's
stays empty)."""


def _init_worker(raw_config: dict, strategy: str, data: ReplayData, fast_path: bool) -> None:
    _WORKER["runner"] = TrialRunner(raw_config, strategy, data, fast_path=fast_path)


def _evaluate(point: dict, windows: dict[str, Window]) -> TrialOutcome:
    return _WORKER["runner"].evaluate(point, windows)


class ProcessExecutor:
    """``jobs`` worker processes on this machine (``--jobs N``). Workers are forked where the
    platform allows, so they share the parent's loaded candles copy-on-write; elsewhere the
    candles are sent to each worker once, when it starts."""

    def __init__(self, raw_config: dict, strategy: str, data: ReplayData, jobs: int, fast_path: bool = True):
        self.slots = jobs
        self.depth = 2 * jobs
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        self._pool = ProcessPoolExecutor(
            max_workers=jobs,
            mp_context=multiprocessing.get_context(method),
            initializer=_init_worker,
            initargs=(raw_config, strategy, data, fast_path),
        )
        self._running: dict[Future, object] = {}

    def submit(self, tag: object, point: dict, windows: dict[str, Window]) -> None:
        self._running[self._pool.submit(_evaluate, point, windows)] = tag

    def next_done(self) -> tuple[object, TrialOutcome]:
        done, _ = wait(list(self._running), return_when=FIRST_COMPLETED)
        future = next(iter(done))
        return self._running.pop(future), future.result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def default_jobs() -> int:
    """All cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1
