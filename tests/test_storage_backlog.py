"""A store that refuses writes for a while loses nothing: the sink keeps trades in order and
retries them; what is still unsaved at shutdown is written to a file beside the log."""
from __future__ import annotations

import json

from daybreak.drivers.replay import load_files, run_replay
from daybreak.drivers.wiring import build_context
from daybreak.ops.config_file import load_config
from storage.base import StorageError
from storage.sqlite import SQLiteStore
from tests.helpers import SAMPLE, write_config


def _replay(cfg_path, fail):
    config = load_config(cfg_path)
    ctx = build_context(cfg_path, config)
    real_put = ctx.store.put_trade
    calls = {"n": 0}

    def flaky_put(trade):
        calls["n"] += 1
        if fail(calls["n"]):
            raise StorageError("sqlite: database is locked (test)")
        return real_put(trade)

    ctx.store.put_trade = flaky_put
    try:
        run_replay(ctx, load_files(SAMPLE[:1], config))
    finally:
        ctx.shutdown()
    return calls["n"]


def _cfg(path):
    return write_config(path, symbols=["BTC/USDT"], order_size={"BTC/USDT": {"amount": 0.001}})


def test_trades_refused_for_a_while_are_stored_later_in_order(tmp_path):
    (tmp_path / "ok").mkdir()
    (tmp_path / "flaky").mkdir()
    _replay(_cfg(tmp_path / "ok"), lambda n: False)
    attempts = _replay(_cfg(tmp_path / "flaky"), lambda n: 3 <= n <= 40)
    good = SQLiteStore(tmp_path / "ok" / "daybreak.db").list_trades()
    kept = SQLiteStore(tmp_path / "flaky" / "daybreak.db").list_trades()
    assert attempts > len(good), "writes were refused and retried"
    assert [t.trade_id for t in kept] == [t.trade_id for t in good]
    assert kept == good


def test_writes_still_unsaved_at_shutdown_go_to_a_file(tmp_path):
    cfg = _cfg(tmp_path)
    _replay(cfg, lambda n: n >= 5)
    stored = SQLiteStore(tmp_path / "daybreak.db").list_trades()
    assert len(stored) == 4
    lines = [json.loads(x) for x in (tmp_path / "unsaved-writes.jsonl").read_text().splitlines()]
    unsaved = [x["record"] for x in lines if x["kind"] == "trade"]
    assert unsaved and unsaved[0]["trade_id"] not in {t.trade_id for t in stored}
    assert {"trade_id", "timestamp", "price", "amount", "pnl"} <= set(unsaved[0])
