"""Engine.on_signal says what it did: the order, or why not (no reading the store back)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from daybreak.core.domain import Action, Signal
from daybreak.core.engine import Declined
from daybreak.core.timeframes import trading_day
from tests.risk_helpers import MINUTE, SYM, T0, make_engine


def _sig(action, ts=T0, algo="T"):
    return Signal(algo, SYM, action, ts)


def test_each_reason_for_no_order_is_told():
    eng = make_engine({"max_trades_per_day": 1}, amount=1.0)
    assert eng.on_signal(_sig(Action.SELL), 100, T0).declined is Declined.NOT_HELD
    placed = eng.on_signal(_sig(Action.BUY), 100, T0)
    assert placed.order is not None and placed.order.amount == 1.0 and placed.declined is None
    assert eng.on_signal(_sig(Action.BUY, T0 + 1), 100, T0 + 1).declined is Declined.ALREADY_PENDING
    eng.fill_pending(SYM, 100, T0 + MINUTE)
    again = eng.on_signal(_sig(Action.BUY, T0 + 2 * MINUTE), 100, T0 + 2 * MINUTE)
    assert again.declined is Declined.ALREADY_HELD
    assert "already holds" in again.describe(_sig(Action.BUY))
    eng.on_signal(_sig(Action.SELL, T0 + 3 * MINUTE), 100, T0 + 3 * MINUTE)
    eng.fill_pending(SYM, 100, T0 + 4 * MINUTE)
    blocked = eng.on_signal(_sig(Action.BUY, T0 + 5 * MINUTE), 100, T0 + 5 * MINUTE)
    assert blocked.declined is Declined.BLOCKED
    assert blocked.rejection.rule == "max_trades_per_day" and blocked.rejection.data["limit"] == 1
    assert blocked.describe(_sig(Action.BUY)).startswith("max_trades_per_day: ")


def test_no_size_carries_the_market_rule():
    eng = make_engine({}, amount=1e-9)  # below the market's minimum amount
    out = eng.on_signal(_sig(Action.BUY), 100, T0)
    assert out.declined is Declined.NO_SIZE and out.rejection.rule == "market_limits"


def test_account_block_ignores_symbol_rules():
    eng = make_engine({"symbol_cooldown_seconds": 600})
    eng.on_signal(_sig(Action.BUY), 100, T0)
    eng.fill_pending(SYM, 100, T0 + MINUTE)
    assert eng.gate.blocking_rule("U", SYM, T0 + 2 * MINUTE, eng.ledger).rule == "symbol_cooldown"
    assert eng.gate.account_block(T0 + 2 * MINUTE) is None
    eng.gate.manual_pause = "cli"
    assert eng.gate.account_block(T0 + 2 * MINUTE).rule == "paused_manual"


@pytest.mark.parametrize("tz", ["UTC", "America/New_York", "Asia/Kolkata", "Europe/London"])
@pytest.mark.parametrize(
    "when",
    [
        "2021-03-14T06:59:59",
        "2021-03-14T07:00:00",
        "2021-11-07T05:30:00",
        "2021-06-30T23:59:59.999",
        "2021-07-01T00:00:00",
    ],
)
def test_trading_day_is_local_midnight_to_midnight(tz, when):
    ts = int(datetime.fromisoformat(when).replace(tzinfo=UTC).timestamp() * 1000)
    day, start, end = trading_day(ts, tz)
    local = datetime.fromtimestamp(ts / 1000, tz=ZoneInfo(tz))
    assert day == local.date().isoformat()
    assert start <= ts < end
    for edge in (start, end):
        t = datetime.fromtimestamp(edge / 1000, tz=ZoneInfo(tz))
        assert (t.hour, t.minute, t.second, t.microsecond) == (0, 0, 0, 0)
    assert trading_day(end, tz)[0] > day and trading_day(start - 1, tz)[0] < day
