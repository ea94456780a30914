"""Storage trouble loses nothing: while the store refuses writes, new entries stop, every write
(trades, positions, events, prices, cursors, state) waits in the sink's backlog, the status row
and the log say so, and all of it is stored once the store is back; what is still unsaved at
shutdown goes to a file beside the log. The failures are real SQLite ones (a full database via
``max_page_count``, the file deleted under the bot), not mocks."""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest

from daybreak import cli
from daybreak.drivers import replay
from daybreak.drivers.replay import load_files, run_replay
from daybreak.drivers.wiring import build_context
from daybreak.ops.config_file import load_config
from storage.sqlite import SQLiteStore
from tests.helpers import SAMPLE, write_config


@pytest.fixture(autouse=True)
def retry_every_candle(monkeypatch):
    """The replay retries its backlog once a wall-clock second; here once per candle, so the
    outage windows below are the same on every machine."""
    monkeypatch.setattr(replay, "HEARTBEAT_SECONDS", 0.0)


def _cfg(path, **kw):
    return write_config(path, symbols=["BTC/USDT"], order_size={"BTC/USDT": {"amount": 0.001}}, **kw)


class DiskFullWindow:
    """Makes the context's SQLite database "full" (SQLITE_FULL: the page limit set to the pages it
    has) from candle ``start`` to candle ``end`` (counted by the replay's stop check)."""

    def __init__(self, ctx, start: int, end: int):
        self.ctx, self.start, self.end, self.n = ctx, start, end, 0
        self.full_at_some_point = False

    def __call__(self) -> bool:
        self.n += 1
        db = self.ctx.store._db
        if self.n == self.start:
            pages = db.execute("PRAGMA page_count").fetchone()[0]
            db.execute(f"PRAGMA max_page_count = {pages}")
        elif self.n == self.end:
            db.execute("PRAGMA max_page_count = 1073741823")
        if self.start <= self.n < self.end and self.ctx.engine.sink.backlog:
            self.full_at_some_point = True
            status = self.ctx.engine.sink
            assert status.fault and "full" in status.fault
        return False


def _run(cfg_path, stop):
    config = load_config(cfg_path)
    ctx = build_context(cfg_path, config)
    booked = []
    real_trade = ctx.engine.sink.trade
    ctx.engine.sink.trade = lambda t: (booked.append(t), real_trade(t))[1]
    data = load_files(SAMPLE[:1], config)
    window = stop(ctx)
    try:
        run_replay(ctx, data, should_stop=window)
    finally:
        unsaved = ctx.shutdown()
    return booked, window, unsaved, data


def test_a_full_disk_pauses_entries_keeps_every_write_and_recovers(tmp_path):
    cfg = _cfg(tmp_path)
    booked, window, unsaved, data = _run(cfg, lambda ctx: DiskFullWindow(ctx, 200, 1400))
    assert window.full_at_some_point and unsaved == 0
    store = SQLiteStore(tmp_path / "daybreak.db")
    trades = store.list_trades()
    assert [t.trade_id for t in trades] == [t.trade_id for t in booked], "every booked trade is stored, once, in order"
    refused = store.list_events(rule="storage_unavailable", limit=1000)
    assert refused and all(
        200 <= (e.timestamp - data.frames["BTC/USDT"]["timestamp"].iat[0]) // 60_000 <= 1400 for e in refused
    ), "entries refused only while the disk was full"
    frame = data.frames["BTC/USDT"]
    assert len(store.list_prices("BTC/USDT")) == len(frame), "a price for every candle, outage included"
    assert store.get_state("cursor:BTC/USDT") == str(int(frame["timestamp"].iat[-1]) + 60_000)
    assert {p.entry_trade_id for p in store.list_positions()} <= {t.trade_id for t in trades}
    store.close()


def test_the_dashboard_status_says_storage_is_failing(tmp_path):
    cfg = _cfg(tmp_path)
    config = load_config(cfg)
    ctx = build_context(cfg, config)
    db = ctx.store._db
    db.execute(f"PRAGMA max_page_count = {db.execute('PRAGMA page_count').fetchone()[0]}")
    ctx.set_state("manual_pause", "x" * 100_000)  # needs new pages: refused, kept
    assert ctx.engine.gate.storage_fault and "full" in ctx.engine.gate.storage_fault
    db.execute("PRAGMA max_page_count = 1073741823")
    ctx.heartbeat(1_700_000_000_000)  # the status row is small: stored, and says what is wrong
    status = ctx.store.get_status()
    assert status.state == "ERROR" and "new entries paused" in status.reason
    assert status.detail["storage"]["unsaved"] == 1 and "full" in status.detail["storage"]["error"]
    assert ctx.engine.sink.retry_backlog() and ctx.engine.gate.storage_fault == ""
    ctx.heartbeat(1_700_000_001_000)
    assert ctx.store.get_status().state == "RUNNING"
    assert ctx.shutdown() == 0


def test_writes_still_unsaved_at_shutdown_go_to_a_file_and_the_run_fails(tmp_path, capsys):
    cfg = _cfg(tmp_path)
    booked, window, unsaved, _ = _run(cfg, lambda ctx: DiskFullWindow(ctx, 300, 10**9))
    assert unsaved > 0
    lines = [json.loads(x) for x in (tmp_path / "unsaved-writes.jsonl").read_text().splitlines()]
    kinds = {x["kind"] for x in lines}
    assert {"prices", "state"} <= kinds
    stored = {t.trade_id for t in SQLiteStore(tmp_path / "daybreak.db").list_trades()}
    unsaved_trades = [x["record"] for x in lines if x["kind"] == "trade"]
    assert {t.trade_id for t in booked} == stored | {t["trade_id"] for t in unsaved_trades}, "nothing lost"
    assert [x["record"]["key"] for x in lines if x["kind"] == "state"].count("cursor:BTC/USDT") == 1, (
        "only the newest cursor is kept"
    )


def test_a_replay_whose_database_file_vanished_never_reports_success(tmp_path, capsys):
    data = tmp_path / "BTC-USDT_1m.csv.gz"
    pd.read_csv(SAMPLE[0]).iloc[:1500].to_csv(data, index=False, compression="gzip")
    cfg = _cfg(tmp_path, params={"MA_Crossover": {"short_period": 5, "long_period": 20}})
    real_step = replay.Stepper.step
    calls = {"n": 0}

    def step(self, symbol, k, data_age_ms=0):
        calls["n"] += 1
        if calls["n"] == 700:
            os.unlink(tmp_path / "daybreak.db")
        return real_step(self, symbol, k, data_age_ms)

    replay.Stepper.step = step
    try:
        code = cli.main(["run", "--replay", str(data), "--config", str(cfg)])
    finally:
        replay.Stepper.step = real_step
    out, err = capsys.readouterr()
    assert code == 1
    assert "trade(s)" not in out
    assert "deleted" in err and len(err.strip().splitlines()) == 1, err
    lines = (tmp_path / "unsaved-writes.jsonl").read_text().splitlines()
    assert any(json.loads(x)["kind"] == "trade" for x in lines), "trades after the deletion are kept in the file"
