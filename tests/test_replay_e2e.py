"""End to end: `bot.py run --replay` over the shipped real candles equals an independent
computation of the SMA crossovers (entry/exit candle, next open +/- slippage, fee, P&L)."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd
import pytest

from tests.helpers import SAMPLE, bot, trades_json, write_config

FEE, SLIP = 0.001, 5 / 10_000
AMOUNT = {"BTC/USDT": 0.001, "ETH/USDT": 0.03}


def expected_trades(path, symbol: str, short: int = 50, long: int = 200) -> list[dict]:
    """Independent reference: SMAs by cumulative sums, crossovers, next-open fills."""
    df = pd.read_csv(path)
    close, opens, ts = df["close"].to_numpy(), df["open"].to_numpy(), df["timestamp"].to_numpy()

    def sma(n):
        c = np.cumsum(np.insert(close, 0, 0.0))
        out = np.full(len(close), np.nan)
        out[n - 1 :] = (c[n:] - c[:-n]) / n
        return out

    s, l = sma(short), sma(long)
    out, entry = [], None
    for t in range(1, len(close) - 1):
        if np.isnan(l[t - 1]):
            continue
        up = s[t] > l[t] and s[t - 1] <= l[t - 1]
        down = s[t] < l[t] and s[t - 1] >= l[t - 1]
        amount = AMOUNT[symbol]
        if up and entry is None:
            price = opens[t + 1] * (1 + SLIP)
            entry = (price, FEE * amount * price)
            out.append({"timestamp": int(ts[t + 1]), "action": "buy", "price": price, "fee": entry[1], "pnl": None})
        elif down and entry is not None:
            price = opens[t + 1] * (1 - SLIP)
            fee = FEE * amount * price
            pnl = (price - entry[0]) * amount - fee - entry[1]
            out.append({"timestamp": int(ts[t + 1]), "action": "sell", "price": price, "fee": fee, "pnl": pnl})
            entry = None
    return out


def _compare(actual: list[dict], expected: list[dict]) -> None:
    assert [(t["timestamp"], t["action"]) for t in actual] == [(t["timestamp"], t["action"]) for t in expected]
    for a, e in zip(actual, expected):
        assert a["price"] == pytest.approx(e["price"], rel=1e-12)
        assert a["fee"] == pytest.approx(e["fee"], rel=1e-9)
        if e["pnl"] is None:
            assert a["pnl"] is None
        else:
            assert a["pnl"] == pytest.approx(e["pnl"], rel=1e-9, abs=1e-9)


def test_replay_matches_independent_sma_crossover(tmp_path):
    cfg = write_config(tmp_path)
    proc = bot("run", "--replay", *map(str, SAMPLE), "--config", str(cfg), check=True)
    assert "replayed 8640 candles" in proc.stdout
    trades = trades_json(cfg)
    assert {t["algo"] for t in trades} == {"MA_Crossover"}
    for path in SAMPLE:
        symbol = "BTC/USDT" if path.name.startswith("BTC") else "ETH/USDT"
        mine = [t for t in trades if t["symbol"] == symbol]
        expected = expected_trades(path, symbol)
        assert len(expected) >= 10, "the sample must exercise the strategy"
        _compare(mine, expected)
        assert all(t["amount"] == AMOUNT[symbol] for t in mine)
    # the stored stats agree with the trades
    stats = bot("stats", "--config", str(cfg), check=True).stdout
    total = sum(t["pnl"] for t in trades if t["pnl"] is not None)
    assert f"{total:+.4f}" in stats


def test_restart_mid_replay_resumes_without_duplicates(tmp_path):
    """Stop with a position open, start again on the data: no duplicate, the position closes normally."""
    path = SAMPLE[0]  # BTC
    full = pd.read_csv(path)
    expected = expected_trades(path, "BTC/USDT")
    # cut inside an open position: right after the 3rd entry fill
    entries = [t for t in expected if t["action"] == "buy"]
    cut_ts = entries[2]["timestamp"] + 5 * 60_000
    first = tmp_path / "first" / path.name
    first.parent.mkdir()
    full[full["timestamp"] <= cut_ts].to_csv(first, index=False, compression="gzip")

    cfg = write_config(tmp_path, symbols=["BTC/USDT"], order_size={"BTC/USDT": {"amount": 0.001}})
    out1 = bot("run", "--replay", str(first), "--config", str(cfg), check=True).stdout
    assert "1 position(s) left open" in out1
    before = trades_json(cfg)
    assert before[-1]["action"] == "buy"
    bot("run", "--replay", str(path), "--config", str(cfg), check=True)
    after = trades_json(cfg)
    assert len({t["trade_id"] for t in after}) == len(after)
    _compare(after, expected)
    # and a third run over the same data adds nothing
    bot("run", "--replay", str(path), "--config", str(cfg), check=True)
    assert trades_json(cfg) == after


def test_bad_candle_file_is_named_with_row_and_field(tmp_path):
    bad = tmp_path / "BTC-USDT_1m.csv"
    with gzip.open(SAMPLE[0], "rt") as fh:
        lines = fh.read().splitlines()[:50]
    cols = lines[10].split(",")
    cols[2] = "-5"  # high
    lines[10] = ",".join(cols)
    bad.write_text("\n".join(lines) + "\n")
    cfg = write_config(tmp_path)
    proc = bot("run", "--replay", str(bad), "--config", str(cfg))
    assert proc.returncode == 2
    assert "row 11" in proc.stderr and "high = -5" in proc.stderr


def test_trades_json_fields(tmp_path):
    cfg = write_config(tmp_path, symbols=["BTC/USDT"], order_size={"BTC/USDT": {"amount": 0.001}})
    bot("run", "--replay", str(SAMPLE[0]), "--config", str(cfg), check=True)
    trades = trades_json(cfg)
    assert trades
    for t in trades:
        assert {"trade_id", "timestamp", "symbol", "action", "amount", "price", "fee", "pnl", "algo"} <= set(t)
        assert t["action"] in ("buy", "sell")
        assert isinstance(t["timestamp"], int)
    csv_out = bot("trades", "--format", "csv", "--algo", "MA_Crossover", "--config", str(cfg), check=True).stdout
    assert csv_out.splitlines()[0].startswith("trade_id,timestamp,symbol,action")
    assert len(csv_out.splitlines()) == len(trades) + 1
    none = json.loads(
        bot("trades", "--format", "json", "--symbol", "ETH/USDT", "--config", str(cfg), check=True).stdout
    )
    assert none == []
