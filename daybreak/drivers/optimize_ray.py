"""Trials as Ray tasks on a Ray cluster (``bot.py optimize --ray ADDRESS``).

Ray is an optional dependency (``pip install -r requirements-ray.txt``, i.e. ``ray[default]``). A
cluster is ``ray start --head`` on one machine and ``ray start --address HEAD:6379`` on the others;
``--ray auto`` joins the cluster running on this machine or, when there is none, starts a local
Ray instance for the run. Any other value is handed to ``ray.init(address=...)`` (``HOST:6379`` or
``ray://HOST:10001``).

The candles are put once in Ray's object store; one actor per CPU of the cluster (or ``--jobs``
when given) holds a :class:`~daybreak.drivers.trials.TrialRunner` built from them, so each worker
keeps its indicator memo and signal cache across the trials it runs. The driving process keeps
the study (see :mod:`daybreak.drivers.executors`); only points and metrics cross the network.
"""

from __future__ import annotations

from types import ModuleType
from typing import TypedDict

from daybreak.drivers.replay import ReplayData
from daybreak.drivers.trials import TrialOutcome, TrialRunner, Window


class RayUnavailable(RuntimeError):
    """Ray is not installed or the cluster cannot be reached; the message says which."""


class _Quiet(TypedDict):
    """The ``ray.init`` options of every connection: no dashboard, no worker logs, no logging setup."""

    include_dashboard: bool
    log_to_driver: bool
    configure_logging: bool


def connect(address: str, num_cpus: int | None = None) -> ModuleType:
    """``ray`` connected to ``address`` (see the module docstring). Raises RayUnavailable."""
    try:
        import ray  # lazy: optional dependency, loaded only for --ray
    except ImportError as err:
        raise RayUnavailable(f"--ray needs Ray: pip install -r requirements-ray.txt ({err})") from None
    if ray.is_initialized():
        return ray
    quiet = _Quiet(include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        if address == "auto":
            try:
                ray.init(address="auto", **quiet)
            except ConnectionError:  # no cluster on this machine: a local instance for this run
                ray.init(num_cpus=num_cpus, **quiet)
        else:
            ray.init(address=address, **quiet)
    except (ConnectionError, RuntimeError, ValueError) as err:
        raise RayUnavailable(f"--ray {address}: cannot connect: {err}") from None
    return ray


class _Worker:
    def __init__(self, raw_config: dict, strategy: str, data: ReplayData, fast_path: bool = True):
        self.runner = TrialRunner(raw_config, strategy, data, fast_path=fast_path)

    def evaluate(self, tag: object, point: dict, windows: dict[str, Window]) -> tuple[object, TrialOutcome]:
        return tag, self.runner.evaluate(point, windows)

    def ready(self) -> bool:
        return True


class RayExecutor:
    """One Ray actor per slot; ``slots`` defaults to the cluster's CPU count. The constructor
    returns once every actor is up (its process started, the candles read from the object store).
    Up to two trials are queued on each actor (``depth``), each submitted to the actor with the
    fewest."""

    def __init__(
        self,
        raw_config: dict,
        strategy: str,
        data: ReplayData,
        address: str,
        jobs: int | None = None,
        fast_path: bool = True,
    ):
        self.ray = ray = connect(address, num_cpus=jobs)
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.slots = max(1, jobs or cpus)
        self.depth = 2 * self.slots
        data_ref = ray.put(data)
        actor = ray.remote(num_cpus=1)(_Worker)
        self._actors = [actor.remote(raw_config, strategy, data_ref, fast_path) for _ in range(self.slots)]
        ray.get([a.ready.remote() for a in self._actors])  # every worker up and holding the candles
        self._load = dict.fromkeys(range(len(self._actors)), 0)
        self._running: dict = {}

    def submit(self, tag: object, point: dict, windows: dict[str, Window]) -> None:
        i = min(self._load, key=self._load.__getitem__)
        self._load[i] += 1
        self._running[self._actors[i].evaluate.remote(tag, point, windows)] = i

    def next_done(self) -> tuple[object, TrialOutcome]:
        ready, _ = self.ray.wait(list(self._running), num_returns=1)
        ref = ready[0]
        self._load[self._running.pop(ref)] -= 1
        return self.ray.get(ref)

    def close(self) -> None:
        """Stop the actors and disconnect (a local instance started for the run stops with it)."""
        for a in self._actors:
            self.ray.kill(a)
        self._actors, self._load, self._running = [], {}, {}
        self.ray.shutdown()
