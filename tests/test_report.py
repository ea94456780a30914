"""The backtest report: metrics with known answers, JSON and HTML files, the terminal table."""

from __future__ import annotations

import io
import json
import math
import re
import shutil
import statistics
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from daybreak.core.domain import Action, Event, ExitReason, Position, Trade
from daybreak.reporting.charts import chart_timeframe
from daybreak.reporting.metrics import (
    DAY_MS,
    compute_metrics,
    daily_returns,
    equity_curve,
    exposure_ratio,
    max_drawdown,
    sharpe_ratio,
    sortino_ratio,
)
from daybreak.reporting.render import print_report, write_html, write_json
from daybreak.reporting.result import BacktestResult, round_trips
from tests.conftest import require_tool

ROOT = Path(__file__).resolve().parent.parent
T0 = 1_617_321_600_000  # 2021-04-02 00:00 UTC
MIN = 60_000


def fill(
    i: int,
    ts: int,
    action: str,
    price: float,
    amount: float = 1.0,
    fee: float = 0.0,
    pnl: float | None = None,
    reason: str | None = None,
    algo: str = "ma_crossover",
    symbol: str = "BTC/USDT",
) -> Trade:
    return Trade(
        f"t{i}",
        ts,
        symbol,
        Action(action),
        amount,
        price,
        fee,
        algo,
        pnl=pnl,
        exit_reason=None if reason is None else ExitReason(reason),
    )


def candles(n: int, start: int = T0, step: int = MIN, price: float = 100.0, drift: float = 0.0) -> pd.DataFrame:
    close = price + drift * np.arange(1, n + 1)
    open_ = np.concatenate([[price], close[:-1]])
    return pd.DataFrame(
        {
            "timestamp": start + step * np.arange(n, dtype=np.int64),
            "open": open_,
            "high": np.maximum(open_, close) + 1,
            "low": np.minimum(open_, close) - 1,
            "close": close,
            "volume": 1.0,
        }
    )


def result(
    trades=(),
    equity=None,
    *,
    n=60,
    step=MIN,
    timeframe="1m",
    balance=1000.0,
    frames=None,
    open_positions=(),
    rejections=(),
    gaps=None,
    algos=("ma_crossover",),
) -> BacktestResult:
    frames = frames if frames is not None else {"BTC/USDT": candles(n, step=step)}
    first = next(iter(frames.values()))
    ts = first["timestamp"].to_numpy(np.int64) + step
    values = np.full(len(ts), balance) if equity is None else np.asarray(equity, dtype=float)
    return BacktestResult(
        trades=list(trades),
        equity=pd.DataFrame({"timestamp": ts, "equity": values}),
        candles=frames,
        rejections=list(rejections),
        gaps=gaps or {},
        open_positions=list(open_positions),
        starting_balance=balance,
        timeframe=timeframe,
        start=int(first["timestamp"].iloc[0]),
        end=int(ts[-1]),
        algos=list(algos),
        fee_rate=0.001,
        slippage_bps=5.0,
    )


def three_trades() -> list[Trade]:
    """+10, -5, +20 on 100 of cost each; 1 of fee per leg, already inside pnl."""
    out, i = [], 0
    for k, (pnl, reason) in enumerate([(10.0, "take_profit"), (-5.0, "stop_loss"), (20.0, "signal")]):
        buy_t, sell_t = T0 + (10 * k + 1) * MIN, T0 + (10 * k + 5) * MIN
        out += [
            fill(i, buy_t, "buy", 100.0, fee=1.0),
            fill(i + 1, sell_t, "sell", 100.0 + pnl + 2.0, fee=1.0, pnl=pnl, reason=reason),
        ]
        i += 2
    return out


# --- round trips -------------------------------------------------------------------------------


def test_partial_exits_make_one_round_trip_with_weighted_exit_price():
    trades = [
        fill(0, T0, "buy", 100.0, amount=2.0, fee=0.2),
        fill(1, T0 + 5 * MIN, "sell", 110.0, amount=1.0, fee=0.11, pnl=9.79, reason="take_profit"),
        fill(2, T0 + 9 * MIN, "sell", 130.0, amount=1.0, fee=0.13, pnl=29.77, reason="signal"),
        fill(3, T0 + 20 * MIN, "buy", 120.0, amount=1.0),
    ]  # still open: not a round trip
    trips = round_trips(trades)
    assert len(trips) == 1
    row = trips.iloc[0]
    assert row["entry_price"] == 100.0 and row["exit_price"] == pytest.approx(120.0)
    assert row["amount"] == 2.0 and row["pnl"] == pytest.approx(39.56)
    assert row["return_ratio"] == pytest.approx(39.56 / 200.0)
    assert row["fees"] == pytest.approx(0.44) and row["duration_ms"] == 9 * MIN
    assert row["exit_reason"] == "signal"


def test_sell_without_position_is_refused_by_trade_id():
    with pytest.raises(ValueError, match="'t7'.*closes no open position"):
        round_trips([fill(7, T0, "sell", 100.0, pnl=1.0)])


# --- trade statistics --------------------------------------------------------------------------


def test_known_trades_give_known_statistics():
    m = compute_metrics(result(three_trades(), equity=np.full(60, 1025.0)))
    assert m["trades"] == 3 and m["wins"] == 2 and m["losses"] == 1
    assert m["win_rate"] == pytest.approx(2 / 3)
    assert m["profit_factor"] == pytest.approx(6.0)
    assert m["avg_win"] == pytest.approx(15.0) and m["avg_loss"] == pytest.approx(-5.0)
    assert m["expectancy"] == pytest.approx(25 / 3)
    assert m["expectancy_ratio"] == pytest.approx(0.25 / 3)
    assert m["best_trade_ratio"] == pytest.approx(0.20) and m["worst_trade_ratio"] == pytest.approx(-0.05)
    assert m["gross_profit"] == pytest.approx(30.0) and m["gross_loss"] == pytest.approx(-5.0)
    r = [0.10, -0.05, 0.20]
    assert m["sqn"] == pytest.approx(math.sqrt(3) * statistics.mean(r) / statistics.stdev(r))
    assert m["fees_paid"] == pytest.approx(6.0)
    assert m["fees_to_gross_profit_ratio"] == pytest.approx(6.0 / 30.0)
    assert m["total_return_ratio"] == pytest.approx(0.025) and m["profit"] == pytest.approx(25.0)
    assert m["realized_pnl"] == pytest.approx(25.0)
    by_reason = {row["exit_reason"]: row for row in m["by_exit_reason"]}
    assert by_reason["stop_loss"]["trades"] == 1 and by_reason["stop_loss"]["pnl"] == pytest.approx(-5.0)
    assert by_reason["take_profit"]["win_rate"] == 1.0


def test_sqn_caps_trade_count_at_100():
    trades = []
    for k in range(400):
        pnl = 2.0 if k % 2 else -1.0
        trades += [fill(2 * k, T0 + 2 * k, "buy", 100.0), fill(2 * k + 1, T0 + 2 * k + 1, "sell", 100.0 + pnl, pnl=pnl)]
    r = [0.02 if k % 2 else -0.01 for k in range(400)]
    m = compute_metrics(result(trades))
    assert m["sqn"] == pytest.approx(10 * statistics.mean(r) / statistics.stdev(r))


def test_all_wins_give_infinite_profit_factor_and_no_trades_give_undefined():
    wins = [fill(0, T0 + MIN, "buy", 100.0), fill(1, T0 + 2 * MIN, "sell", 110.0, pnl=10.0, reason="signal")]
    m = compute_metrics(result(wins))
    assert m["profit_factor"] == math.inf and m["win_rate"] == 1.0 and math.isnan(m["avg_loss"])
    empty = compute_metrics(result())
    assert empty["trades"] == 0 and math.isnan(empty["profit_factor"]) and math.isnan(empty["win_rate"])
    assert math.isnan(empty["sqn"]) and empty["exposure_ratio"] == 0.0
    assert empty["by_strategy"][0]["trades"] == 0 and empty["by_exit_reason"] == []


# --- drawdown, returns, ratios -----------------------------------------------------------------


def test_deepest_drawdown_not_yet_recovered():
    ts = T0 + MIN * np.arange(7)
    dd = max_drawdown(ts, np.array([1000, 1100, 990, 1050, 1100, 1200, 900.0]))
    assert dd["max_drawdown_ratio"] == pytest.approx(0.25)
    assert dd["max_drawdown_start"] == ts[5] and dd["max_drawdown_trough"] == ts[6]
    assert dd["max_drawdown_end"] is None and dd["max_drawdown_duration_ms"] == MIN


def test_drawdown_starts_at_last_peak_and_ends_at_recovery():
    ts = T0 + MIN * np.arange(7)
    dd = max_drawdown(ts, np.array([1000, 1100, 1100, 880, 1000, 1100, 1150.0]))
    assert dd["max_drawdown_ratio"] == pytest.approx(0.20)
    assert (dd["max_drawdown_start"], dd["max_drawdown_trough"], dd["max_drawdown_end"]) == (ts[2], ts[3], ts[5])
    assert dd["max_drawdown_duration_ms"] == 3 * MIN


def test_loss_on_first_candle_is_drawdown_from_starting_balance():
    m = compute_metrics(result(equity=np.r_[900.0, np.full(59, 950.0)]))
    assert m["max_drawdown_ratio"] == pytest.approx(0.10)
    assert m["max_drawdown_start"] == T0 and m["max_drawdown_trough"] == T0 + MIN


def test_rising_equity_has_zero_drawdown_and_infinite_calmar():
    m = compute_metrics(result(equity=np.linspace(1001, 1100, 3 * 1440), n=3 * 1440))
    assert m["max_drawdown_ratio"] == 0.0 and m["max_drawdown_start"] is None
    assert m["calmar"] == math.inf and m["cagr_ratio"] > 0


def test_sharpe_and_sortino_of_known_daily_returns():
    r = [0.01, -0.02, 0.03, 0.0, 0.015]
    equity = 1000 * np.cumprod(1 + np.array(r))
    res = result(equity=equity, n=5, step=DAY_MS, timeframe="1d")
    days = daily_returns(equity_curve(res))
    assert days.to_numpy() == pytest.approx(r)
    assert sharpe_ratio(days) == pytest.approx(statistics.mean(r) / statistics.stdev(r) * math.sqrt(365))
    downside = math.sqrt(0.02**2 / 5)
    assert sortino_ratio(days) == pytest.approx(statistics.mean(r) / downside * math.sqrt(365))
    m = compute_metrics(res)
    assert m["sharpe"] == pytest.approx(sharpe_ratio(days))
    assert m["cagr_ratio"] == pytest.approx((equity[-1] / 1000) ** (365 / 5) - 1)


def test_daily_equity_is_last_close_of_day_and_a_missing_day_returns_zero():
    hour = 3_600_000
    frame = pd.concat([candles(48, step=hour), candles(24, start=T0 + 3 * DAY_MS, step=hour)], ignore_index=True)
    equity = np.r_[np.full(23, 1200.0), 1100.0, np.full(24, 1210.0), np.full(24, 1331.0)]
    res = result(equity=equity, frames={"BTC/USDT": frame}, step=hour, timeframe="1h")
    res.equity["timestamp"] = frame["timestamp"].to_numpy() + hour
    days = daily_returns(equity_curve(res))
    assert days.to_numpy() == pytest.approx([0.10, 0.10, 0.0, 0.10])


def test_one_day_span_has_no_sharpe_and_an_extrapolated_cagr():
    m = compute_metrics(result(equity=np.r_[np.full(1439, 1000.0), 1010.0], n=1440))
    assert math.isnan(m["sharpe"]) and math.isnan(m["sortino"])
    assert m["cagr_ratio"] == pytest.approx(1.01**365 - 1)


def test_buy_and_hold_is_equal_weight_over_the_run_span():
    a = candles(60, price=100.0, drift=10 / 60)  # 100 -> 110
    b = candles(60, price=50.0, drift=-5 / 60)  # 50 -> 45
    early = candles(10, start=T0 - 10 * MIN, price=1.0)  # before the run: ignored
    frames = {"AAA/USDT": a, "BBB/USDT": pd.concat([early, b], ignore_index=True)}
    res = result(frames=frames)
    res.start = T0
    m = compute_metrics(res)
    assert m["buy_and_hold_return_ratio"] == pytest.approx(0.0)
    bh = {row["symbol"]: row["buy_and_hold_return_ratio"] for row in m["by_symbol"]}
    assert bh == pytest.approx({"AAA/USDT": 0.10, "BBB/USDT": -0.10})


def test_exposure_counts_overlapping_positions_once_and_open_ones_to_the_end():
    assert exposure_ratio([(0, 10), (2, 4), (5, 15), (30, 40)], 0, 40) == pytest.approx(25 / 40)
    assert exposure_ratio([(-10, 5), (35, 50)], 0, 40) == pytest.approx(10 / 40)  # clipped to the run
    trades = [
        fill(0, T0, "buy", 100.0, algo="a"),
        fill(1, T0 + 10 * MIN, "sell", 100.0, pnl=0.0, algo="a"),
        fill(2, T0 + 5 * MIN, "buy", 100.0, algo="b"),
        fill(3, T0 + 15 * MIN, "sell", 100.0, pnl=0.0, algo="b"),
        fill(4, T0 + 50 * MIN, "buy", 100.0, algo="a"),
    ]
    pos = Position("a", "BTC/USDT", 1.0, 100.0, T0 + 50 * MIN, 0.1, "t4")
    m = compute_metrics(result(trades, open_positions=[pos], algos=("a", "b")))
    assert m["exposure_ratio"] == pytest.approx(25 / 60)
    assert [row["trades"] for row in m["by_strategy"]] == [1, 1]


def test_open_positions_rejections_and_gaps_are_reported():
    pos = Position("ma_crossover", "BTC/USDT", 2.0, 90.0, T0 + 50 * MIN, 0.5, "t0")
    rej = [
        Event(f"e{i}", T0, "rejection", "no", rule=rule)
        for i, rule in enumerate(["max_open_positions", "min_notional", "max_open_positions"])
    ]
    m = compute_metrics(
        result(
            [fill(0, T0 + 50 * MIN, "buy", 90.0, amount=2.0, fee=0.5)],
            open_positions=[pos],
            rejections=rej,
            gaps={"BTC/USDT": [(T0 + 5 * MIN, T0 + 7 * MIN, 3)]},
        )
    )
    (row,) = m["open_positions"]
    assert row["mark_price"] == 100.0 and row["unrealized_pnl"] == pytest.approx(2 * 10 - 0.5)
    assert m["trades"] == 0 and m["fees_paid"] == pytest.approx(0.5)
    assert m["rejections"] == {"max_open_positions": 2, "min_notional": 1}
    assert m["gaps"] == [{"symbol": "BTC/USDT", "first": T0 + 5 * MIN, "last": T0 + 7 * MIN, "missing": 3}]


def test_every_metric_is_documented():
    doc = (ROOT / "docs" / "backtest-metrics.md").read_text()
    missing = [k for k in compute_metrics(result(three_trades())) if f"`{k}`" not in doc]
    assert missing == []


# --- files and terminal ------------------------------------------------------------------------


def _no_constants(token: str):
    raise AssertionError(f"non-standard JSON token {token}")


def test_json_is_strict_and_carries_trades_and_metrics(tmp_path):
    wins = [
        fill(0, T0 + MIN, "buy", 100.0, fee=0.1),
        fill(1, T0 + 2 * MIN, "sell", 110.0, fee=0.11, pnl=9.79, reason="take_profit"),
    ]
    res = result(wins)
    write_json(res, compute_metrics(res), tmp_path / "r.json")
    data = json.loads((tmp_path / "r.json").read_text(), parse_constant=_no_constants)
    assert data["metrics"]["profit_factor"] == "inf" and data["metrics"]["avg_loss"] is None
    assert data["metrics"]["trades"] == 1
    assert data["trades"] == [t.to_json() for t in wins] and data["trades"][1]["exit_reason"] == "take_profit"


def test_terminal_report_shows_values(tmp_path):
    from rich.console import Console

    res = result(
        three_trades(), equity=np.full(60, 1025.0), rejections=[Event("e", T0, "rejection", "x", rule="cooldown")]
    )
    console = Console(file=io.StringIO(), width=140, record=True)
    print_report(res, compute_metrics(res), console=console)
    text = console.export_text()
    assert re.search(r"Profit factor\s+6\.00", text) and re.search(r"Win rate\s+66\.67 %", text)
    assert "cooldown" in text and "Data gaps: none" in text


def test_terminal_report_renders_without_trades():
    from rich.console import Console

    console = Console(file=io.StringIO(), width=100, record=True)
    print_report(result(), compute_metrics(result()), console=console)
    assert re.search(r"Profit factor\s+—", console.export_text())


def _real_run(stride: int = 97) -> BacktestResult:
    """Real BTC/USDT candles (data/sample) with a fill every ``stride`` candles."""
    frame = pd.read_csv(ROOT / "data" / "sample" / "BTC-USDT_1m.csv.gz")
    trades, k = [], 0
    for i in range(10, len(frame) - stride, 2 * stride):
        buy, sell = frame.iloc[i], frame.iloc[i + stride]
        pnl = 0.01 * (sell["open"] - buy["open"])
        trades += [
            fill(k, int(buy["timestamp"]), "buy", float(buy["open"]), amount=0.01),
            fill(k + 1, int(sell["timestamp"]), "sell", float(sell["open"]), amount=0.01, pnl=pnl, reason="signal"),
        ]
        k += 2
    equity = 1000 + np.cumsum(np.random.default_rng(1).normal(0, 0.3, len(frame)))
    return result(trades, equity=equity, frames={"BTC/USDT": frame})


def test_html_is_self_contained_and_keeps_every_fill(tmp_path):
    res = _real_run()
    out = tmp_path / "report.html"
    write_html(res, compute_metrics(res), out)
    page = out.read_text()
    assert not re.search(r"<script[^>]+src=", page) and not re.search(r"<link[^>]+href=[\"']?https?:", page)
    assert "vegaEmbed" in page and "Profit factor" in page
    specs = json.loads(re.search(r"const specs = (.*);\n", page).group(1).replace("<\\/", "</"))
    fills = specs["candles"]["datasets"]["fills"]
    assert [(f["time"], f["price"]) for f in fills] == [(t.timestamp, t.price) for t in res.trades]


def test_long_runs_are_thinned_for_charts_but_markers_stay_exact(tmp_path):
    frame = candles(30_000, drift=0.001)
    trades = [fill(0, T0 + 12_345 * MIN, "buy", 111.0), fill(1, T0 + 20_001 * MIN, "sell", 120.5, pnl=9.5)]
    res = result(trades, frames={"BTC/USDT": frame})
    assert chart_timeframe("1m", 188_100 * MIN) == "15m" and chart_timeframe("1m", 4_320 * MIN) == "1m"
    assert chart_timeframe("3m", 90_000 * MIN) == "15m" and chart_timeframe("5m", 119_752 * 5 * MIN) == "1h"
    write_html(res, compute_metrics(res), tmp_path / "r.html")
    specs = json.loads(re.search(r"const specs = (.*);\n", (tmp_path / "r.html").read_text()).group(1))
    bars = specs["candles"]["datasets"]["candles"]
    assert len(bars) == 6_000 and bars[1]["time"] - bars[0]["time"] == 5 * MIN
    assert len(specs["drawdown"]["datasets"]["equity"]) <= 20_000
    assert [(f["time"], f["price"]) for f in specs["candles"]["datasets"]["fills"]] == [
        (T0 + 12_345 * MIN, 111.0),
        (T0 + 20_001 * MIN, 120.5),
    ]


def test_html_refuses_unknown_symbol(tmp_path):
    res = result()
    with pytest.raises(ValueError, match="'ETH/USDT' is not in this backtest"):
        write_html(res, compute_metrics(res), tmp_path / "r.html", symbol="ETH/USDT")


def test_html_renders_charts_offline_in_a_real_browser(tmp_path):
    require_tool("/usr/bin/chromium", "needs Debian's chromium (make browser)")
    from playwright.sync_api import sync_playwright

    res = _real_run()
    out = tmp_path / "report.html"
    write_html(res, compute_metrics(res), out)
    requests, errors = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
        page = browser.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.route(
            "**/*",
            lambda route: (
                route.continue_()
                if route.request.url.startswith("file:")
                else (requests.append(route.request.url), route.abort())
            ),
        )
        page.goto(out.as_uri())
        for chart in ("equity", "drawdown", "candles"):
            page.wait_for_selector(f"#{chart} canvas", timeout=20_000)
        browser.close()
    assert requests == [] and errors == []
