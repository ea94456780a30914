"""Running the live bot in-process against the fake Binance (real ccxt, live mode, fake clock).

:class:`LiveBot` writes a live config (BTC/USDT, no strategy, external signals on, fixed order
sizes, no risk rules unless given) with a SQLite store in ``tmp_path`` (or DynamoDB settings),
sets the live-trading environment, and runs :func:`daybreak.drivers.live.run_live` with the
fake's clock; every cycle's sleep advances that clock by ``step_seconds`` and then calls the
scenario's ``on_cycle(n)``, so a test drives faults and signals between cycles.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from daybreak.drivers.live import run_live
from daybreak.ops.config_file import load_config
from storage import open_store
from storage.records import SignalRecord
from tests.fixtures_exchange import exchange_for, sample_candles
from tests.helpers import write_config

MINUTE = 60_000


class LiveBot:
    def __init__(self, tmp_path, fake, monkeypatch, step_seconds: float = 20.0, **overrides):
        monkeypatch.setenv("DAYBREAK_LIVE_CONFIRM", "yes")
        monkeypatch.setenv("DAYBREAK_API_KEY", fake.api_key)
        monkeypatch.setenv("DAYBREAK_API_SECRET", fake.secret)
        settings = dict(
            mode="live",
            symbols=["BTC/USDT"],
            algos={"MA_Crossover": False},
            params={},
            order_size={"BTC/USDT": {"amount": 0.001}},
            external_signals=True,
            risk={},
        )
        settings.update(overrides)
        self.cfg = write_config(tmp_path, **settings)
        self.config = load_config(self.cfg)
        self.fake, self.step_ms = fake, int(step_seconds * 1000)
        self.store = open_store(self.config.storage)
        self.cycles = 0
        if fake.clock_ms is None:
            fake.set_clock(int(sample_candles()["timestamp"].iat[0]) + 600 * MINUTE + 1_000)

    def run(self, cycles: int, on_cycle=None, until=None, **exchange_overrides) -> int:
        """Run up to ``cycles`` cycles (fewer once ``until()`` is true); returns the exit code."""

        def sleep(_seconds):
            self.cycles += 1
            self.fake.set_clock(self.fake.now() + self.step_ms)
            if on_cycle is not None:
                on_cycle(self.cycles)

        stop = until or (lambda: False)
        return run_live(
            self.cfg,
            load_config(self.cfg),
            stop,
            exchange=exchange_for(self.fake, **exchange_overrides),
            clock=self.fake.now,
            sleep=sleep,
            max_cycles=cycles,
        )

    def signal(self, action: str, symbol: str = "BTC/USDT", amount: float | None = None) -> str:
        """Insert an external signal at the fake's time, as another system would."""
        sid = f"test-{uuid.uuid4().hex[:8]}"
        self.store.put_signal(SignalRecord(sid, self.fake.now(), symbol, action, "test", amount))
        return sid

    def held(self, asset: str = "BTC") -> Decimal:
        """The fake account's total of ``asset``."""
        return self.fake.balances().get(asset, {}).get("total", Decimal(0))

    def close(self) -> None:
        self.store.close()


def assert_reconciled(store, fake, base: str = "BTC", symbol: str = "BTC/USDT") -> None:
    """The exchange's ledger and the store agree: every exchange fill's order has a stored trade
    of that amount, no stored live trade lacks an exchange fill, no client id was sent twice, no
    exchange order is unknown to the store, and the base balance is the bot's positions + dust."""
    owner = {
        r.client_order_id: (r.parent if r.role == "part" else r.client_order_id)
        for r in store.list_orders(limit=10_000)
    }  # a decision's further orders book under its id
    fills: dict[str, Decimal] = {}
    fee_base: dict[str, Decimal] = {}
    for f in fake.ledger():
        if f.symbol != symbol or f.client_order_id.startswith(("manual", "app")):
            continue  # another symbol's, or a fill the bot did not make
        cid = owner.get(f.client_order_id, f.client_order_id)
        fills[cid] = fills.get(cid, Decimal(0)) + f.amount
        if f.fee_asset == base:
            fee_base[cid] = fee_base.get(cid, Decimal(0)) + f.fee
    trades = [t for t in store.list_trades(symbol=symbol) if t.mode == "live"]
    by_order = {t.order_id: t for t in trades if not t.trade_id.startswith("xc-")}
    assert len(by_order) == len([t for t in trades if not t.trade_id.startswith("xc-")]), "one trade per order"
    assert set(by_order) == set(fills), f"store {sorted(by_order)} vs exchange {sorted(fills)}"
    for cid, amount in fills.items():
        t = by_order[cid]
        base_fee = fee_base.get(cid, Decimal(0))
        assert abs(Decimal(repr(t.amount)) - (amount - base_fee)) < Decimal("1e-12"), (cid, t.amount, amount, base_fee)
    stored = {r.client_order_id for r in store.list_orders(limit=10_000)}
    assert set(fake.orders) <= stored, f"exchange orders unknown to the store: {set(fake.orders) - stored}"
    held = sum(p.amount for p in store.list_positions() if p.symbol == symbol)
    bought = sum(t.amount for t in store.list_trades(symbol=symbol) if t.action == "buy")
    sold = sum(t.amount for t in store.list_trades(symbol=symbol) if t.action == "sell")
    dust = bought - sold - held
    total = fake.balances().get(base, {}).get("total", Decimal(0))
    assert abs(float(total) - (held + dust)) < 1e-9, f"exchange {total} {base}, bot {held} + dust {dust}"
    seen, resent = set(), []
    for r in fake.requests_to("/api/v3/order", "POST"):  # in arrival order
        cid = r.params.get("newClientOrderId")
        if cid in seen:
            resent.append(cid)  # the exchange had it already (a refused attempt is no order)
        if cid in fake.orders and fake.orders[cid]["orderId"] and r.status in (0, 200):
            seen.add(cid)
    assert not resent, f"orders sent again after the exchange had them: {resent}"
