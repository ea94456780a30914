"""The live polling loop against a fake Binance (real ccxt code, recorded real candles)."""

from __future__ import annotations

import pytest

from daybreak.drivers import live
from daybreak.drivers.live import run_live
from daybreak.ops.config_file import load_config
from storage.sqlite import SQLiteStore
from tests.fixtures_exchange import exchange_for, sample_candles
from tests.helpers import write_config

MINUTE = 60_000


def _start_clock(fake, minutes_in: int) -> int:
    first = int(sample_candles("BTC/USDT")["timestamp"].iat[0])
    fake.set_clock(first + minutes_in * MINUTE + 1_000)
    return fake.now()


def _run(cfg_path, fake, cycles: int, on_cycle=None) -> int:
    config = load_config(cfg_path)
    state = {"n": 0}

    def sleep(_seconds):
        state["n"] += 1
        if on_cycle:
            on_cycle(state["n"])
        fake.set_clock(fake.now() + MINUTE)

    return run_live(
        cfg_path, config, lambda: False, exchange=exchange_for(fake), clock=fake.now, sleep=sleep, max_cycles=cycles
    )


def test_paper_trades_from_polled_closed_candles(tmp_path, fake_binance):
    cfg = write_config(tmp_path, params={"MA_Crossover": {"short_period": 5, "long_period": 20}})
    _start_clock(fake_binance, 100)
    assert _run(cfg, fake_binance, 180) == 0
    store = SQLiteStore(tmp_path / "daybreak.db")
    trades = store.list_trades()
    assert len(trades) >= 4, "MA 5/20 crosses several times in 3 hours of real candles"
    candles = sample_candles("BTC/USDT").set_index("timestamp")
    for t in trades:
        # paper fill: the open of the candle after the decision (the one forming at the poll
        # that saw the decision's candle close), at its open time, moved 5 bps against the trader
        if t.symbol == "BTC/USDT":
            expected = candles["open"][t.timestamp] * (1.0005 if t.action == "buy" else 0.9995)
            assert t.price == pytest.approx(expected, rel=1e-12)
        assert t.fee == pytest.approx(0.001 * t.amount * t.price, rel=1e-9)
    # the first signal could come right after start: warm-up history was fetched at once
    assert trades[0].timestamp - (fake_binance.now() - 180 * MINUTE) < 60 * MINUTE
    status = store.get_status()
    assert status.state == "SHUTDOWN" and status.mode == "paper"
    assert store.list_prices("BTC/USDT"), "prices are stored"
    # only closed candles were acted on: no decision time after the fake's clock
    assert max(t.timestamp for t in trades) <= fake_binance.now()


def test_exchange_down_keeps_running_and_reports(tmp_path, fake_binance):
    cfg = write_config(tmp_path, params={"MA_Crossover": {"short_period": 5, "long_period": 20}})
    _start_clock(fake_binance, 100)
    seen = {}
    store = SQLiteStore(tmp_path / "daybreak.db")

    def on_cycle(n):
        if n == 30:
            fake_binance.refuse_connections()
        if n == 34:
            status = store.get_status()
            seen["error"] = status.last_error
            seen["feed"] = status.detail["feed"]
            fake_binance.accept_connections()

    assert _run(cfg, fake_binance, 120, on_cycle) == 0
    assert "unavailable" in seen["error"].lower() or "temporary" in seen["error"].lower()
    assert any(v["error"] for v in seen["feed"].values())
    trades = store.list_trades()
    assert len({t.trade_id for t in trades}) == len(trades)
    assert any(t.timestamp > fake_binance.now() - 60 * MINUTE for t in store.list_prices("BTC/USDT")), (
        "polling resumed after the outage"
    )


def test_a_symbol_added_by_a_config_change_is_traded_with_its_market_limits(tmp_path, fake_binance):
    import json

    cfg = write_config(
        tmp_path,
        symbols=["BTC/USDT"],
        order_size={"default": {"amount": 0.03}},
        params={"MA_Crossover": {"short_period": 5, "long_period": 20}},
    )
    _start_clock(fake_binance, 100)

    def on_cycle(n):
        if n == 5:
            data = json.loads(cfg.read_text())
            data["symbols"] = ["BTC/USDT", "ETH/USDT"]
            cfg.write_text(json.dumps(data))

    assert _run(cfg, fake_binance, 120, on_cycle) == 0
    store = SQLiteStore(tmp_path / "daybreak.db")
    assert [t for t in store.list_trades() if t.symbol == "ETH/USDT"], "ETH/USDT traded after the change"
    store.close()


def test_live_start_refused_when_the_keys_are_gone_after_the_live_check(tmp_path, monkeypatch, capsys):
    """The keys the live check found are read again to connect; gone by then (environment changed,
    secret deleted): refused with exit 2 and a message, not an AttributeError."""
    monkeypatch.setenv("DAYBREAK_LIVE_CONFIRM", "yes")
    monkeypatch.setenv("DAYBREAK_API_KEY", "key")
    monkeypatch.setenv("DAYBREAK_API_SECRET", "secret")
    monkeypatch.setattr(live, "load_api_keys", lambda exchange_id: None)
    cfg = write_config(
        tmp_path,
        mode="live",
        symbols=["BTC/USDT"],
        order_size={"BTC/USDT": {"amount": 0.001}},
        risk={"stop_loss_ratio": 0.01, "take_profit_ratio": 0.02},
    )
    assert run_live(cfg, load_config(cfg), lambda: False, sleep=lambda s: None, max_cycles=1) == 2
    assert "live trading refused: no API keys for binanceus" in capsys.readouterr().out
