"""``bot.py optimize`` and ``bot.py lookahead`` end to end on the shipped sample (3 days, BTC and ETH)."""

from __future__ import annotations

import json
import math

import optuna
import pytest

from daybreak.cli import main
from daybreak.ops.config_file import load_config
from storage import open_store
from tests.conftest import ROOT, SAMPLE_DIR

DATA = [str(p) for p in sorted(SAMPLE_DIR.glob("*_1m.csv.gz"))]
MA = [
    "--strategy",
    "MA_Crossover",
    "--data",
    *DATA,
    "--min-trades",
    "2",
    "--seed",
    "3",
    "--jobs",
    "1",
    "--mc-runs",
    "200",
]


@pytest.fixture
def cfg(tmp_path):
    raw = json.loads((ROOT / "config.json").read_text())
    raw["storage"]["path"] = str(tmp_path / "store.db")
    path = tmp_path / "config.json"
    path.write_text(json.dumps(raw, indent=2))
    return path


def _study(tmp_path, name):
    storage = optuna.storages.RDBStorage(f"sqlite:///{tmp_path / 'store.studies.db'}")
    return optuna.load_study(study_name=name, storage=storage)


def test_finds_resumes_and_reports_a_study_with_a_test_span(cfg, tmp_path, capsys):
    out = tmp_path / "r.json"
    args = [
        "optimize",
        "--config",
        str(cfg),
        *MA,
        "--trials",
        "12",
        "--train-until",
        "2021-05-12T12:00",
        "--space",
        "short_period=5:60",
        "long_period=20:240",
        "--study",
        "s1",
        "--json",
        str(out),
        "--html",
        str(tmp_path / "r.html"),
    ]
    assert main(args) == 0
    text = capsys.readouterr().out
    for words in ("Best trials", "Parameter importances", "Deflated Sharpe ratio", "Monte Carlo", "Config patch"):
        assert words in text
    report = json.loads(out.read_text())
    assert sum(report["trials"].values()) == 12
    assert report["run"]["trials"] == 12 and report["run"]["seconds"] > 0
    assert "this run" in text and "12 trials in" in text
    best = report["best"][0]
    assert set(best) >= {"train", "test", "params", "values"} and best["test"]["trades"] >= 0
    assert report["windows"]["train"][1] == report["windows"]["test"][0]
    assert report["patch"]["params"]["MA_Crossover"]["short_period"] == best["params"]["params.short_period"]
    assert report["monte_carlo"]["window"] == "test"
    # every complete trial scored on the train span: its value is the stored train metric
    study = _study(tmp_path, "s1")
    for t in study.get_trials(states=(optuna.trial.TrialState.COMPLETE,)):
        assert t.values[0] == pytest.approx(t.user_attrs["train"]["sharpe"])
        assert "test" in t.user_attrs
    page = (tmp_path / "r.html").read_text()
    assert "vegaEmbed" in page and '"history"' in page and '"importances"' in page
    # the same command again resumes the study: 12 more trials in it
    assert main(args) == 0
    assert len(_study(tmp_path, "s1").trials) == 24
    # the same name with other settings is refused, naming what differs
    other = args + ["--objective", "sqn"]
    assert main(other) == 2
    assert "made with other settings (objectives)" in capsys.readouterr().err


def test_grid_runs_every_point_once_and_walk_forward_reports_its_folds(cfg, tmp_path):
    out = tmp_path / "wf.json"
    args = [
        "optimize",
        "--config",
        str(cfg),
        *MA,
        "--sampler",
        "grid",
        "--walk-forward",
        "2",
        "--train-blocks",
        "1",
        "--space",
        "short_period=10:30:10",
        "long_period=60:120:60",
        "risk.time_stop_seconds=off",
        "--objective",
        "profit",
        "--json",
        str(out),
    ]
    assert main(args) == 0
    report = json.loads(out.read_text())
    wf = report["walk_forward"]
    assert [f["fold"] for f in wf["folds"]] == [1, 2]
    for fold in wf["folds"]:
        assert sum(fold["trials"].values()) == 6  # 3 x 2 grid points, each once
        assert fold["test"][0] == fold["train"][1]
    assert wf["folds"][0]["test"] == wf["folds"][1]["train"]  # one train block: fold 2 trains on fold 1's test
    assert {"return_ratio", "max_drawdown_ratio", "trades"} <= set(wf["oos"]) and "oos_monte_carlo" in wf
    assert wf["oos_equity"] and "efficiency" in wf
    assert report["run"]["trials"] == 12  # both folds' trials, timed together
    assert report["patch"]["risk_overrides"]["MA_Crossover"]["time_stop_seconds"] is None
    # the grid is done: running it again adds nothing
    assert main(args) == 0
    again = json.loads(out.read_text())
    assert sum(again["walk_forward"]["folds"][0]["trials"].values()) == 6
    assert again["run"]["trials"] == 0 and again["run"]["trials_per_second"] is None


def test_two_processes_and_a_two_objective_search(cfg, tmp_path):
    out = tmp_path / "mo.json"
    args = [
        "optimize",
        "--config",
        str(cfg),
        *MA[:-4],
        "--jobs",
        "2",
        "--trials",
        "8",
        "--mc-runs",
        "0",
        "--objective",
        "sharpe,max_drawdown",
        "--space",
        "short_period=5:60",
        "long_period=20:240",
        "--json",
        str(out),
    ]
    assert main(args) == 0
    report = json.loads(out.read_text())
    assert report["directions"] == ["maximize", "minimize"]
    assert sum(report["trials"].values()) == 8
    assert all(len(r["values"]) == 2 for r in report["best"])


def test_apply_writes_a_validated_patch(cfg, tmp_path, capsys):
    args = [
        "optimize",
        "--config",
        str(cfg),
        *MA,
        "--trials",
        "6",
        "--objective",
        "profit",
        "--space",
        "short_period=5:40",
        "long_period=50:200",
        "risk.stop_loss_ratio=0.004,0.008",
        "--apply",
    ]
    assert main(args) == 0
    assert "as config version" in capsys.readouterr().out
    config = load_config(cfg)
    store = open_store(config.storage)
    try:
        newest = store.list_config_versions()[0]
    finally:
        store.close()
    assert newest.author == "optimize" and newest.document["params"] == json.loads(cfg.read_text())["params"]
    assert config.risk_overrides["MA_Crossover"].stop_loss_ratio in (0.004, 0.008)
    assert config.risk_overrides["Momentum_Chase"].take_profit_ratio == 0.06  # the rest is untouched
    assert 5 <= config.params["MA_Crossover"]["short_period"] <= 40


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--objective", "luck"], "--objective 'luck': unknown"),
        (["--space", "risk.stop_loss_ratio=0:0.5"], "below the field's bound"),
        (["--sampler", "grid", "--space", "risk.stop_loss_ratio"], "a grid needs a step"),
        (["--train-until", "2030-01-01"], "--train-until"),
        (["--strategy", "Nope"], "unknown; registered"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(cfg, capsys, extra, message):
    assert main(["optimize", "--config", str(cfg), *MA, "--trials", "2", *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1


def test_lookahead_passes_a_registered_strategy(cfg, capsys):
    assert main(["lookahead", "--config", str(cfg), "--strategy", "Momentum_Chase", "--data", DATA[0]]) == 0
    assert "no look-ahead, warm-up is enough" in capsys.readouterr().out


def test_objectives_map_to_documented_metrics():
    from daybreak.drivers.optimize import OBJECTIVES
    from daybreak.drivers.trials import TRIAL_METRICS

    doc = (ROOT / "docs" / "backtest-metrics.md").read_text()
    for metric, _ in OBJECTIVES.values():
        assert metric in TRIAL_METRICS and f"`{metric}`" in doc
    assert not math.isnan(0.0)


def test_the_fast_path_changes_nothing_but_the_time(tmp_path):
    """A config the sweep kernel implements (one symbol, no exit rule) gives the same study with
    and without ``--no-fast-path``, inline and in worker processes."""
    raw = {
        "symbols": ["BTC/USDT"],
        "algos": {"MA_Crossover": True},
        "order_size": {"default": {"stake": 500.0}},
        "paper": {"fee_rate": 0.001, "slippage_bps": 2.0, "starting_balance": 10_000.0},
        "risk": {},
        "storage": {"backend": "sqlite", "path": str(tmp_path / "store.db")},
    }
    path = tmp_path / "config.json"
    path.write_text(json.dumps(raw))
    btc = [p for p in DATA if "BTC" in p]
    common = ["optimize", "--config", str(path), "--strategy", "MA_Crossover", "--data", *btc, "--sampler", "grid"]
    common += ["--space", "short_period=4:16:4", "long_period=30:90:30", "--min-trades", "1", "--mc-runs", "0"]
    reports = {}
    for name, extra in (
        ("fast", ["--jobs", "1"]),
        ("plain", ["--jobs", "1", "--no-fast-path"]),
        ("fast2", ["--jobs", "2"]),
    ):
        out = tmp_path / f"{name}.json"
        assert main([*common, *extra, "--study", name, "--json", str(out)]) == 0
        reports[name] = json.loads(out.read_text())
    fast = reports["fast"]
    assert sum(fast["trials"].values()) == 12 and fast["trials"].get("complete", 0) >= 6
    assert fast["best"][0]["all"]["trades"] >= 1
    for other in ("plain", "fast2"):
        for key in ("trials", "best", "patch", "importances", "deflated_sharpe"):
            assert reports[other][key] == fast[key], (other, key)
        assert sorted(map(json.dumps, reports[other]["history"])) == sorted(map(json.dumps, fast["history"]))
