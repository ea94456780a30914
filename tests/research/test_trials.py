"""A trial is the real backtest: the runner's caches (indicator memo, per-combination signals, windows)
change nothing but the time it takes."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import strategies  # noqa: F401
from daybreak.core.search_space import apply_patch, config_patch
from daybreak.drivers.backtest import run_backtest
from daybreak.drivers.replay import ReplayData, load_files
from daybreak.drivers.trials import TrialRunner, Window, search_config
from daybreak.ops.config_file import parse_config
from strategies import registry
from strategies.memo import IndicatorMemo, use_memo
from tests.conftest import ROOT
from tests.strategies.candles import load_episode

SHIPPED = json.loads((ROOT / "config.json").read_text())


@pytest.fixture(scope="module")
def sample() -> ReplayData:
    paths = sorted((ROOT / "data" / "sample").glob("*_1m.csv.gz"))
    return load_files(paths, parse_config(SHIPPED))


def _fills(result) -> list[tuple]:
    return [
        (t.timestamp, t.symbol, t.action, round(t.amount, 12), round(t.price, 8), t.exit_reason) for t in result.trades
    ]


@pytest.mark.parametrize("name", registry.names())
def test_populate_under_a_memo_equals_populate_without_it(name):
    frame = load_episode("DOGE-USDT_1m_2021-04-22_25.csv.gz")
    cls = registry.get(name)
    plain = cls().populate(frame)
    memo = IndicatorMemo()
    with use_memo(memo):
        first = cls().populate(frame)
        computed = memo.misses
        again = cls().populate(frame.copy())  # same values, another buffer: found by content
    pd.testing.assert_frame_equal(first, plain)
    pd.testing.assert_frame_equal(again, plain)
    assert memo.misses == computed, f"{name}: the second populate computed an indicator again"
    if computed:
        assert memo.hits > 0


def test_a_memoized_result_is_read_only_and_on_the_callers_index():
    from strategies.conditions import sma

    s = pd.Series(np.arange(10.0), index=range(100, 110))
    memo = IndicatorMemo()
    with use_memo(memo):
        sma(s, 3)
        hit = sma(pd.Series(np.arange(10.0)), 3)
    assert memo.hits == 1 and hit.index.tolist() == list(range(10))
    with pytest.raises(ValueError):
        hit.to_numpy()[0] = 1.0


POINTS = [
    {"params.short_period": 10, "params.long_period": 60},
    {"params.short_period": 30, "params.long_period": 120, "risk.time_stop_seconds": None},
    {
        "params.short_period": 10,
        "params.long_period": 60,
        "risk.stop_loss_ratio": 0.004,
        "risk.take_profit_ratio": 0.006,
    },
    {"params.short_period": 10, "params.long_period": 120},
]


def test_runner_trials_equal_plain_backtests_in_any_order(sample):
    runner = TrialRunner(SHIPPED, "MA_Crossover", sample)
    raw = search_config(SHIPPED, "MA_Crossover", sorted(sample.frames))
    for point in POINTS + POINTS[::-1]:
        config = parse_config(apply_patch(raw, config_patch("MA_Crossover", raw, point), only="MA_Crossover"))
        want = run_backtest(config, sample, progress=False)
        got = runner.run(point)
        assert _fills(got) == _fills(want) and len(want.trades) > 4, point
        assert got.equity["equity"].to_numpy() == pytest.approx(want.equity["equity"].to_numpy(), rel=1e-12)
    assert len(runner._signals) == 3  # one signal set per parameter combination, whatever the risk keys
    assert runner.memo.hits > 0  # 10/120 reused the SMA(10) of 10/60 and the SMA(120) of 30/120


def test_a_window_trades_inside_it_with_the_warm_up_of_the_history_before(sample):
    runner = TrialRunner(SHIPPED, "MA_Crossover", sample)
    point = {"params.short_period": 10, "params.long_period": 60, "risk.time_stop_seconds": None}
    split = int(pd.Timestamp("2021-05-12T06:00Z").value // 1_000_000)
    result = runner.run(point, Window(split, None))
    assert result.trades and min(t.timestamp for t in result.trades) >= split
    assert result.start == split
    # the first entry fills at the open after the first crossover at or after the split: no warm-up gap
    frame = sample.frames["BTC/USDT"]
    flags = registry.build("MA_Crossover", {"short_period": 10, "long_period": 60}).signals(frame)
    ts = frame["timestamp"].to_numpy()
    first = np.flatnonzero(flags["enter_long"].to_numpy() & (ts + 60_000 > split) & ~flags["exit_long"].to_numpy())[0]
    btc_buys = [t for t in result.trades if t.symbol == "BTC/USDT" and t.action == "buy"]
    assert btc_buys[0].timestamp == ts[first + 1]
    # and the train window stops before the split
    before = runner.run(point, Window(None, split))
    assert max(t.timestamp for t in before.trades) < split and before.end <= split


def test_an_infeasible_point_is_reported_not_raised(sample):
    runner = TrialRunner(SHIPPED, "MA_Crossover", sample)
    out = runner.evaluate({"params.short_period": 100, "params.long_period": 50}, {"all": Window()})
    assert out.metrics == {} and "short_period (100) must be less than long_period (50)" in out.infeasible
