"""Crash safety of live orders: the bot process (``bot.py run``, a child process, live mode, real
ccxt against the fake Binance) is killed with SIGKILL at each step of an order's life, on SQLite
and on dynalite; the restarted bot must reach the exchange's truth: no order sent twice, no fill
missed, no stored trade the exchange never executed, balances that agree.

Each step is reached deterministically: ``DAYBREAK_FAILPOINT`` makes the bot kill itself there
(:mod:`daybreak.ops.failpoints`), and for "sent" (the request reached the exchange, the reply
had not come back) the test kills it once the fake holds the order. The steps alternate buys and
sells. After each crash the bot is restarted in this process with the exchange's clock moved on
by more than ``recvWindow``, runs until nothing is in flight, and the store is reconciled with
the fake's own ledger.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from daybreak.drivers.live import run_live
from daybreak.ops.config_file import load_config
from daybreak.ops.failpoints import POINTS
from storage import open_store
from storage.records import SignalRecord
from tests.fixtures_dynamo import DUMMY_AWS_ENV, dynamo_settings, open_dynamo
from tests.fixtures_exchange import exchange_for, sample_candles
from tests.helpers import ROOT, write_config
from tests.live_helpers import assert_reconciled

STEPS = (
    "order.decided",
    "order.intent_stored",
    "sent",
    "order.outcome_unknown",
    "order.reply",
    "order.result_stored",
    "order.trade_stored",
    "order.position_stored",
    "order.booked",
)
assert set(STEPS) - {"sent"} == set(POINTS)


class Crashes:
    """The fake exchange following the wall clock (plus an offset the test moves), a config, and
    the child bot runs."""

    def __init__(self, tmp_path, fake, storage: dict, monkeypatch):
        frame = sample_candles()
        shift = int(time.time() * 1000) // 60_000 * 60_000 - int(frame["timestamp"].iat[1000])
        fake.add_candles("BTC/USDT", "1m", frame.assign(timestamp=frame["timestamp"] + shift))
        self.fake, self.offset = fake, 0
        fake.follow_wall_clock()
        self.cfg = write_config(
            tmp_path,
            mode="live",
            symbols=["BTC/USDT"],
            algos={"MA_Crossover": False},
            params={},
            order_size={"BTC/USDT": {"amount": 0.001}},
            external_signals=True,
            risk={},
            poll_seconds=0.5,
            account_sync_seconds=5,
            storage=storage,
        )
        self.env = dict(
            os.environ,
            DAYBREAK_LIVE_CONFIRM="yes",
            DAYBREAK_API_KEY=fake.api_key,
            DAYBREAK_API_SECRET=fake.secret,
            DAYBREAK_EXCHANGE_URL=fake.url,
            PYTHONUNBUFFERED="1",
            **DUMMY_AWS_ENV,
        )
        for key in ("DAYBREAK_LIVE_CONFIRM", "DAYBREAK_API_KEY", "DAYBREAK_API_SECRET"):
            monkeypatch.setenv(key, self.env[key])
        self.store = open_store(load_config(self.cfg).storage)

    def crash_at(self, step: str, action: str) -> None:
        """Start the bot, send ``action`` once it runs, and let it die at ``step``."""
        env = dict(self.env)
        if step != "sent":
            env["DAYBREAK_FAILPOINT"] = step
        child = subprocess.Popen(
            [sys.executable, str(ROOT / "bot.py"), "run", "--config", str(self.cfg)],
            cwd=self.cfg.parent,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            self._wait(self._running, child, "the bot to run")
            if step == "sent":
                self.fake.timeout_next_order(30.0)  # the order executes; the reply is held back
            if step == "order.outcome_unknown":
                self.fake.lose_next_reply()
                self.fake.go_down("503", after=1, count=12, path="/api/v3/order")
            orders = len(self.fake.orders)
            self.store.put_signal(SignalRecord(f"crash-{step}", self.fake.now(), "BTC/USDT", action, "test"))
            if step == "sent":
                self._wait(lambda: len(self.fake.orders) > orders, child, "the order to reach the exchange")
                child.send_signal(signal.SIGKILL)
            child.wait(timeout=60)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        out = child.stdout.read()
        assert child.returncode == -signal.SIGKILL, f"{step}: the bot was not killed there:\n{out[-3000:]}"
        self.fake.come_back()

    def recover(self) -> None:
        """Restart the bot here, the exchange's clock past the lost request's recvWindow, until
        nothing is in flight."""
        self.offset += 20_000
        start = self.fake.now() + 20_000
        self.fake.set_clock(start)

        def sleep(_seconds):
            self.fake.set_clock(self.fake.now() + 5_000)

        def settled():
            return not self.store.list_orders(open_only=True) and self.fake.now() > start + 10_000

        code = run_live(
            self.cfg,
            load_config(self.cfg),
            settled,
            exchange=exchange_for(self.fake),
            clock=self.fake.now,
            sleep=sleep,
            max_cycles=12,
        )
        assert code == 0 and settled(), "the restarted bot settled every order"
        self.offset = self.fake.now() - int(time.time() * 1000)
        self.fake.follow_wall_clock(self.offset)

    def _running(self) -> bool:
        status = self.store.get_status()
        return status is not None and status.state == "RUNNING" and self.fake.now() - status.timestamp < 5_000

    @staticmethod
    def _wait(condition, child, what: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if child.poll() is not None:
                raise AssertionError(
                    f"the bot exited ({child.returncode}) waiting for {what}:\n{child.stdout.read()[-3000:]}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.05)


def _run_every_step(crashes: Crashes) -> None:
    held = False
    for step in STEPS:
        crashes.crash_at(step, "sell" if held else "buy")
        crashes.recover()
        assert_reconciled(crashes.store, crashes.fake)
        now_held = bool(crashes.store.list_positions())
        if step not in ("order.decided", "order.intent_stored"):
            assert now_held != held, f"{step}: the order that reached the exchange was booked"
        held = now_held
    assert len([f for f in crashes.fake.ledger() if f.side == "buy"]) >= 3


def test_sigkill_at_every_step_of_an_order_on_sqlite(tmp_path, fake_binance, monkeypatch):
    crashes = Crashes(tmp_path, fake_binance, {"backend": "sqlite", "path": str(tmp_path / "daybreak.db")}, monkeypatch)
    _run_every_step(crashes)
    crashes.store.close()


def test_sigkill_at_every_step_of_an_order_on_dynalite(tmp_path, fake_binance, dynalite_server, monkeypatch):
    settings = dynamo_settings(dynalite_server.endpoint_url)
    open_dynamo(settings).close()
    storage = {
        "backend": "dynamodb",
        "endpoint_url": settings.endpoint_url,
        "table_prefix": settings.table_prefix,
        "region": settings.region,
    }
    crashes = Crashes(tmp_path, fake_binance, storage, monkeypatch)
    try:
        _run_every_step(crashes)
    except Exception:
        if not dynalite_server.alive():  # the test server itself died: say so, with its last words
            pytest.fail(f"dynalite (the test's DynamoDB server) exited mid-test:\n{dynalite_server.stderr()}")
        raise
    crashes.store.close()


@pytest.mark.parametrize("step", ["order.nothing"])
def test_an_unknown_failpoint_is_refused(step):
    from daybreak.ops.failpoints import Failpoints

    with pytest.raises(ValueError, match="is not one of"):
        Failpoints(step)
