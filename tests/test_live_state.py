"""Bot state and controls in live mode: BOOTING stored at start, ERROR on a fatal exchange error
(kept at shutdown, no new entries, exits retried at bounded back-off, exit code 1 once nothing
is left to protect); flatten resolves orders in flight first, sells once, pauses entries and
reports what it closed; stale controls expire."""

from __future__ import annotations

import time

import pytest

from daybreak.core.domain import new_control
from tests.live_helpers import LiveBot, assert_reconciled


def _control(bot, action: str, age_seconds: float = 0.0):
    ctl = new_control(action, "test", int((time.time() - age_seconds) * 1000))
    bot.store.put_control(ctl)
    return ctl


def _acked(bot, ctl):
    (row,) = [c for c in bot.store.list_controls() if c.control_id == ctl.control_id]
    return row


def test_booting_is_stored_before_anything_else(tmp_path, fake_binance, monkeypatch):
    bot = LiveBot(tmp_path, fake_binance, monkeypatch)
    fake_binance.go_down("503", path="/api/v3/account")  # the account cannot be read
    seen = []
    assert bot.run(3, lambda n: seen.append(bot.store.get_status())) == 0
    assert [s.state for s in seen[:2]] == ["BOOTING", "BOOTING"], "no RUNNING before the account is known"
    assert "account not read" in seen[0].last_error
    fake_binance.come_back()
    assert bot.run(2) == 0
    assert bot.store.get_status().state == "SHUTDOWN"
    bot.close()


def test_a_fatal_error_placing_an_entry_is_state_error_and_exit_1(tmp_path, fake_binance, monkeypatch):
    bot = LiveBot(tmp_path, fake_binance, monkeypatch)

    def on_cycle(n):
        if n == 1:
            fake_binance.secret = "rotated"  # the key was regenerated on the exchange: signatures fail
            bot.signal("buy")

    code = bot.run(60, on_cycle)
    assert code == 1, "nothing to protect: the process stops non-zero"
    assert bot.cycles < 5, "not retried for ever"
    status = bot.store.get_status()
    assert status.state == "ERROR" and "AuthenticationError" in status.reason, "kept at shutdown"
    assert fake_binance.ledger() == [] and bot.store.list_trades() == []
    (rec,) = bot.store.list_orders()
    assert rec.status == "rejected" and "AuthenticationError" in rec.error
    bot.close()


def test_in_error_the_exit_keeps_being_retried_at_a_bounded_backoff(tmp_path, fake_binance, monkeypatch):
    """The key loses its permission while a position is open: state ERROR, entries refused, the
    exit retried (not every cycle), and once it goes through, exit code 1."""
    bot = LiveBot(tmp_path, fake_binance, monkeypatch, step_seconds=5)

    def on_cycle(n):
        if n == 1:
            bot.signal("buy")
        if n == 3:
            fake_binance.secret = "rotated"
            bot.signal("sell")
        if n == 5:
            bot.signal("buy")  # refused: state ERROR
        if n == 40:
            fake_binance.secret = "daybreak-test-secret"

    code = bot.run(120, on_cycle)
    assert code == 1
    assert bot.store.get_status().state == "ERROR"
    assert 40 < bot.cycles < 120, "it waited for the exit, then stopped"
    sells = [r for r in fake_binance.requests_to("/api/v3/order", "POST") if r.params["side"] == "SELL"]
    assert 3 <= len(sells) <= 10, f"{len(sells)} attempts in 37 cycles: bounded back-off"
    assert len([f for f in fake_binance.ledger() if f.side == "sell"]) == 1
    assert not bot.store.list_positions()
    assert [t.action for t in bot.store.list_trades()] == ["buy", "sell"], "no entry in ERROR"
    assert_reconciled(bot.store, fake_binance)
    bot.close()


def test_flatten_resolves_an_exit_whose_reply_was_lost_and_sells_once(tmp_path, fake_binance, monkeypatch):
    """The issue's case: a time-stop sell executes, its reply is lost and the look-ups fail; a
    flatten comes meanwhile. It waits for the exit's outcome, finds nothing left to sell, and
    says so: the exchange made one sell and the store knows it."""
    bot = LiveBot(tmp_path, fake_binance, monkeypatch, risk={"time_stop_seconds": 60})
    state = {}

    def on_cycle(n):
        if n == 1:
            bot.signal("buy")
        elif "armed" not in state and bot.store.list_positions():
            # the next order (the time stop's sell) executes; its reply and the look-ups fail
            fake_binance.lose_next_reply()
            fake_binance.go_down("503", after=1, count=8, path="/api/v3/order")
            state["armed"] = n
        elif "ctl" not in state and [r for r in bot.store.list_orders(open_only=True) if r.side == "sell"]:
            state["ctl"] = _control(bot, "flatten")  # while the exit is in flight

    assert bot.run(16, on_cycle) == 0
    assert "ctl" in state, "the flatten came while the exit was in flight"
    sells = [f for f in fake_binance.ledger() if f.side == "sell"]
    assert len(sells) == 1, "one sell on the exchange"
    assert [t.exit_reason for t in bot.store.list_trades() if t.action == "sell"] == ["time_stop"]
    ctl = _acked(bot, state["ctl"])
    assert ctl.status == "done" and ctl.result.startswith("closed 0 position(s)")
    assert_reconciled(bot.store, fake_binance)
    bot.close()


def test_flatten_books_a_buy_whose_reply_was_lost_then_sells_it(tmp_path, fake_binance, monkeypatch):
    bot = LiveBot(tmp_path, fake_binance, monkeypatch)
    state = {}

    def on_cycle(n):
        if n == 1:
            fake_binance.lose_next_reply()
            fake_binance.go_down("503", after=1, count=6, path="/api/v3/order")
            bot.signal("buy")
        if n == 2:  # the buy executed, its reply was lost, the look-ups fail: it is in flight
            assert [r.side for r in bot.store.list_orders(open_only=True)] == ["buy"]
            state["ctl"] = _control(bot, "flatten")

    assert bot.run(10, on_cycle) == 0
    assert [t.action for t in bot.store.list_trades()] == ["buy", "sell"]
    assert float(bot.held()) == pytest.approx(0.000009, abs=1e-12), "only the fee's dust is left"
    ctl = _acked(bot, state["ctl"])
    assert ctl.status == "done" and ctl.result.startswith("closed 1 position(s): External BTC/USDT 0.00099")
    assert_reconciled(bot.store, fake_binance)
    bot.close()


def test_flatten_closes_every_position_says_so_and_pauses_entries_until_resume(tmp_path, fake_binance, monkeypatch):
    fake_binance.add_candles(
        "ETH/USDT", "1m", __import__("tests.fixtures_exchange", fromlist=["x"]).sample_candles("ETH/USDT")
    )
    bot = LiveBot(
        tmp_path,
        fake_binance,
        monkeypatch,
        symbols=["BTC/USDT", "ETH/USDT"],
        order_size={"BTC/USDT": {"amount": 0.001}, "ETH/USDT": {"amount": 0.03}},
    )
    state = {}

    def on_cycle(n):
        if n == 1:
            bot.signal("buy", "BTC/USDT")
            bot.signal("buy", "ETH/USDT")
        if n == 3:
            state["flatten"] = _control(bot, "flatten")
        if n == 5:
            bot.signal("buy", "ETH/USDT")  # refused: the flatten paused entries
        if n == 7:
            state["resume"] = _control(bot, "resume")
        if n == 9:
            bot.signal("buy", "ETH/USDT")

    assert bot.run(11, on_cycle) == 0
    flat = _acked(bot, state["flatten"])
    assert flat.status == "done" and flat.result.startswith("closed 2 position(s)") and "entries paused" in flat.result
    assert [e.rule for e in bot.store.list_events(kind="rejection")] == ["paused_manual"]
    assert _acked(bot, state["resume"]).status == "done"
    trades = bot.store.list_trades()
    assert [(t.symbol, t.action) for t in trades][-1] == ("ETH/USDT", "buy"), "entries resumed"
    bot.close()


def test_a_control_that_waited_for_a_stopped_bot_expires(tmp_path, fake_binance, monkeypatch):
    bot = LiveBot(tmp_path, fake_binance, monkeypatch, control_max_age_seconds=300)
    old = _control(bot, "flatten", age_seconds=3600)
    fresh = _control(bot, "pause", age_seconds=10)
    assert bot.run(2) == 0
    expired = _acked(bot, old)
    assert expired.status == "expired" and "waited 3600 s while no bot was running" in expired.result
    assert _acked(bot, fresh).status == "done"
    bot.close()


def test_a_flatten_refused_for_locked_coins_is_retried_at_a_backoff_not_every_cycle(
    tmp_path, fake_binance, monkeypatch
):
    """The trader's own limit sell locks the coins: the flatten's sell is refused (insufficient
    balance), the account read again (nothing is missing: the coins are locked, not gone), and
    the sell waits at a growing back-off for free coins, instead of a refusal every cycle."""
    bot = LiveBot(tmp_path, fake_binance, monkeypatch, step_seconds=5)
    client = fake_binance.ccxt()
    client.load_markets()
    state = {}

    def on_cycle(n):
        if n == 1:
            bot.signal("buy")
        if n == 3:
            state["manual"] = client.create_order(
                "BTC/USDT", "limit", "sell", 0.00099, 1_000_000, {"newClientOrderId": "manual-9", "timeInForce": "GTC"}
            )
            state["ctl"] = _control(bot, "flatten")
        if n == 20:
            client.cancel_order(state["manual"]["id"], "BTC/USDT")

    assert bot.run(60, on_cycle, until=lambda: "ctl" in state and _acked(bot, state["ctl"]).status == "done") == 0
    sells = [
        r
        for r in fake_binance.requests_to("/api/v3/order", "POST")
        if r.params["side"] == "SELL" and r.params.get("newClientOrderId") != "manual-9"
    ]
    assert [r.status for r in sells] == [400, 200], "refused once; retried (when coins were free) at a back-off"
    assert _acked(bot, state["ctl"]).result.startswith("closed 1 position(s)")
    assert not bot.store.list_events(kind="reconcile"), "locked coins are not missing coins"
    bot.close()


def test_a_symbol_the_exchange_does_not_list_is_fatal_not_an_outage(tmp_path, fake_binance, monkeypatch):
    bot = LiveBot(
        tmp_path,
        fake_binance,
        monkeypatch,
        mode="paper",
        symbols=["BTC/USDT", "NOPE/USDT"],
        order_size={"default": {"amount": 0.001}},
    )
    assert bot.run(20) == 1
    assert bot.cycles < 3, "stopped at once, not retried with back-off"
    status = bot.store.get_status()
    assert status.state == "ERROR" and "BadSymbol" in status.reason
    bot.close()


def test_a_fatal_error_during_flatten_is_state_error_not_a_retry_every_cycle(tmp_path, fake_binance, monkeypatch):
    """The key is rotated on the exchange just as the trader flattens: the flatten's sell is
    refused with a signature error, which is fatal (state ERROR with the reason at once), not a
    'flatten failed, retrying' line; the sell waits at the exits' back-off and, once the key
    works again, flatten closes the position once and the run stops with exit code 1."""
    bot = LiveBot(tmp_path, fake_binance, monkeypatch, step_seconds=5)
    state = {}
    states = {}

    def on_cycle(n):
        states[n] = bot.store.get_status().state  # as the cycle before this one left it
        if n == 1:
            bot.signal("buy")
        if n == 3:
            fake_binance.secret = "rotated"
            state["ctl"] = _control(bot, "flatten")
        if n == 40:
            fake_binance.secret = "daybreak-test-secret"

    code = bot.run(120, on_cycle)
    assert states[3] == "RUNNING" and states[4] == "ERROR", f"ERROR after the flatten's first attempt: {states}"
    assert "AuthenticationError" in bot.store.get_status().reason
    assert _acked(bot, state["ctl"]).result.startswith("closed 1 position(s)")
    sells = [r for r in fake_binance.requests_to("/api/v3/order", "POST") if r.params["side"] == "SELL"]
    assert 2 <= len(sells) <= 12, f"{len(sells)} sell attempts in 37 cycles: not one per cycle"
    assert len([f for f in fake_binance.ledger() if f.side == "sell"]) == 1, "sold once"
    assert not bot.store.list_positions()
    assert code == 1 and bot.store.get_status().state == "ERROR", "kept at shutdown"
    assert_reconciled(bot.store, fake_binance)
    bot.close()
