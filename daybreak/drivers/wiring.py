"""Wiring: build the store, engine and run context for a bot process from a config."""

from __future__ import annotations

import os

from daybreak.core.config import Config
from daybreak.core.engine import Broker, Engine, PaperBroker
from daybreak.core.markets import MarketLimits, limits_for, load_snapshot
from daybreak.drivers.alerts import Alerts
from daybreak.drivers.services import RunContext, StatsUpdater
from daybreak.drivers.sink import StoreSink
from daybreak.ops.run_lock import StoreLease
from storage import open_store


def market_limits(config: Config, live: dict[str, MarketLimits] | None = None) -> dict[str, MarketLimits]:
    """Limits for every configured symbol: from the exchange when given, else the bundled snapshot,
    else the documented conservative default."""
    snapshot = load_snapshot(config.exchange)
    source = live or {}
    return {s: source.get(s) or limits_for(snapshot, s) for s in config.symbols}


def build_context(
    config_path: str | os.PathLike,
    config: Config,
    broker: Broker | None = None,
    markets: dict[str, MarketLimits] | None = None,
    alerts: Alerts | None = None,
    hold_lease: bool = False,
) -> RunContext:
    """A ready RunContext: store opened, engine restored from it (positions, cash, counters).
    ``alerts``: operator alerts of this process (default: none). ``hold_lease``: take the store's
    one-bot lease first (raises :class:`~daybreak.ops.run_lock.AlreadyRunning`, the store closed
    again)."""
    store = open_store(config.storage)
    lease = None
    if hold_lease:
        try:
            lease = StoreLease(store).acquire()
        except BaseException:
            store.close()
            raise
    stats = StatsUpdater(store, day_timezone=config.risk.day_timezone)
    sink = StoreSink(store, stats, alerts=alerts)
    markets = markets or market_limits(config)
    broker = broker or PaperBroker.for_config(config, markets)
    engine = Engine(config, markets, broker, sink)
    sink.on_fault = lambda message: setattr(engine.gate, "storage_fault", message)  # no entries while writes wait
    ctx = RunContext(config_path, config, store, engine, stats, alerts)
    ctx.lease = lease
    ctx.restore()
    ctx.track_config()
    return ctx
