"""DynamoStore specifics: Query-only reads, price expiry, unknown outcomes, clear errors."""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from botocore.awsrequest import AWSResponse

from daybreak.core.domain import Action, Control, Event, Position, Trade
from storage.base import StorageError
from storage.dynamo_client import make_client
from storage.dynamodb import DynamoStore
from storage.init_db import init_db
from storage.records import PriceRecord, SignalRecord, StatRecord, StatusRecord
from tests.fixtures_dynamo import dynamo_settings

T0 = 1_617_321_600_000
TRADE = Trade("db-1", T0, "BTC/USDT", Action.BUY, 0.001, 58_720.45, 0.0587, "MA_Crossover")


def throttle(client, operation: str, times: int) -> list[int]:
    """Make the next ``times`` calls of ``operation`` answer DynamoDB's HTTP 400 throttling error
    (the real wire format, so botocore parses it as it would from AWS). Returns the counter."""
    seen = [0]

    def answer(request, **_):
        if seen[0] >= times:
            return None
        seen[0] += 1
        body = (
            b'{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",'
            b'"message":"The level of configured provisioned throughput for the table was exceeded."}'
        )
        return AWSResponse(request.url, 400, {"Content-Type": "application/x-amz-json-1.0"}, _Raw(body))

    client.meta.events.register_first(f"before-send.dynamodb.{operation}", answer)
    return seen


class _Raw:
    def __init__(self, body: bytes):
        self.body = body

    def stream(self, **_):
        yield self.body


class AnswerDroppingProxy(ThreadingHTTPServer):
    """HTTP proxy to a DynamoDB-compatible server that forwards a request of operation ``drop``
    (e.g. ``PutItem``) but hangs up instead of answering, ``times`` times: the server applied the
    write, the client never heard back, and the store retries it."""

    daemon_threads = True

    def __init__(self, upstream_port: int, drop: str, times: int = 1):
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.upstream_port, self.drop, self.times, self.dropped = upstream_port, drop, times, 0
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _ProxyHandler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        upstream = http.client.HTTPConnection("127.0.0.1", self.server.upstream_port, timeout=10)
        upstream.request("POST", self.path, body, {k: v for k, v in self.headers.items() if k.lower() != "host"})
        answer = upstream.getresponse()
        data = answer.read()
        target = self.headers.get("X-Amz-Target", "")
        if target.endswith("." + self.server.drop) and self.server.dropped < self.server.times:
            self.server.dropped += 1
            self.close_connection = True  # hang up: the write happened, the answer is lost
            return
        self.send_response(answer.status)
        for name in ("Content-Type", "x-amzn-RequestId", "x-amz-crc32"):
            if answer.getheader(name):
                self.send_header(name, answer.getheader(name))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def dynalite_settings(dynalite_shared, aws_env):
    settings = dynamo_settings(dynalite_shared.endpoint_url, price_retention_days=2.5)
    init_db(settings)
    return settings


def test_every_read_is_a_query_or_get_never_a_scan(dynalite_settings):
    store = DynamoStore.from_settings(dynalite_settings)
    calls = []
    store._client.meta.events.register(
        "provide-client-params.dynamodb", lambda params, model, **_: calls.append((model.name, params.get("IndexName")))
    )
    store.put_trade(TRADE)
    store.put_stats([StatRecord("pnl", "total", 1.0, "2021-04-02")])
    store.put_prices([PriceRecord("BTC/USDT", T0, 1.0)])
    store.put_signal(SignalRecord("s", T0, "BTC/USDT", "buy"))
    store.put_position(Position("A", "BTC/USDT", 1.0, 1.0, T0, 0.0, "db-1"))
    store.put_event(Event("e", T0, "error", "m"))
    store.put_control(Control("c", T0, "pause", "cli"))
    store.put_status(StatusRecord(T0, "paper", "RUNNING"))
    store.set_state("k", "v")
    store.flush()
    calls.clear()
    store.list_trades(), store.list_trades(symbol="BTC/USDT"), store.list_trades(algo="A"), store.list_stats()
    store.list_prices("BTC/USDT"), store.price_symbols(), store.list_signals(), store.list_signals(status="new")
    store.list_positions(), store.list_events(), store.list_events(kind="error"), store.list_controls()
    store.list_controls(status="pending"), store.get_status(), store.get_state("k")
    assert {op for op, _ in calls} == {"Query", "GetItem"}
    assert ("Query", "by_time") in calls and ("Query", "by_symbol") in calls and ("Query", "by_status") in calls
    store.close()


def test_price_expiry_is_candle_time_plus_retention(dynalite_settings):
    store = DynamoStore.from_settings(dynalite_settings)
    store.put_prices([PriceRecord("BTC/USDT", T0 + 59_999, 58_720.45)])
    (row,) = store.list_prices("BTC/USDT")
    assert row.expiry == (T0 + 59_999) // 1000 + int(2.5 * 86_400)
    store.close()


def test_a_trade_whose_answer_was_lost_counts_once(dynalite_shared, dynalite_settings):
    proxy = AnswerDroppingProxy(dynalite_shared.port, "PutItem")
    store = DynamoStore(make_client("us-east-1", proxy.endpoint_url, read_timeout=5), dynalite_settings.table_prefix)
    assert store.put_trade(TRADE) is True  # the retry met our own stored trade
    assert proxy.dropped == 1
    assert store.put_trade(TRADE) is False  # a real duplicate later is still refused
    assert store.list_trades() == [TRADE]
    store.close()
    proxy.shutdown()


def test_a_signal_mark_whose_answer_was_lost_still_succeeds_once(dynalite_shared, dynalite_settings):
    proxy = AnswerDroppingProxy(dynalite_shared.port, "UpdateItem")
    store = DynamoStore(make_client("us-east-1", proxy.endpoint_url, read_timeout=5), dynalite_settings.table_prefix)
    store.put_signal(SignalRecord("s", T0, "BTC/USDT", "buy"))
    assert store.mark_signal("s", T0, "executed", "db-1", "bought", T0 + 1) is True
    assert proxy.dropped == 1
    assert store.mark_signal("s", T0, "executed", "db-2", "again", T0 + 2) is False
    assert store.list_signals()[0].outcome == "db-1"
    store.close()
    proxy.shutdown()


def test_a_trade_put_while_the_server_is_down_raises_and_succeeds_when_retried(dynalite_server):
    settings = dynamo_settings(dynalite_server.endpoint_url)
    init_db(settings)
    client = make_client("us-east-1", dynalite_server.endpoint_url, connect_timeout=0.5)
    store = DynamoStore(client, settings.table_prefix, retry_seconds=1)
    dynalite_server.kill()
    with pytest.raises(
        StorageError, match=rf"dynamodb Query on {settings.table_prefix}Trades: EndpointConnectionError"
    ):
        store.put_trade(TRADE)
    dynalite_server.start()
    assert store.put_trade(TRADE) is True
    assert store.list_trades() == [TRADE]
    store.close()


def test_throttled_synchronous_calls_are_retried_then_reported(dynalite_settings):
    store = DynamoStore.from_settings(dynalite_settings, retry_seconds=10)
    seen = throttle(store._client, "PutItem", times=3)
    assert store.put_trade(TRADE) is True and seen[0] == 3
    assert store.list_trades() == [TRADE]
    impatient = DynamoStore.from_settings(dynalite_settings, retry_seconds=0.3)
    throttle(impatient._client, "UpdateItem", times=1_000_000)
    impatient.put_signal(SignalRecord("s", T0, "BTC/USDT", "buy"))
    with pytest.raises(StorageError, match="UpdateItem on .*Signals: ProvisionedThroughputExceededException"):
        impatient.mark_signal("s", T0, "executed", "db-1", "", T0)
    impatient.close()
    store.close()


def test_missing_tables_name_the_table_and_the_fix(dynalite_shared, aws_env):
    store = DynamoStore.from_settings(dynamo_settings(dynalite_shared.endpoint_url, prefix="NoSuch"))
    with pytest.raises(StorageError, match=r"NoSuchTrades: ResourceNotFoundException.*run `python bot.py init-db`"):
        store.list_trades()
    store.close()
