"""The trading-day rule (:func:`daybreak.core.timeframes.trading_day`) against the textbook
construction: local midnight by ``replace``, the next one by wall-clock arithmetic, the label by
``strftime``, on random instants and around every hour of three years in zones with odd DST rules."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from daybreak.core.timeframes import trading_day

ZONES = ["UTC", "America/New_York", "Europe/London", "Asia/Beirut", "America/Havana", "Australia/Lord_Howe",
         "Asia/Kolkata", "Pacific/Apia", "America/Santiago", "Africa/Casablanca"]  # fmt: skip


def _textbook(ts_ms: int, tz: str) -> tuple[str, int, int]:
    local = datetime.fromtimestamp(ts_ms / 1000, tz=ZoneInfo(tz))
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    end = (start + timedelta(days=1, hours=3)).replace(hour=0)
    return start.strftime("%Y-%m-%d"), int(start.timestamp() * 1000), int(end.timestamp() * 1000)


@pytest.mark.parametrize("tz", ZONES)
def test_trading_day_matches_the_textbook_construction(tz):
    rng = random.Random(tz)
    instants = [rng.randrange(0, 2_000_000_000_000) for _ in range(2_000)]
    instants += [1_600_000_000_000 + h * 3_600_000 + rng.choice((-1, 0, 1, 1_800_000)) for h in range(24 * 366 * 3)]
    for ts in instants:
        assert trading_day(ts, tz) == _textbook(ts, tz), ts
