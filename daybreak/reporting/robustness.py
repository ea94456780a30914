"""Is a search's winner luck? Monte Carlo of the trade sequence, the deflated Sharpe ratio and
walk-forward efficiency.

Units: money in quote currency, returns and drawdowns as fractions, Sharpe ratios per period
(daily, not annualised) unless the key says ``_annual``.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

EULER_GAMMA = 0.5772156649015329
PERCENTILES = (5, 50, 95)
_N = NormalDist()


def _max_drawdowns(equity: np.ndarray) -> np.ndarray:
    """Max drawdown (fraction) of each row of ``equity`` (runs x points)."""
    peak = np.maximum.accumulate(equity, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        dd = np.where(peak > 0, 1.0 - equity / peak, 0.0)
    return dd.max(axis=1)


def monte_carlo(pnls: np.ndarray, starting_balance: float, runs: int = 1000, seed: int | None = 0) -> dict:
    """Monte Carlo of a backtest's closed trades (Jesse's and Pardo's trade-sequence Monte Carlo).

    ``pnls``: each round trip's P&L in quote, in time order. Equity after trade k is
    ``starting_balance + sum(pnl_1..k)`` (P&L added, not compounded: the sizes the backtest chose
    are kept). Two resamplings, ``runs`` each:

    * ``shuffle``: the same trades in a random order. The total return cannot change; the
      drawdown shows how much of the original's came from the order the trades happened in.
    * ``bootstrap``: N trades drawn with replacement (Efron's bootstrap), so return and
      drawdown both vary.

    Returns ``{"trades", "runs", "original": {"return_ratio", "max_drawdown_ratio"},
    "shuffle" / "bootstrap": {"return_ratio": {"p5", "p50", "p95"}, "max_drawdown_ratio": {...},
    "loss_probability"}}``: percentiles over the runs (numpy's linear interpolation) and the
    fraction of runs that ended below the starting balance. Fewer than 2 trades or no runs: the
    distributions are empty.
    """
    pnls = np.asarray(pnls, dtype=float)
    n = len(pnls)
    original = _paths(pnls[None, :], starting_balance)
    out = {
        "trades": n,
        "runs": runs if n >= 2 else 0,
        "original": {"return_ratio": float(original[0][0]), "max_drawdown_ratio": float(original[1][0])},
    }
    if n < 2 or runs < 1:
        out["shuffle"] = out["bootstrap"] = {}
        return out
    rng = np.random.default_rng(seed)
    shuffled = rng.permuted(np.broadcast_to(pnls, (runs, n)).copy(), axis=1)
    boot = pnls[rng.integers(0, n, size=(runs, n))]
    for name, sample in (("shuffle", shuffled), ("bootstrap", boot)):
        ret, dd = _paths(sample, starting_balance)
        out[name] = {
            "return_ratio": _pct(ret),
            "max_drawdown_ratio": _pct(dd),
            "loss_probability": float((ret < 0).mean()),
        }
    return out


def _paths(pnls: np.ndarray, start: float) -> tuple[np.ndarray, np.ndarray]:
    equity = np.concatenate([np.full((len(pnls), 1), start), start + np.cumsum(pnls, axis=1)], axis=1)
    return equity[:, -1] / start - 1.0, _max_drawdowns(equity)


def _pct(values: np.ndarray) -> dict[str, float]:
    return {f"p{p}": float(np.percentile(values, p)) for p in PERCENTILES}


def expected_max_sharpe(trial_sharpes: np.ndarray, n_trials: int) -> float:
    """``SR0``: the highest per-period Sharpe ratio expected among ``n_trials`` independent trials
    of strategies with no skill (Bailey & López de Prado 2014, "The Deflated Sharpe Ratio", eq. 2,
    after the false strategy theorem):

    ``SR0 = sqrt(V) * ((1 - g) * Z^-1(1 - 1/N) + g * Z^-1(1 - 1/(N e)))``

    with ``V`` the variance of the trials' Sharpe ratios (ddof = 1), ``g`` the Euler-Mascheroni
    constant, ``Z^-1`` the standard normal quantile and ``N = n_trials``. 0 for a single trial."""
    sr = np.asarray(trial_sharpes, dtype=float)
    sr = sr[np.isfinite(sr)]
    if n_trials < 2 or len(sr) < 2:
        return 0.0
    v = float(sr.var(ddof=1))
    return math.sqrt(v) * (
        (1 - EULER_GAMMA) * _N.inv_cdf(1 - 1 / n_trials) + EULER_GAMMA * _N.inv_cdf(1 - 1 / (n_trials * math.e))
    )


def probabilistic_sharpe(returns: np.ndarray, benchmark_sharpe: float = 0.0) -> dict:
    """Probabilistic Sharpe ratio (Bailey & López de Prado 2012, "The Sharpe Ratio Efficient
    Frontier"; eq. 9 of the 2014 paper): the probability that the true per-period Sharpe ratio
    exceeds ``benchmark_sharpe`` given T returns of estimated Sharpe ``SR``, skewness ``g3`` and
    (non-excess) kurtosis ``g4``:

    ``PSR = Z((SR - SR*) * sqrt(T - 1) / sqrt(1 - g3 * SR + (g4 - 1) / 4 * SR^2))``

    Returns ``{"sharpe" (per period), "observations" T, "skewness", "kurtosis", "probability"}``;
    the probability is nan with fewer than 3 returns or a zero standard deviation."""
    r = np.asarray(returns, dtype=float)
    r = r[np.isfinite(r)]
    t = len(r)
    out = {"sharpe": math.nan, "observations": t, "skewness": math.nan, "kurtosis": math.nan, "probability": math.nan}
    if t < 3:
        return out
    sd = float(r.std(ddof=1))
    if sd == 0:
        return out
    sr = float(r.mean()) / sd
    z = (r - r.mean()) / r.std(ddof=0)
    g3, g4 = float(np.mean(z**3)), float(np.mean(z**4))
    denom = 1 - g3 * sr + (g4 - 1) / 4 * sr**2
    out.update(sharpe=sr, skewness=g3, kurtosis=g4)
    if denom > 0:
        out["probability"] = _N.cdf((sr - benchmark_sharpe) * math.sqrt(t - 1) / math.sqrt(denom))
    return out


def deflated_sharpe(returns: np.ndarray, trial_sharpes: np.ndarray, n_trials: int) -> dict:
    """Deflated Sharpe ratio (Bailey & López de Prado 2014, eq. 2): the probabilistic Sharpe
    ratio of the selected strategy's ``returns`` against ``SR0`` = :func:`expected_max_sharpe` of
    the ``n_trials`` tried. A DSR under 0.95 means the winner's Sharpe ratio is not significantly
    above what the best of that many skill-less trials would show: it may be luck.

    ``trial_sharpes``: every trial's per-period Sharpe ratio (non-finite ones are left out of the
    variance). Returns the :func:`probabilistic_sharpe` keys against SR0 (``probability`` is the
    DSR) plus ``expected_max_sharpe`` and ``trials``."""
    sr0 = expected_max_sharpe(trial_sharpes, n_trials)
    out = probabilistic_sharpe(returns, sr0)
    out["expected_max_sharpe"] = sr0
    out["trials"] = int(n_trials)
    return out


def walk_forward_efficiency(folds: list[dict]) -> float:
    """Walk-forward efficiency (Pardo 2008, "The Evaluation and Optimization of Trading
    Strategies", ch. 11): the out-of-sample rate of return over the in-sample one, both as the
    mean over folds of ``total_return_ratio / days`` of the window (simple daily rate, so windows
    of different lengths compare without annualising a few days into a year).

    ``folds``: dicts with ``train_return_ratio``, ``train_days``, ``test_return_ratio``,
    ``test_days``. nan when the in-sample rate is not positive (the ratio means nothing then)."""
    if not folds:
        return math.nan
    is_rate = float(np.mean([f["train_return_ratio"] / f["train_days"] for f in folds]))
    oos_rate = float(np.mean([f["test_return_ratio"] / f["test_days"] for f in folds]))
    return oos_rate / is_rate if is_rate > 0 else math.nan


def chain_equity(curves: list[tuple[np.ndarray, np.ndarray]], starting_balance: float) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-sample folds' equity curves joined into one: each fold's curve (timestamps ms,
    equity quote, starting at ``starting_balance``) is scaled by the previous folds' compounded
    growth, as if the account had been carried from fold to fold."""
    ts_parts, eq_parts, scale = [], [], 1.0
    for ts, eq in curves:
        if len(eq) == 0:
            continue
        ts_parts.append(np.asarray(ts, dtype=np.int64))
        eq_parts.append(np.asarray(eq, dtype=float) * scale)
        scale *= float(eq[-1]) / starting_balance
    if not ts_parts:
        return np.array([], dtype=np.int64), np.array([], dtype=float)
    return np.concatenate(ts_parts), np.concatenate(eq_parts)
