"""pytest fixtures for exchange tests: a fake Binance serving the shipped real candles, and an
:class:`~daybreak.exchange.Exchange` (real ccxt ``binanceus``) pointed at it.

Register with ``pytest_plugins = ["tests.fixtures_exchange"]`` in ``tests/conftest.py``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd
import pytest

from daybreak.exchange.client import Exchange
from tests.fakes.fake_binance import FakeBinance

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "data" / "sample"


@cache
def _sample(name: str) -> pd.DataFrame:
    return pd.read_csv(SAMPLE_DIR / name)


def sample_candles(symbol: str = "BTC/USDT", timeframe: str = "1m") -> pd.DataFrame:
    """The shipped real candles of ``symbol`` (a copy; columns timestamp..volume)."""
    return _sample(f"{symbol.replace('/', '-')}_{timeframe}.csv.gz").copy()


def exchange_for(fake: FakeBinance, exchange_id: str = "binanceus", **overrides) -> Exchange:
    """An Exchange on ``fake`` with test settings: keys of the fake, 3 attempts, no real back-off
    sleeps (they are recorded in ``exchange.sleeps``), 1 ms rate-limit spacing, 2 s timeout."""
    sleeps: list[float] = []
    settings = dict(
        api_key=fake.api_key,
        secret=fake.secret,
        urls=fake.ccxt_urls,
        retries=3,
        backoff_max_seconds=5.0,
        backoff_base_seconds=0.25,
        rate_limit_ms=1,
        timeout_ms=2000,
        sleep=sleeps.append,
    )
    settings.update(overrides)
    exchange = Exchange(exchange_id, **settings)
    exchange.sleeps = sleeps
    return exchange


@pytest.fixture
def fake_binance():
    """A running fake Binance with the shipped BTC/USDT and ETH/USDT 1m candles (clock: after
    the last candle closed) and 10,000 USDT of free balance."""
    fake = FakeBinance()
    for symbol in ("BTC/USDT", "ETH/USDT"):
        fake.add_candles(symbol, "1m", sample_candles(symbol))
    with fake:
        yield fake


@pytest.fixture
def fake_exchange(fake_binance) -> Exchange:
    """:func:`exchange_for` on the ``fake_binance`` fixture (ccxt ``binanceus``)."""
    return exchange_for(fake_binance)
