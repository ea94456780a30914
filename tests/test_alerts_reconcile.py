"""A reconciliation that finds the exchange holding less than the books reaches the trader."""

from __future__ import annotations

import time

import pytest

from daybreak.core.alert_settings import NotifySettings
from daybreak.core.domain import Event
from daybreak.drivers.alerts import Alerts
from daybreak.drivers.sink import StoreSink
from daybreak.ops.notify import Notifier
from storage.sqlite import SQLiteStore
from tests.fakes.alert_receiver import Receiver

FAST = {"retries": 2, "backoff_seconds": 0.01, "backoff_max_seconds": 0.02, "poll_seconds": 0.02}


class _Stats:
    def poke(self) -> None:
        pass


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def test_a_reconcile_event_sends_one_balance_mismatch_alert(tmp_path, receiver):
    alerts = Alerts(Notifier([receiver.url()], NotifySettings(), **FAST))
    sink = StoreSink(SQLiteStore(tmp_path / "s.db"), _Stats(), alerts=alerts)
    message = "the exchange holds less BTC than the bot: closed 0.00099 of MA_Crossover's BTC/USDT position"
    sink.rejection(
        Event(
            "reconcile-BTC-1",
            1_700_000_000_000,
            "reconcile",
            message,
            "",
            "BTC/USDT",
            "external_close",
            {"base": "BTC", "books": 0.001, "exchange": 0.00001},
        )
    )
    sink.rejection(
        Event("reconcile-x", 1_700_000_000_000, "reconcile", "order cancelled", "", "BTC/USDT", "unknown_order", {})
    )  # an event without the amounts is no balance mismatch
    alerts.close()
    deadline = time.monotonic() + 5
    while not receiver.delivered() and time.monotonic() < deadline:
        time.sleep(0.05)
    (body,) = receiver.delivered()
    assert body["title"] == "Daybreak: balance mismatch on BTC/USDT"
    assert "books 0.001 BTC, exchange " in body["message"]
    assert "closed 0.00099" in body["message"]
