"""The same study on a local Ray instance (one CPU, no dashboard): Ray tasks run the real trials."""

from __future__ import annotations

import json

import pytest
import ray  # requirements-dev.txt includes requirements-ray.txt, so make test installs it

from tests.conftest import ROOT
from tests.research.test_optimize_cli import DATA


@pytest.fixture
def local_ray():
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


def test_a_small_study_on_local_ray_matches_the_same_study_in_process(tmp_path, local_ray):
    from daybreak.cli import main

    raw = json.loads((ROOT / "config.json").read_text())
    raw["storage"]["path"] = str(tmp_path / "store.db")
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps(raw))
    common = [
        "optimize",
        "--config",
        str(cfg),
        "--strategy",
        "MA_Crossover",
        "--data",
        *DATA,
        "--sampler",
        "grid",
        "--space",
        "short_period=10:30:10",
        "long_period=60:120:60",
        "--objective",
        "profit",
        "--min-trades",
        "1",
        "--mc-runs",
        "50",
    ]
    assert main([*common, "--ray", "auto", "--study", "on-ray", "--json", str(tmp_path / "ray.json")]) == 0
    assert main([*common, "--jobs", "1", "--study", "inline", "--json", str(tmp_path / "inline.json")]) == 0
    on_ray, inline = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("ray", "inline"))
    assert on_ray["trials"] == inline["trials"] == {"complete": 6}
    key = lambda r: r["number"]  # noqa: E731
    got = {json.dumps(r["params"], sort_keys=True): r["all"] for r in sorted(on_ray["best"], key=key)}
    want = {json.dumps(r["params"], sort_keys=True): r["all"] for r in sorted(inline["best"], key=key)}
    for params in set(got) & set(want):
        assert got[params] == want[params]
    assert on_ray["best"][0]["params"] == inline["best"][0]["params"]
