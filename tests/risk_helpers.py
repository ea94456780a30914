"""Hand-written candle scenarios through the real engine (no fees or slippage unless asked)."""

from __future__ import annotations

from daybreak.core.domain import Action, Signal
from daybreak.core.engine import Engine, ListSink, PaperBroker
from daybreak.core.markets import MarketLimits
from daybreak.ops.config_file import parse_config

SYM = "BTC/USDT"
T0 = 1_700_000_000_000 - 1_700_000_000_000 % 86_400_000  # a UTC midnight
MINUTE = 60_000
LIMITS = {SYM: MarketLimits(SYM, amount_step=1e-8, price_tick=0.01, min_amount=1e-8, min_notional=1.0)}


def make_engine(risk: dict, fee_rate: float = 0.0, slippage_bps: float = 0.0, amount: float = 1.0, **extra) -> Engine:
    cfg = parse_config(
        {
            "symbols": [SYM],
            "algos": {},
            "risk": risk,
            "order_size": {"default": {"amount": amount}},
            "paper": {"fee_rate": fee_rate, "slippage_bps": slippage_bps, "starting_balance": 10_000},
            **extra,
        }
    )
    return Engine(cfg, LIMITS, PaperBroker(fee_rate, slippage_bps), ListSink())


def scenario(risk: dict, candles, atr: float | None = None, algo: str = "T", **kw):
    """Enter on the close before the first candle; walk ``candles`` (o, h, l, c); return trades."""
    eng = make_engine(risk, **kw)
    eng.atr[SYM] = atr
    eng.on_signal(Signal(algo, SYM, Action.BUY, T0), candles[0][0], T0)
    for i, (o, h, l, c) in enumerate(candles):
        ts = T0 + i * MINUTE
        eng.fill_pending(SYM, o, ts)
        eng.check_candle_exits(SYM, o, h, l, c, ts + MINUTE)
    return eng.sink.trades
