"""Alerts for faults and limits, in process: storage refusing writes for a while (one alert, one
all-clear, every fill still announced once), trades-per-day and loss-streak limits in a replay,
and stale market data in a live paper run over candles with a gap."""

from __future__ import annotations

import pandas as pd
import pytest

from daybreak.drivers.alerts import Alerts
from daybreak.drivers.live import run_live
from daybreak.drivers.replay import load_files, run_replay
from daybreak.drivers.wiring import build_context
from daybreak.ops.config_file import load_config
from daybreak.ops.notify import Notifier
from storage.base import StorageError
from tests.fakes.alert_receiver import Receiver
from tests.fixtures_exchange import exchange_for, sample_candles
from tests.helpers import SAMPLE, write_config

FAST = {"retries": 2, "backoff_seconds": 0.01, "backoff_max_seconds": 0.02, "poll_seconds": 0.02}
MINUTE = 60_000


@pytest.fixture
def receiver():
    rec = Receiver()
    yield rec
    rec.close()


def _cfg(tmp_path, **kw):
    return write_config(
        tmp_path,
        symbols=["BTC/USDT"],
        order_size={"BTC/USDT": {"amount": 0.05}},
        params={"MA_Crossover": {"short_period": 5, "long_period": 20}},
        notify={"rate_limit_per_kind": 1000},
        **kw,
    )


def _replay(cfg_path, receiver, flaky=None):
    config = load_config(cfg_path)
    alerts = Alerts(Notifier([receiver.url()], config.notify, **FAST), market_time=True)
    ctx = build_context(cfg_path, config, alerts=alerts)
    if flaky is not None:
        real_put, calls = ctx.store.put_trade, {"n": 0}

        def put_trade(trade):
            calls["n"] += 1
            if flaky(calls["n"]):
                raise StorageError("sqlite: database is locked (test)")
            return real_put(trade)

        ctx.store.put_trade = put_trade
    try:
        run_replay(ctx, load_files(SAMPLE[:1], config))
        trades = ctx.store.list_trades()
    finally:
        ctx.shutdown()
    return receiver.delivered(), trades


def test_storage_refusing_writes_alerts_once_and_every_fill_is_announced_once(tmp_path, receiver):
    bodies, trades = _replay(_cfg(tmp_path), receiver, flaky=lambda n: n == 3)  # the next try (a second later) works
    titles = [b["title"] for b in bodies]
    assert titles.count("Daybreak: storage trouble") == 1 and titles.count("Daybreak: storage trouble over") == 1
    assert titles.index("Daybreak: storage trouble") < titles.index("Daybreak: storage trouble over")
    fills = [t for t in titles if t.startswith(("Daybreak: BUY", "Daybreak: SELL"))]
    assert len(fills) == len(trades) > 12, "trades kept in the backlog were announced too, once"
    assert len(set(zip(titles, (b["message"] for b in bodies)))) == len(bodies)


def test_trades_per_day_and_loss_streak_limits_trip_and_lift(tmp_path, receiver):
    bodies, trades = _replay(
        _cfg(tmp_path, risk={"max_trades_per_day": 2, "max_consecutive_losses": 2, "loss_pause_minutes": 30}), receiver
    )
    by_day = pd.Series(
        [pd.Timestamp(t.timestamp, unit="ms").date() for t in trades if t.action == "buy"]
    ).value_counts()
    assert (by_day <= 2).all()
    tripped = [b["message"] for b in bodies if b["title"] == "Daybreak: risk limit max_trades_per_day tripped"]
    lifted = [b for b in bodies if b["title"] == "Daybreak: risk limit max_trades_per_day lifted"]
    assert sorted(m.split("(day ")[1][:10] for m in tripped) == sorted(str(d) for d, n in by_day.items() if n == 2)
    assert len(lifted) == len(tripped)
    # a loss streak of 2 pauses for 30 minutes: the pause's end is announced too
    streak = [b["message"] for b in bodies if b["title"] == "Daybreak: risk limit loss_streak_pause tripped"]
    ended = [b for b in bodies if b["title"] == "Daybreak: risk limit loss_streak_pause lifted"]
    sells = [t for t in trades if t.action == "sell"]
    pairs = sum(1 for i in range(1, len(sells)) if sells[i].pnl <= 0 and sells[i - 1].pnl <= 0)
    assert streak and len(ended) == len(streak) and len(streak) <= pairs


def test_stale_market_data_trips_and_lifts_once_in_a_live_paper_run(tmp_path, fake_binance, receiver):
    candles = sample_candles()
    first = int(candles["timestamp"].iat[0])
    gap = (candles["timestamp"] >= first + 330 * MINUTE) & (candles["timestamp"] < first + 337 * MINUTE)
    fake_binance.add_candles("BTC/USDT", "1m", candles[~gap])  # the exchange publishes nothing for 7 minutes
    fake_binance.set_clock(first + 310 * MINUTE + 1_000)
    cfg = _cfg(tmp_path, risk={"stale_data_seconds": 120})
    config = load_config(cfg)
    alerts = Alerts(Notifier([receiver.url()], config.notify, **FAST))

    def sleep(_seconds):
        fake_binance.set_clock(fake_binance.now() + MINUTE)

    assert (
        run_live(
            cfg,
            config,
            lambda: False,
            exchange=exchange_for(fake_binance),
            clock=fake_binance.now,
            sleep=sleep,
            max_cycles=45,
            alerts=alerts,
        )
        == 0
    )
    titles = [b["title"] for b in receiver.delivered()]
    assert titles.count("Daybreak: risk limit stale_data tripped") == 1
    assert titles.count("Daybreak: risk limit stale_data lifted") == 1
    (trip,) = [b["message"] for b in receiver.delivered() if b["title"].endswith("stale_data tripped")]
    assert "BTC/USDT" in trip and "s late" in trip


def test_state_error_at_shutdown_and_a_reconciliation_mismatch_are_sent(tmp_path, receiver):
    from daybreak.core.domain import BotState

    cfg = _cfg(tmp_path)
    config = load_config(cfg)
    ctx = build_context(cfg, config, alerts=Alerts(Notifier([receiver.url()], config.notify, **FAST)))
    ctx.alerts.reconciliation("BTC/USDT", 0.05, 0.0493, "fills missing from the books?")
    ctx.state = BotState.ERROR
    ctx.error("binanceus: fetch_ohlcv failed: AuthenticationError: key revoked")
    ctx.shutdown()
    recon, error = receiver.delivered()
    assert (
        recon["title"] == "Daybreak: balance mismatch on BTC/USDT"
        and "exchange 0.0493 BTC (difference -0.0007)" in recon["message"]
    )
    assert error["title"] == "Daybreak: state error" and "key revoked" in error["message"]
