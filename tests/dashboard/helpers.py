"""Reusable pieces for dashboard tests: a temp config, a store filled with real-looking records,
an AppTest bound to a config file, and lookups of rendered tables.

``dashboard_app(config_path, monkeypatch)`` works for any config whose store was filled by other
means (e.g. a real ``bot.py run --replay``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from daybreak.core.domain import Action, BotState, Event, ExitReason, Position, Trade
from daybreak.ui.launch import ENV_VAR
from storage.records import PriceRecord, StatusRecord
from storage.sqlite import SQLiteStore

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "dashboard.py"
SAMPLE = ROOT / "data" / "sample"
FEE_RATE = 0.001


BASE_CONFIG = {
    "mode": "paper",
    "exchange": "binanceus",
    "symbols": ["BTC/USDT", "ETH/USDT"],
    "algos": {"MA_Crossover": True},
    "params": {"MA_Crossover": {"short_period": 50, "long_period": 200, "timeframe": "1m"}},
    "external_signals": True,
    "poll_seconds": 5,
    "order_size": {"default": {"stake": 100.0}, "BTC/USDT": {"amount": 0.001}, "ETH/USDT": {"amount": 0.03}},
    "paper": {"fee_rate": FEE_RATE, "slippage_bps": 5, "starting_balance": 10000},
    "risk": {},
}
"""A fixed config (independent of the shipped ``config.json``, which evolves): no risk rules."""


def write_config(directory: Path, db_path: Path, **overrides) -> Path:
    """A valid ``config.json`` in ``directory`` using the SQLite store ``db_path``:
    :data:`BASE_CONFIG` with ``overrides`` (top-level keys) on top."""
    data = json.loads(json.dumps(BASE_CONFIG))
    data["storage"] = {"backend": "sqlite", "path": str(db_path)}
    data["log"] = {"path": str(directory / "daybreak.log"), "level": "INFO"}
    data.update(overrides)
    path = directory / "config.json"
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def replay_sample(config_path: Path) -> None:
    """``bot.py run --replay`` of the shipped sample candles with ``config_path`` (asserts it succeeds)."""
    files = sorted(str(p) for p in SAMPLE.glob("*_1m.csv.gz"))
    run = subprocess.run(
        [sys.executable, "bot.py", "run", "--config", str(config_path), "--replay", *files],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def dashboard_app(config_path: Path, monkeypatch, timeout: float = 60) -> AppTest:
    """An AppTest of ``dashboard.py`` reading ``config_path`` (passed as ``$DAYBREAK_CONFIG``)."""
    monkeypatch.setenv(ENV_VAR, str(config_path))
    return AppTest.from_file(str(DASHBOARD), default_timeout=timeout)


PAGES = ("operations", "performance", "trades", "chart", "signals", "logs", "config")


def open_page(config_path: Path, monkeypatch, page: str, timeout: float = 60) -> AppTest:
    """The dashboard run once (Operations, the default page) and then switched to ``page``
    (one of :data:`PAGES`) and run again."""
    at = dashboard_app(config_path, monkeypatch, timeout).run()
    if page != "operations":
        at.switch_page(f"daybreak/ui/pages/{page}.py").run()
    return at


def texts(at: AppTest) -> str:
    """Every markdown, caption, info, warning, error and success text of the run, joined."""
    parts = []
    for kind in ("markdown", "caption", "info", "warning", "error", "success", "subheader", "header"):
        parts += [e.value for e in getattr(at, kind)]
    return "\n".join(str(p) for p in parts)


def sample_candles(symbol: str = "BTC/USDT") -> pd.DataFrame:
    """The shipped real 1m candles of ``symbol`` (``data/sample``)."""
    return pd.read_csv(SAMPLE / f"{symbol.replace('/', '-')}_1m.csv.gz")


def round_trips(symbol: str, algo: str, candles: pd.DataFrame, every: int, hold: int, amount: float) -> list[Trade]:
    """Buy at a candle's open, sell ``hold`` candles later; P&L = proceeds - cost - both fees."""
    out = []
    for n, start in enumerate(range(10, len(candles) - hold - 1, every)):
        buy, sell = candles.iloc[start], candles.iloc[start + hold]
        buy_fee = amount * buy.open * FEE_RATE
        sell_fee = amount * sell.open * FEE_RATE
        pnl = amount * (sell.open - buy.open) - buy_fee - sell_fee
        tag = f"{algo}-{symbol}-{n}"
        out.append(Trade(f"{tag}-b", int(buy.timestamp), symbol, Action.BUY, amount, float(buy.open), buy_fee, algo))
        out.append(
            Trade(
                f"{tag}-s",
                int(sell.timestamp),
                symbol,
                Action.SELL,
                amount,
                float(sell.open),
                sell_fee,
                algo,
                pnl=pnl,
                exit_reason=ExitReason.SIGNAL,
            )
        )
    return out


def fill_store(db_path: Path, now_ms: int) -> SQLiteStore:
    """A SQLite store with real BTC/ETH prices, round-trip trades of two strategies, an open
    position, rejection events and a RUNNING status whose heartbeat is ``now_ms``."""
    store = SQLiteStore(db_path)
    trades = []
    for symbol, amount in (("BTC/USDT", 0.001), ("ETH/USDT", 0.03)):
        candles = sample_candles(symbol)
        store.put_prices(
            PriceRecord(
                symbol, int(r.timestamp), float(r.close), float(r.open), float(r.high), float(r.low), float(r.volume)
            )
            for r in candles.itertuples()
        )
        trades += round_trips(symbol, "MA_Crossover", candles, every=400, hold=90, amount=amount)
        trades += round_trips(symbol, "External", candles.iloc[150:], every=700, hold=45, amount=amount)
    for t in trades:
        store.put_trade(t)
    last = sample_candles("BTC/USDT").iloc[-5]
    store.put_position(
        Position(
            "MA_Crossover",
            "BTC/USDT",
            0.001,
            float(last.open),
            int(last.timestamp),
            0.001 * float(last.open) * FEE_RATE,
            "open-1",
            stop_price=float(last.open) * 0.99,
        )
    )
    for i, rule in enumerate(["max_trades_per_day", "symbol_cooldown", "min_notional", "symbol_cooldown"]):
        store.put_event(
            Event(
                f"ev-{i}",
                int(last.timestamp) + i,
                "rejection",
                f"blocked by {rule}",
                "MA_Crossover",
                "ETH/USDT",
                rule,
                {"value": i},
            )
        )
    store.put_status(
        StatusRecord(
            timestamp=now_ms,
            mode="paper",
            state=BotState.RUNNING.value,
            reason="trading",
            last_error="binanceus GET /api/v3/klines: RequestTimeout",
            last_error_at=now_ms - 60_000,
            detail={
                "limits": {
                    "daily_loss_used": 12.5,
                    "daily_loss_limit": 150.0,
                    "trades_today": 4,
                    "max_trades_per_day": 10,
                    "loss_streak": 1,
                    "max_consecutive_losses": 3,
                    "paused_until": None,
                    "day": "2021-05-12",
                    "manual_pause": None,
                },
                "cash": 9_850.25,
                "equity": 10_000.12,
                "positions": 1,
                "feed": {
                    "BTC/USDT": {"last_candle": now_ms - 60_000, "error": ""},
                    "ETH/USDT": {"last_candle": now_ms - 300_000, "error": "NetworkError: exchange unreachable"},
                },
            },
        )
    )
    return store


def frame_with(at: AppTest, *columns: str) -> pd.DataFrame:
    """The first rendered dataframe having all ``columns``. Raises AssertionError if none."""
    for df in at.dataframe:
        frame = df.value
        if all(c in frame.columns for c in columns):
            return frame
    raise AssertionError(f"no dataframe with columns {columns}")


def metric(at: AppTest, label_start: str) -> str:
    """The value of the first metric whose label starts with ``label_start``."""
    for m in at.metric:
        if m.label.startswith(label_start):
            return m.value
    raise AssertionError(f"no metric {label_start!r}; have {[m.label for m in at.metric]}")


def headers(at: AppTest, *columns: str) -> dict[str, str]:
    """Column key -> the header shown, of the first rendered dataframe having all ``columns``."""
    for df in at.dataframe:
        if all(c in df.value.columns for c in columns):
            config = json.loads(df.proto.columns or "{}")
            return {k: config.get(k, {}).get("label", k) for k in df.value.columns}
    raise AssertionError(f"no dataframe with columns {columns}")
