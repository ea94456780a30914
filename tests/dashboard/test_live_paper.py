"""The dashboard over a live paper run against the fake Binance (real ccxt code, real candles):
while the exchange refuses connections the Operations page says "running, exchange unreachable,
next retry in N s" (the bot's back-off heartbeat), and after the run every page works."""

from __future__ import annotations

from daybreak.drivers.live import run_live
from daybreak.ops.config_file import load_config
from storage.sqlite import SQLiteStore
from tests.dashboard.helpers import PAGES, dashboard_app, frame_with, open_page, texts
from tests.fixtures_exchange import exchange_for, sample_candles
from tests.helpers import write_config

MINUTE = 60_000


def test_live_paper_run_outage_and_every_page(tmp_path, fake_binance, monkeypatch):
    cfg = write_config(
        tmp_path, params={"MA_Crossover": {"short_period": 5, "long_period": 20}}, risk={"stop_loss_ratio": 0.01}
    )
    first = int(sample_candles("BTC/USDT")["timestamp"].iat[0])
    fake_binance.set_clock(first + 100 * MINUTE + 1_000)
    seen: dict[str, str] = {}
    cycles = {"n": 0}

    def sleep(seconds):
        cycles["n"] += 1
        if cycles["n"] == 40:
            fake_binance.refuse_connections()
        if cycles["n"] == 42:  # backing off (the bot sleeps `seconds`): what does the trader see?
            seen["delay"] = seconds
            at = dashboard_app(cfg, monkeypatch).run()
            seen["banner"] = " ".join(w.value for w in at.warning)
            seen["all"] = texts(at)
            fake_binance.accept_connections()
        fake_binance.set_clock(fake_binance.now() + MINUTE)

    code = run_live(
        cfg,
        load_config(cfg),
        lambda: False,
        exchange=exchange_for(fake_binance),
        clock=fake_binance.now,
        sleep=sleep,
        max_cycles=120,
    )
    assert code == 0
    assert seen["delay"] > 5  # a back-off, longer than a poll
    assert "RUNNING" in seen["banner"] and "exchange unreachable" in seen["banner"]
    assert "next retry in" in seen["banner"] and "stopped or stuck" not in seen["all"]

    store = SQLiteStore(tmp_path / "daybreak.db")
    trades = store.list_trades()
    store.close()
    assert len(trades) >= 4
    for page in PAGES:
        at = open_page(cfg, monkeypatch, page)
        assert not at.exception, (page, [e.value for e in at.exception])
        if page == "trades":
            assert len(frame_with(at, "trade_id", "pnl")) == len(trades)
