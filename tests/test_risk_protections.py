"""Protections, sizing and the risk gate: each rule blocks entries with its reason and numbers;
exits are never blocked."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daybreak.core.domain import Action, Signal
from tests.risk_helpers import MINUTE, SYM, T0, make_engine

DAY = 86_400_000


def buy(eng, ts, algo="T", price=100.0):
    return eng.on_signal(Signal(algo, SYM, Action.BUY, ts), price, ts).order


def round_trip(eng, ts, entry=100.0, exit_=99.0, algo="T"):
    """Open at ``entry`` and close at ``exit_`` by signal; returns the closing trade."""
    assert buy(eng, ts, algo, entry) is not None
    eng.fill_pending(SYM, entry, ts + MINUTE)
    eng.on_signal(Signal(algo, SYM, Action.SELL, ts + MINUTE), exit_, ts + MINUTE)
    eng.fill_pending(SYM, exit_, ts + 2 * MINUTE)
    return eng.sink.trades[-1]


def rules(eng):
    return [e.rule for e in eng.sink.rejections]


def test_daily_loss_limit_blocks_until_the_next_day():
    eng = make_engine({"daily_max_loss_ratio": 0.015}, amount=10)
    t = round_trip(eng, T0 + 60 * MINUTE, 100, 84)  # loses 160 of 10,000 = 1.6 %
    assert t.pnl == pytest.approx(-160)
    assert buy(eng, T0 + 120 * MINUTE) is None
    assert rules(eng) == ["daily_max_loss"]
    assert eng.sink.rejections[0].data["limit"] == pytest.approx(150)
    assert buy(eng, T0 + DAY + MINUTE) is not None, "a new UTC day resets the limit"


def test_daily_loss_day_boundary_follows_the_timezone():
    eng = make_engine({"daily_max_loss_ratio": 0.015, "day_timezone": "America/New_York"}, amount=10)
    round_trip(eng, T0 + 60 * MINUTE, 100, 84)  # 01:00 UTC = 20:00 or 21:00 New York, previous day
    assert buy(eng, T0 + 6 * 60 * MINUTE) is not None, "New York's day started at 04:00/05:00 UTC"


def test_max_trades_per_day():
    eng = make_engine({"max_trades_per_day": 2}, amount=0.1)
    round_trip(eng, T0, 100, 101)
    round_trip(eng, T0 + 10 * MINUTE, 100, 101)
    assert buy(eng, T0 + 20 * MINUTE) is None
    assert rules(eng) == ["max_trades_per_day"]


def test_loss_streak_pauses_entries_for_the_configured_minutes():
    eng = make_engine({"max_consecutive_losses": 3, "loss_pause_minutes": 60}, amount=0.1)
    for i in range(3):
        last = round_trip(eng, T0 + i * 10 * MINUTE, 100, 99)
    assert buy(eng, last.timestamp + 30 * MINUTE) is None
    assert rules(eng) == ["loss_streak_pause"]
    assert buy(eng, last.timestamp + 61 * MINUTE) is not None


def test_symbol_cooldown_after_a_trade():
    eng = make_engine({"symbol_cooldown_seconds": 300}, amount=0.1)
    last = round_trip(eng, T0, 100, 101)
    assert buy(eng, last.timestamp + 299_000) is None
    assert rules(eng) == ["symbol_cooldown"]
    assert buy(eng, last.timestamp + 300_000) is not None


def test_position_caps_per_symbol_and_global():
    eng = make_engine({"max_positions_per_symbol": 1}, amount=0.1)
    buy(eng, T0, "A")
    eng.fill_pending(SYM, 100, T0 + MINUTE)
    assert buy(eng, T0 + MINUTE, "B") is None
    assert rules(eng) == ["max_positions_per_symbol"]
    eng = make_engine({"max_open_positions": 1}, amount=0.1)
    buy(eng, T0, "A")
    eng.fill_pending(SYM, 100, T0 + MINUTE)
    assert buy(eng, T0 + MINUTE, "B") is None
    assert rules(eng) == ["max_open_positions"]


def test_stale_data_pauses_entries():
    eng = make_engine({"stale_data_seconds": 10}, amount=0.1)
    outcome = eng.on_signal(Signal("T", SYM, Action.BUY, T0), 100, T0, data_age_ms=11_000)
    assert outcome.order is None and outcome.rejection.rule == "stale_data"
    assert rules(eng) == ["stale_data"]


def test_manual_pause_blocks_entries_but_never_exits():
    eng = make_engine({"stop_loss_ratio": 0.02}, amount=1)
    buy(eng, T0)
    eng.fill_pending(SYM, 100, T0 + MINUTE)
    eng.gate.manual_pause = "dashboard"
    eng.check_candle_exits(SYM, 100, 100, 97, 97.5, T0 + 2 * MINUTE)
    assert eng.sink.trades[-1].exit_reason == "stop_loss"
    assert buy(eng, T0 + 3 * MINUTE) is None and rules(eng) == ["paused_manual"]


def test_risk_based_sizing_caps_and_rounding():
    # risk 0.25 % of 10,000 = 25 quote; stop 2 % below 100 -> 12.5 units; capped at 20 % equity -> 20 units
    eng = make_engine({"sizing": "risk", "risk_per_trade_ratio": 0.0025, "stop_loss_ratio": 0.02})
    assert buy(eng, T0).amount == pytest.approx(12.5)
    eng = make_engine(
        {"sizing": "risk", "risk_per_trade_ratio": 0.0025, "stop_loss_ratio": 0.02, "max_trade_equity_ratio": 0.1}
    )
    assert buy(eng, T0).amount == pytest.approx(10.0)
    eng = make_engine({"sizing": "equity_fraction", "equity_fraction": 0.05, "max_notional": 300})
    assert buy(eng, T0, price=100).amount == pytest.approx(3.0)
    eng = make_engine({}, amount=0.123456789123)
    assert buy(eng, T0).amount == pytest.approx(0.12345678), "rounded down to the market step"


def test_min_notional_rejects_with_reason():
    eng = make_engine({}, amount=0.001)  # 0.1 quote at 100 < min notional 1.0
    assert buy(eng, T0) is None
    (event,) = eng.sink.rejections
    assert event.rule == "market_limits" and "notional" in event.message.lower()


# -- properties ---------------------------------------------------------------------------------
candle = st.tuples(st.floats(-0.05, 0.05), st.floats(0, 0.04), st.floats(0, 0.04), st.floats(-0.05, 0.05))


def _candles(moves, start=100.0):
    out, price = [], start
    for gap, up, down, body in moves:
        o = price * (1 + gap)
        c = o * (1 + body)
        h = max(o, c) * (1 + up)
        l = min(o, c) * (1 - down)
        out.append((o, h, l, c))
        price = c
    return out


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(candle, min_size=1, max_size=30), st.floats(0.005, 0.1), st.floats(0, 50), st.floats(0, 0.005))
def test_a_stopped_trade_never_loses_more_than_stop_plus_slippage_plus_fees(moves, stop, slip_bps, fee):
    from tests.risk_helpers import scenario

    candles = [(100.0, 100.0, 100.0, 100.0)] + _candles(moves)
    trades = scenario({"stop_loss_ratio": stop}, candles, fee_rate=fee, slippage_bps=slip_bps)
    if len(trades) < 2:
        return
    buy_, sell = trades[0], trades[-1]
    assert sell.exit_reason == "stop_loss"
    # the candle that triggered: a gap below the stop fills at that open, otherwise at the stop
    stop_price = buy_.price * (1 - stop)
    trigger = next(o for o, h, l, c in candles[1:] if l <= stop_price or o <= stop_price)
    reference = min(trigger, stop_price) if trigger <= stop_price else stop_price
    worst = (buy_.price - reference * (1 - slip_bps / 1e4)) * buy_.amount + buy_.fee + sell.fee
    assert -sell.pnl <= worst + 1e-9


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.floats(10, 1000), st.booleans()), min_size=1, max_size=40))
def test_exposure_never_exceeds_the_caps(signals):
    eng = make_engine(
        {
            "sizing": "equity_fraction",
            "equity_fraction": 0.5,
            "max_trade_equity_ratio": 0.2,
            "max_notional": 1500,
            "max_open_positions": 3,
        }
    )
    for i, (price, is_buy) in enumerate(signals):
        ts = T0 + i * MINUTE
        algo = f"S{i % 5}"
        eng.on_signal(Signal(algo, SYM, Action.BUY if is_buy else Action.SELL, ts), price, ts)
        eng.fill_pending(SYM, price, ts + MINUTE)
        assert len(eng.ledger.positions) <= 3
        for pos in eng.ledger.positions.values():
            assert pos.amount * pos.entry_price <= 1500 + 1e-6
        assert eng.ledger.cash >= -1e-6


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.floats(10, 1000), st.booleans()), min_size=1, max_size=30))
def test_a_paused_bot_never_opens_a_position(signals):
    eng = make_engine({}, amount=0.5)
    eng.gate.manual_pause = "cli"
    for i, (price, is_buy) in enumerate(signals):
        ts = T0 + i * MINUTE
        eng.on_signal(Signal("T", SYM, Action.BUY if is_buy else Action.SELL, ts), price, ts)
        eng.fill_pending(SYM, price, ts + MINUTE)
        assert not eng.ledger.positions
    assert not eng.sink.trades
