"""bot.py doctor against the fake Binance (real ccxt, Binance's wire shapes), a real store, a real
lock file and a local alert receiver; and ``bot.py run`` in live mode refusing to trade on a failure."""

from __future__ import annotations

import time

import pytest

from daybreak import cli
from daybreak.drivers import doctor
from daybreak.ops.config_file import load_config
from daybreak.ops.run_lock import acquire
from storage.records import StatusRecord
from storage.sqlite import SQLiteStore
from tests.fakes.alert_receiver import Receiver
from tests.fixtures_exchange import exchange_for
from tests.helpers import write_config


@pytest.fixture
def receiver():
    rec = Receiver()
    yield rec
    rec.close()


@pytest.fixture
def live_env(fake_binance, receiver, monkeypatch):
    env = {
        "DAYBREAK_LIVE_CONFIRM": "yes",
        "DAYBREAK_API_KEY": fake_binance.api_key,
        "DAYBREAK_API_SECRET": fake_binance.secret,
        "DAYBREAK_NOTIFY_URLS": receiver.url(),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    fake_binance.set_clock(int(time.time() * 1000))  # no clock skew
    return env


def _by_name(checks) -> dict:
    return {c.name: c for c in checks}


def _live_config(tmp_path, **kw):
    return write_config(tmp_path, mode="live", **kw)


def test_withdrawal_enabled_key_and_missing_symbol_fail(tmp_path, fake_binance, live_env):
    fake_binance.key_permissions["enableWithdrawals"] = True
    cfg = load_config(
        _live_config(tmp_path, symbols=["BTC/USDT", "XYZ/USDT"], order_size={"BTC/USDT": {"amount": 0.001}})
    )
    checks = doctor.run_checks(cfg, env=live_env, exchange=exchange_for(fake_binance))
    by = _by_name(checks)
    assert by["withdrawal permission"].failed and "disable withdrawals" in by["withdrawal permission"].fix
    assert by["market XYZ/USDT"].failed and "not listed on binanceus" in by["market XYZ/USDT"].detail
    lim = fake_binance.limits("BTC/USDT")
    assert by["market BTC/USDT"].status == "PASS"
    assert (
        f"min amount {lim.min_amount:g}, step {lim.amount_step:g}, min notional {lim.min_notional:g}"
        in by["market BTC/USDT"].detail
    )
    assert by["trading permission"].status == "PASS" and by["api key"].status == "PASS"
    assert {c.name for c in checks if c.failed} == {"withdrawal permission", "market XYZ/USDT"}
    assert all(len(c.line().splitlines()) == 1 for c in checks)


def test_a_ready_setup_passes_every_check_and_sends_the_test_alert(tmp_path, fake_binance, live_env, receiver):
    cfg = load_config(_live_config(tmp_path))
    checks = doctor.run_checks(cfg, env=live_env, exchange=exchange_for(fake_binance), send=True)
    assert [c.line() for c in checks if c.status != "PASS"] == []
    by = _by_name(checks)
    # order sizes 0.001 BTC and 0.03 ETH at the fake's last prices, plus the 0.1 % fee
    need = sum(a * float(fake_binance.last_price(m)) for a, m in ((0.001, "BTCUSDT"), (0.03, "ETHUSDT"))) * 1.001
    assert f"USDT: need {need:,.2f}, have 10,000.00 (exchange balance)" in by["balance"].detail
    assert "USDT" in by["api key"].detail and "10,000.00" in by["api key"].detail
    assert [b["title"] for b in receiver.delivered()] == ["Daybreak: test"]
    assert "MA_Crossover" in by["config"].detail and "risk MA_Crossover" in by


def test_clock_skew_bad_key_low_balance_and_trading_off_fail(tmp_path, fake_binance, live_env):
    fake_binance.set_clock(int(time.time() * 1000) + 5_000)
    fake_binance.key_permissions["enableSpotAndMarginTrading"] = False
    fake_binance.set_balance("USDT", "5")
    cfg = load_config(_live_config(tmp_path))
    by = _by_name(doctor.run_checks(cfg, env=live_env, exchange=exchange_for(fake_binance)))
    assert by["exchange"].failed and "clock skew +" in by["exchange"].detail
    assert by["trading permission"].failed and by["balance"].failed and "have 5.00" in by["balance"].detail
    env = dict(live_env, DAYBREAK_API_SECRET="not-the-secret")
    fake_binance.set_clock(int(time.time() * 1000))
    by = _by_name(doctor.run_checks(cfg, env=env, exchange=exchange_for(fake_binance, secret="not-the-secret")))
    assert by["api key"].failed and "Signature for this request is not valid" in by["api key"].detail


def test_run_lock_free_live_or_stuck(tmp_path, fake_binance, live_env):
    cfg = load_config(_live_config(tmp_path))
    by = _by_name(doctor.run_checks(cfg, env=live_env, exchange=exchange_for(fake_binance)))
    assert by["run lock"].status == "PASS"
    lock = acquire(cfg.storage)  # another "bot" holds the lock
    try:
        store = SQLiteStore(cfg.storage.path)
        store.put_status(StatusRecord(int(time.time() * 1000) - 3_600_000, "live", "RUNNING"))
        by = _by_name(doctor.run_checks(cfg, env=live_env, exchange=exchange_for(fake_binance)))
        assert by["run lock"].failed and "heartbeat is 3600 s ago" in by["run lock"].detail
        store.put_status(StatusRecord(int(time.time() * 1000), "live", "RUNNING"))
        by = _by_name(doctor.run_checks(cfg, env=live_env, exchange=exchange_for(fake_binance)))
        assert by["run lock"].status == "PASS" and "held by the running bot" in by["run lock"].detail
        store.close()
    finally:
        lock.close()


def test_dynamodb_tables_missing_says_init_db(tmp_path, aws_env):
    from moto import mock_aws

    storage = {"backend": "dynamodb", "table_prefix": "Doc", "region": "us-east-1"}
    cfg = load_config(write_config(tmp_path, storage=storage))
    with mock_aws():
        (check,) = [c for c in doctor._storage_checks(cfg, time.time) if c.name == "storage"]
    assert check.failed and "DocTrades" in check.detail and check.fix == "run: bot.py init-db"


def test_doctor_command_prints_one_line_per_check_and_exits_1(tmp_path, fake_binance, live_env, monkeypatch, capsys):
    fake_binance.key_permissions["enableWithdrawals"] = True
    cfg = _live_config(tmp_path, symbols=["BTC/USDT", "XYZ/USDT"], order_size={"BTC/USDT": {"amount": 0.001}})
    monkeypatch.setattr(doctor, "connect", lambda config, keys: exchange_for(fake_binance))
    assert cli.main(["doctor", "--config", str(cfg)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert all(line[:4] in ("PASS", "FAIL", "SKIP") for line in lines[:-1])
    assert lines[-1] == f"{len(lines) - 1} checks: 2 failed (market XYZ/USDT, withdrawal permission)"
    assert SQLiteStore(tmp_path / "daybreak.db").get_state(doctor.REPORT_STATE_KEY), "kept for the dashboard"


def test_live_run_refuses_to_trade_when_a_check_fails(tmp_path, fake_binance, live_env, monkeypatch, receiver, capsys):
    fake_binance.key_permissions["enableWithdrawals"] = True
    cfg = _live_config(tmp_path)
    monkeypatch.setattr(doctor, "connect", lambda config, keys: exchange_for(fake_binance))
    assert cli.main(["run", "--config", str(cfg)]) == 1
    assert "health check failed: withdrawal permission" in capsys.readouterr().err
    status = SQLiteStore(tmp_path / "daybreak.db").get_status()
    assert status.state == "ERROR" and "withdrawal permission" in status.reason
    assert status.last_error.startswith("FAIL withdrawal permission")
    assert fake_binance.requests_to("/api/v3/order") == [], "no order was sent"
    (alert,) = receiver.delivered()
    assert alert["title"] == "Daybreak: state error" and "withdrawal permission" in alert["message"]
