"""Backtest equals replay, trade for trade, with every execution setting: limit entries (timed
out to market or cancelled), maker exits chased to market, resting take-profits eased toward
their floor, exchange stops (stop-loss-limit, OCO), on the shipped candles with every registered
strategy enabled at once (each strategy's positions are its own; the backtest skips candles
where nothing can happen, replay walks every one). Each case also checks that the setting was
exercised: the order kinds it is about did fill."""

from __future__ import annotations

from collections import Counter

import pytest

from strategies import registry
from tests.test_parity import RISK, _both, assert_same

OCO_RISK = {k: v for k, v in RISK.items() if k != "take_profit_fraction"}

CASES = {
    "limit_entries_to_market": (
        RISK,
        {"entry_order": "limit", "entry_offset_bps": 2, "entry_timeout_seconds": 120},
        {"limit", "market"},
    ),
    "limit_cancel_and_maker_exits": (
        RISK,
        {
            "entry_order": "limit",
            "entry_timeout_seconds": 180,
            "entry_on_timeout": "cancel",
            "exit_order": "maker",
            "exit_chase_seconds": 180,
        },
        {"limit", "maker"},
    ),
    "resting_take_profit_eased": (
        RISK,
        {"take_profit_order": "resting", "take_profit_ease_bps": 5, "take_profit_ease_seconds": 60},
        {"limit"},
    ),
    "exchange_stop_loss_limit": (
        RISK,
        {"exchange_stop": "stop_loss_limit", "exchange_stop_limit_offset_bps": 3},
        {"stop_limit"},
    ),
    "oco_with_limit_and_maker": (
        OCO_RISK,
        {
            "exchange_stop": "oco",
            "take_profit_order": "resting",
            "entry_order": "limit",
            "exit_order": "maker",
            "exit_chase_seconds": 120,
        },
        {"limit", "maker", "stop_limit"},
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_backtest_equals_replay_with_execution(tmp_path, case):
    risk, execution, kinds = CASES[case]
    replayed, backtested = _both(
        tmp_path, algos={n: True for n in registry.names()}, params={}, risk=risk, execution=execution
    )
    seen = Counter(t.order_type for t in backtested)
    assert kinds <= set(seen), f"{case}: order kinds {dict(seen)}"
    assert_same(replayed, backtested)
    assert [t.order_type for t in sorted(replayed, key=lambda t: t.trade_id)] == [
        t.order_type for t in sorted(backtested, key=lambda t: t.trade_id)
    ]


ALL_KINDS = {
    "entry_order": "limit",
    "entry_offset_bps": 3,
    "entry_timeout_seconds": 180,
    "exit_order": "maker",
    "exit_chase_seconds": 120,
    "take_profit_order": "resting",
    "take_profit_ease_bps": 5,
    "take_profit_ease_seconds": 120,
    "exchange_stop": "oco",
    "exchange_stop_limit_offset_bps": 5,
}


@pytest.mark.parametrize("name", registry.names())
def test_backtest_equals_replay_per_strategy_with_every_order_kind(tmp_path, name):
    replayed, backtested = _both(tmp_path, algos={name: True}, params={}, risk=OCO_RISK, execution=ALL_KINDS)
    assert_same(replayed, backtested)
    assert [t.order_type for t in sorted(replayed, key=lambda t: t.trade_id)] == [
        t.order_type for t in sorted(backtested, key=lambda t: t.trade_id)
    ]
