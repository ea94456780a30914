"""A replay stopped while a simulated limit entry or maker exit rests, then started again on the
whole file, books exactly the trades of an uninterrupted replay: the resting order (its price,
placement time and deadline) is kept with the pending orders and resumed."""

from __future__ import annotations

import json

from daybreak.drivers.replay import load_files, run_replay
from daybreak.drivers.wiring import build_context
from daybreak.ops.config_file import load_config
from tests.helpers import SAMPLE, write_config

EXECUTION = {
    "entry_order": "limit",
    "entry_offset_bps": 15,
    "entry_timeout_seconds": 900,
    "exit_order": "maker",
    "exit_chase_seconds": 900,
}


def _replay(cfg, end_ms=None):
    config = load_config(cfg)
    ctx = build_context(cfg, config)
    try:
        run_replay(ctx, load_files(SAMPLE[:1], config, None, end_ms))
        return ctx.store.list_trades(), ctx.store.get_state("pending_orders")
    finally:
        ctx.shutdown()


def _key(t):
    return (t.trade_id, t.timestamp, t.action, t.order_type, round(t.price, 8), round(t.amount, 12), t.exit_reason)


def test_a_replay_restarted_while_an_order_rests_books_the_same_trades(tmp_path):
    settings = dict(symbols=["BTC/USDT"], order_size={"BTC/USDT": {"amount": 0.001}}, execution=EXECUTION)
    (tmp_path / "whole").mkdir()
    whole, _ = _replay(write_config(tmp_path / "whole", **settings))
    rested = [t for t in whole if t.order_type in ("limit", "maker")]
    assert len(rested) >= 4, [t.order_type for t in whole]
    cuts = 0
    for trade in rested[:4]:
        folder = tmp_path / f"cut-{trade.trade_id}"
        folder.mkdir()
        cfg = write_config(folder, **settings)
        _, pending = _replay(cfg, end_ms=trade.timestamp - 2 * 60_000)  # two candles before it filled
        if any("placed_at" in item for item in json.loads(pending or "[]")):
            cuts += 1
        again, _ = _replay(cfg)
        assert sorted(map(_key, again)) == sorted(map(_key, whole)), trade.trade_id
    assert cuts >= 2, "the cuts fell while an order rested"
