"""daybreak.reporting.performance (curves of a running bot), the daily Stats aggregates and the log
reader, each against an independent computation written out here."""

from __future__ import annotations

import random

import pandas as pd
import pytest

from daybreak.core.domain import Position, Trade
from daybreak.ops.logs import parse_records, tail_records
from daybreak.reporting.performance import (
    CANDLE_MS,
    cash_flow,
    marked_curve,
    position_rows,
    realized_curve,
    thin_steps,
    window_round_trips,
)
from daybreak.reporting.stats import (
    TOTAL,
    daily_from_records,
    daily_stat_records,
    daily_summary,
    summarize,
)

T0 = 1_620_691_200_000  # 2021-05-11 00:00 UTC
MIN = 60_000


def fill(i, ts, action, price, amount=1.0, symbol="BTC/USDT", algo="A", pnl=None, fee=0.1):
    return Trade(
        f"t{i}", ts, symbol, action, amount, price, fee, algo, pnl, f"o{i}", "signal" if action == "sell" else None
    )


def brute_equity(t, window, marks, cash0, held0):
    """Cash plus holdings at the latest price known at ``t`` (marks valid a minute after their open)."""
    cash = cash0 + sum(cash_flow(f) for f in window if f.timestamp <= t)
    value = 0.0
    for sym in set(held0) | {f.symbol for f in window}:
        held = held0.get(sym, 0.0) + sum(
            f.amount if f.action == "buy" else -f.amount for f in window if f.symbol == sym and f.timestamp <= t
        )
        known = [(m + CANDLE_MS, p) for m, p in marks.get(sym, [])] + [
            (f.timestamp, f.price) for f in window if f.symbol == sym
        ]
        before = [p for when, p in sorted(known, key=lambda x: x[0]) if when <= t]
        price = before[-1] if before else sorted(known)[0][1]
        value += held * price
    return cash + value


def test_marked_curve_equals_a_brute_force_revaluation():
    rng = random.Random(7)
    marks = {
        "BTC/USDT": [(T0 + i * MIN, 50_000 + rng.uniform(-500, 500)) for i in range(-1, 120)],
        "ETH/USDT": [(T0 + i * MIN, 4_000 + rng.uniform(-50, 50)) for i in range(0, 120, 3)],
    }
    window = [
        fill(0, T0 + 5 * MIN + 7, "buy", 50_100, 0.02),
        fill(1, T0 + 30 * MIN, "sell", 50_300, 0.02, pnl=3.9),
        fill(2, T0 + 40 * MIN, "buy", 4_010, 0.5, "ETH/USDT"),
        fill(3, T0 + 90 * MIN, "sell", 4_030, 0.2, "ETH/USDT", pnl=3.7),
    ]
    end_cash, held_end = 9_000.0, {"ETH/USDT": 0.3, "BTC/USDT": 0.01}  # BTC held through the window
    frames = {s: pd.DataFrame(rows, columns=["timestamp", "price"]) for s, rows in marks.items()}
    curve = marked_curve(window, frames, end_cash, held_end, T0, T0 + 119 * MIN)
    cash0 = end_cash - sum(cash_flow(f) for f in window)
    held0 = {"ETH/USDT": 0.3 - 0.3, "BTC/USDT": 0.01}
    for row in curve.itertuples():
        assert row.equity == pytest.approx(brute_equity(row.timestamp, window, marks, cash0, held0), rel=1e-12)
    assert curve["timestamp"].iat[0] == T0 and curve["timestamp"].is_monotonic_increasing
    assert curve["drawdown_ratio"].min() == 0.0 and curve["drawdown_ratio"].max() > 0


def test_realized_curve_and_positions():
    trades = [
        fill(0, T0, "buy", 100.0),
        fill(1, T0 + MIN, "sell", 90.0, pnl=-10.2),
        fill(2, T0 + 2 * MIN, "buy", 90.0),
        fill(3, T0 + 3 * MIN, "sell", 99.0, pnl=8.8),
    ]
    curve = realized_curve(trades, T0 - MIN, 1_000.0)
    assert curve["equity"].tolist() == pytest.approx([1_000.0, 989.8, 998.6])
    assert curve["drawdown_ratio"].iat[1] == pytest.approx(1 - 989.8 / 1_000.0)
    pos = Position("A", "BTC/USDT", 0.5, 100.0, T0, 0.05, "t9", stop_price=99.0)
    row = position_rows([pos], {"BTC/USDT": 104.0}, T0 + 90 * MIN).iloc[0]
    assert row["unrealized_pnl"] == pytest.approx(0.5 * 4.0 - 0.05)
    assert row["unrealized_ratio"] == pytest.approx(1.95 / 50.0) and row["time_in_trade_ms"] == 90 * MIN


def test_a_position_opened_before_the_window_is_paired_with_its_buy():
    before = [fill(0, T0 - 50 * MIN, "buy", 100.0, 2.0, fee=0.2), fill(1, T0 - 40 * MIN, "sell", 101.0, 1.0, pnl=0.7)]
    inside = [
        fill(2, T0 + 5 * MIN, "sell", 110.0, 1.0, pnl=9.7),
        fill(3, T0 + 9 * MIN, "buy", 50.0, 1.0, "ETH/USDT"),
        fill(4, T0 + 12 * MIN, "sell", 51.0, 1.0, "ETH/USDT", pnl=0.8),
    ]
    asked = []

    def earlier(algo, symbol):
        asked.append((algo, symbol))
        return [t for t in reversed(before) if t.symbol == symbol and t.algo == algo]

    trips = window_round_trips(inside, T0, earlier).set_index("symbol")
    assert asked == [("A", "BTC/USDT")]  # only the group whose sells lack their buy looks back
    btc = trips.loc["BTC/USDT"]
    assert btc["entry_time"] == T0 - 50 * MIN and btc["entry_price"] == 100.0 and btc["amount"] == 2.0
    assert btc["pnl"] == pytest.approx(0.7 + 9.7) and btc["exit_order_id"] == "o2" and btc["entry_order_id"] == "o0"
    assert trips.loc["ETH/USDT", "pnl"] == pytest.approx(0.8)
    lost = window_round_trips(inside, T0, lambda a, s: [])  # the buy is not found: not guessed
    assert lost["symbol"].tolist() == ["ETH/USDT"]


def test_daily_aggregates_follow_the_trading_day_and_round_trip_through_stats():
    trades = [
        fill(0, T0 + 1 * 3_600_000, "buy", 100.0),
        fill(1, T0 + 3 * 3_600_000, "sell", 101.0, pnl=0.8),
        fill(2, T0 + 5 * 3_600_000, "buy", 100.0, algo="B"),
        fill(3, T0 + 20 * 3_600_000, "sell", 99.0, algo="B", pnl=-1.2),
    ]
    ny = daily_summary(trades, "America/New_York").set_index(["day", "algo"])
    # 01:00 and 03:00 UTC on 05-11 are still 05-10 in New York (EDT, UTC-4); 05:00 and 20:00 are 05-11
    assert ny.loc[("2021-05-10", "A"), "pnl"] == pytest.approx(0.8) and ny.loc[("2021-05-10", "A"), "trades"] == 2
    assert ny.loc[("2021-05-11", "B"), "closed_trades"] == 1 and ny.loc[("2021-05-11", "B"), "wins"] == 0
    utc = daily_summary(trades, "UTC")
    assert set(utc["day"]) == {"2021-05-11"}
    back = daily_from_records(daily_stat_records(trades, "America/New_York", T0))
    pd.testing.assert_frame_equal(back, daily_summary(trades, "America/New_York"))
    total = summarize(trades)[TOTAL]
    assert back["pnl"].sum() == pytest.approx(total["pnl"]) and back["fees"].sum() == pytest.approx(total["fees"])


def test_log_records_keep_their_traceback_and_a_tail_drops_the_cut_line(tmp_path):
    lines = [
        "2021-05-12T14:03:00Z INFO TRADE A BUY",
        "2021-05-12T14:03:01Z ERROR stats update failed",
        "Traceback (most recent call last):",
        '  File "x.py", line 1',
        "ValueError: bad",
        "2021-05-12T14:03:02Z WARNING exchange unreachable",
    ]
    recs = parse_records(["continued from before", *lines])
    assert [r.level for r in recs] == ["INFO", "ERROR", "WARNING"]
    assert recs[1].detail.splitlines() == lines[2:5] and recs[1].timestamp == 1_620_828_181_000
    path = tmp_path / "daybreak.log"
    path.write_text("\n".join(lines) + "\n")
    cut = tail_records(path, max_bytes=len("\n".join(lines[3:])) + 1)  # starts inside the traceback
    assert [r.level for r in cut] == ["WARNING"]


def test_thin_steps_keeps_each_strategys_ends_and_order():
    import numpy as np

    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {"timestamp": np.sort(rng.integers(0, 10**9, 5_000)), "algo": rng.choice(list("abc"), 5_000), "pnl": 1.0}
    )
    frame["pnl"] = frame.groupby("algo")["pnl"].cumsum()
    thinned = thin_steps(frame, "algo", 300)
    for algo, whole in frame.groupby("algo"):
        part = thinned[thinned["algo"] == algo]
        assert len(part) <= 302
        assert part["timestamp"].is_monotonic_increasing
        assert part.iloc[0].equals(whole.iloc[0]) and part.iloc[-1].equals(whole.iloc[-1])
    assert thin_steps(frame.iloc[:10], "algo", 300).equals(frame.iloc[:10])
