"""Deflated Sharpe ratio, Monte Carlo and walk-forward efficiency against independent computations."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from daybreak.reporting.robustness import (
    chain_equity,
    deflated_sharpe,
    expected_max_sharpe,
    monte_carlo,
    probabilistic_sharpe,
    walk_forward_efficiency,
)


def _phi(x: float) -> float:
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def _phi_inv(p: float) -> float:
    lo, hi = -10.0, 10.0  # bisection on erf: independent of statistics.NormalDist
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if _phi(mid) < p else (lo, mid)
    return (lo + hi) / 2


def test_expected_max_sharpe_is_the_false_strategy_theorem():
    sharpes = np.array([0.1, -0.05, 0.2, 0.02, 0.07])
    n = 100
    v = np.var(sharpes, ddof=1)
    g = 0.5772156649015329
    want = math.sqrt(v) * ((1 - g) * _phi_inv(1 - 1 / n) + g * _phi_inv(1 - 1 / (n * math.e)))
    assert expected_max_sharpe(sharpes, n) == pytest.approx(want, rel=1e-9)
    assert expected_max_sharpe(sharpes, 1) == 0.0


def test_deflated_sharpe_matches_the_papers_formula():
    rng = np.random.default_rng(7)
    returns = rng.standard_t(5, size=250) * 0.01 + 0.002
    sharpes = rng.normal(0, 0.05, size=40)
    r = returns
    sr = r.mean() / r.std(ddof=1)
    m, s = r.mean(), r.std(ddof=0)
    skew, kurt = np.mean(((r - m) / s) ** 3), np.mean(((r - m) / s) ** 4)
    sr0 = expected_max_sharpe(sharpes, 40)
    want = _phi((sr - sr0) * math.sqrt(len(r) - 1) / math.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr**2))
    got = deflated_sharpe(returns, sharpes, 40)
    assert got["probability"] == pytest.approx(want, rel=1e-9)
    assert got["sharpe"] == pytest.approx(sr) and got["expected_max_sharpe"] == pytest.approx(sr0)
    # more trials tried -> a higher bar -> a lower DSR for the same winner
    assert deflated_sharpe(returns, sharpes, 4000)["probability"] < got["probability"]
    # with no trials to deflate by, DSR is the probabilistic Sharpe ratio against 0
    assert deflated_sharpe(returns, sharpes[:1], 1)["probability"] == pytest.approx(
        probabilistic_sharpe(returns)["probability"]
    )


def test_probabilistic_sharpe_is_undefined_on_too_few_or_flat_returns():
    assert math.isnan(probabilistic_sharpe(np.array([0.01, 0.02]))["probability"])
    assert math.isnan(probabilistic_sharpe(np.zeros(10))["probability"])


def test_monte_carlo_shuffle_keeps_the_return_and_brackets_the_drawdown_by_brute_force():
    pnls = np.array([50.0, -120.0, 30.0, -40.0, 90.0, -10.0])
    out = monte_carlo(pnls, 1000.0, runs=3000, seed=1)
    total = pnls.sum() / 1000.0
    assert out["original"]["return_ratio"] == pytest.approx(total)
    for key in ("p5", "p50", "p95"):
        assert out["shuffle"]["return_ratio"][key] == pytest.approx(total)
    # every ordering's drawdown, computed by brute force over the 720 permutations
    dds = []
    for perm in itertools.permutations(pnls):
        eq = 1000.0 + np.cumsum((0.0,) + perm)
        dds.append(np.max(1 - eq / np.maximum.accumulate(eq)))
    dd = out["shuffle"]["max_drawdown_ratio"]
    assert min(dds) - 1e-12 <= dd["p5"] <= dd["p50"] <= dd["p95"] <= max(dds) + 1e-12
    assert dd["p50"] == pytest.approx(np.median(dds), abs=0.01)
    eq = 1000.0 + np.cumsum(np.r_[0.0, pnls])
    assert out["original"]["max_drawdown_ratio"] == pytest.approx(np.max(1 - eq / np.maximum.accumulate(eq)))
    assert out["shuffle"]["loss_probability"] == 0.0  # the total is +0 ... every order ends at the same place
    boot = out["bootstrap"]["return_ratio"]
    assert boot["p5"] < total < boot["p95"]


def test_monte_carlo_needs_two_trades():
    out = monte_carlo(np.array([10.0]), 100.0, runs=10)
    assert out["runs"] == 0 and out["shuffle"] == {} and out["original"]["return_ratio"] == pytest.approx(0.1)


def test_walk_forward_efficiency_compares_daily_rates():
    folds = [
        {"train_return_ratio": 0.09, "train_days": 30, "test_return_ratio": 0.01, "test_days": 10},
        {"train_return_ratio": 0.03, "train_days": 30, "test_return_ratio": 0.02, "test_days": 10},
    ]
    assert walk_forward_efficiency(folds) == pytest.approx(((0.001 + 0.002) / 2) / ((0.003 + 0.001) / 2))
    folds[0]["train_return_ratio"] = folds[1]["train_return_ratio"] = -0.01
    assert math.isnan(walk_forward_efficiency(folds))


def test_chain_equity_carries_the_account_from_fold_to_fold():
    ts, eq = chain_equity(
        [(np.array([1, 2]), np.array([100.0, 110.0])), (np.array([3, 4]), np.array([100.0, 90.0]))], 100.0
    )
    assert ts.tolist() == [1, 2, 3, 4]
    assert eq.tolist() == pytest.approx([100.0, 110.0, 110.0, 99.0])
