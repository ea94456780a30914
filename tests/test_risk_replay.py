"""The daily loss limit on real data: the 2021-05-19 crash triggers it; the next UTC day resets it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from storage.sqlite import SQLiteStore
from tests.helpers import bot, write_config

CRASH = Path(__file__).parent / "data" / "crash" / "BTC-USDT_1m.csv.gz"


def _ms(text: str) -> int:
    return pd.Timestamp(text, tz="UTC").value // 1_000_000


def test_crash_day_trips_the_daily_loss_limit_then_it_resets(tmp_path):
    cfg = write_config(
        tmp_path,
        symbols=["BTC/USDT"],
        order_size={"BTC/USDT": {"amount": 0.05}},
        params={"MA_Crossover": {"short_period": 5, "long_period": 20}},
        risk={"daily_max_loss_ratio": 0.005, "stop_loss_ratio": 0.01},
    )
    bot("run", "--replay", str(CRASH), "--config", str(cfg), check=True)
    store = SQLiteStore(tmp_path / "daybreak.db")
    events = [e for e in store.list_events(kind="rejection", limit=10_000) if e.rule == "daily_max_loss"]
    trades = store.list_trades()
    store.close()
    assert events, "the crash loses more than 0.5 % of equity in a day"
    blocked_days = sorted({_day(e.timestamp) for e in events})
    assert "2021-05-19" in blocked_days
    for day in blocked_days:
        start = _ms(day)
        end = start + 86_400_000
        first_block = min(e.timestamp for e in events if start <= e.timestamp < end)
        limit = pattern_limit(trades, start)
        assert next(e for e in events if e.timestamp == first_block).data["limit"] == pytest.approx(limit)
        realized = sum(t.pnl for t in trades if t.pnl is not None and start <= t.timestamp <= first_block)
        assert -realized >= limit, f"{day}: blocked only after losing the limit"
        assert not [t for t in trades if t.action == "buy" and first_block < t.timestamp < end], (
            f"{day}: no new entries after the limit until the next day"
        )
        if end < _ms("2021-05-20 12:00"):
            assert [t for t in trades if t.action == "buy" and end <= t.timestamp < end + 86_400_000], (
                f"entries resume the day after {day}"
            )


def _day(ms: int) -> str:
    return pd.Timestamp(ms, unit="ms", tz="UTC").strftime("%Y-%m-%d")


def pattern_limit(trades, day_start: int) -> float:
    """Limit = 0.5 % of the day's starting equity (10,000 plus P&L realized before that day)."""
    before = sum(t.pnl for t in trades if t.pnl is not None and t.timestamp < day_start)
    return 0.005 * (10_000 + before)
