"""``download``: paginated, resumable, closed-candle-only cache files; real ccxt against the fake Binance."""

from __future__ import annotations

import argparse
import gzip
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from daybreak.core.config import Config
from daybreak.exchange.candle_files import read_candles
from daybreak.exchange.client import ExchangeUnavailable
from daybreak.exchange.download import (
    add_download_arguments,
    download,
    parse_utc_date,
    run_download,
)
from tests.fixtures_exchange import exchange_for, sample_candles

MINUTE = 60_000
ROOT = Path(__file__).resolve().parent.parent
BTC = sample_candles("BTC/USDT")
ETH = sample_candles("ETH/USDT")
T0 = int(BTC["timestamp"].iloc[0])


def _stored(path) -> pd.DataFrame:
    return pd.read_csv(path)


def test_download_paginates_and_stores_exactly_the_source_candles(fake_binance, fake_exchange, tmp_path):
    report = download(["BTC/USDT", "ETH/USDT"], "1m", T0, T0 + 2500 * MINUTE, fake_exchange, tmp_path)
    path = tmp_path / "BTC-USDT_1m.csv.gz"
    with gzip.open(path, "rt") as fh:
        assert fh.readline() == "timestamp,open,high,low,close,volume\n"
    pd.testing.assert_frame_equal(_stored(path), BTC.iloc[:2500].reset_index(drop=True), check_exact=True)
    pd.testing.assert_frame_equal(
        _stored(tmp_path / "ETH-USDT_1m.csv.gz"), ETH.iloc[:2500].reset_index(drop=True), check_exact=True
    )
    btc = report.symbols["BTC/USDT"]
    assert (btc.rows_added, btc.first_ms, btc.last_ms, btc.gaps) == (2500, T0, T0 + 2499 * MINUTE, [])
    assert len(fake_binance.requests_to("/api/v3/klines")) == 6  # 3 pages per symbol
    assert read_candles(path).symbol == "BTC/USDT"  # replay reads it as is


def test_only_closed_candles_are_stored(fake_binance, fake_exchange, tmp_path):
    fake_binance.set_clock(T0 + 100 * MINUTE + 59_000)  # candle #100 is still forming
    report = download(["BTC/USDT"], "1m", T0, None, fake_exchange, tmp_path)
    stored = _stored(tmp_path / "BTC-USDT_1m.csv.gz")
    assert stored["timestamp"].iloc[-1] == T0 + 99 * MINUTE
    assert report.symbols["BTC/USDT"].rows_added == 100


def test_interrupted_download_resumes_after_the_last_stored_candle(fake_binance, tmp_path):
    exchange = exchange_for(fake_binance, retries=2)
    fake_binance.go_down("503", after=2, path="/api/v3/klines")  # two pages, then the exchange goes down
    with pytest.raises(ExchangeUnavailable):
        download(["BTC/USDT"], "1m", T0, T0 + 3500 * MINUTE, exchange, tmp_path)
    path = tmp_path / "BTC-USDT_1m.csv.gz"
    pd.testing.assert_frame_equal(_stored(path), BTC.iloc[:2000].reset_index(drop=True), check_exact=True)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left behind

    fake_binance.come_back()
    fake_binance.requests.clear()
    report = download(["BTC/USDT"], "1m", T0, T0 + 3500 * MINUTE, exchange, tmp_path)
    starts = [int(r.params["startTime"]) for r in fake_binance.requests_to("/api/v3/klines")]
    assert starts == [T0 + 2000 * MINUTE, T0 + 3000 * MINUTE]  # nothing fetched twice
    pd.testing.assert_frame_equal(_stored(path), BTC.iloc[:3500].reset_index(drop=True), check_exact=True)
    assert report.symbols["BTC/USDT"].rows_added == 1500


def test_chunks_are_written_as_they_come(fake_binance, fake_exchange, tmp_path):
    fake_binance.go_down("reset", after=3, path="/api/v3/klines")
    with pytest.raises(ExchangeUnavailable):
        download(["BTC/USDT"], "1m", T0, None, fake_exchange, tmp_path, chunk_rows=1000)
    assert len(_stored(tmp_path / "BTC-USDT_1m.csv.gz")) == 3000


def test_an_earlier_since_fills_in_before_the_stored_candles(fake_binance, fake_exchange, tmp_path):
    download(["BTC/USDT"], "1m", T0 + 1000 * MINUTE, T0 + 1200 * MINUTE, fake_exchange, tmp_path)
    report = download(["BTC/USDT"], "1m", T0, T0 + 1200 * MINUTE, fake_exchange, tmp_path)
    assert report.symbols["BTC/USDT"].rows_added == 1000
    pd.testing.assert_frame_equal(
        _stored(tmp_path / "BTC-USDT_1m.csv.gz"), BTC.iloc[:1200].reset_index(drop=True), check_exact=True
    )


def test_gaps_in_the_exchange_data_are_reported(fake_binance, fake_exchange, tmp_path):
    served = BTC.drop(index=range(1000, 1150)).reset_index(drop=True)  # 150 minutes of exchange downtime
    fake_binance.add_candles("BTC/USDT", "1m", served)
    report = download(["BTC/USDT"], "1m", T0, T0 + 2000 * MINUTE, fake_exchange, tmp_path)
    assert report.symbols["BTC/USDT"].gaps == [(T0 + 1000 * MINUTE, T0 + 1149 * MINUTE, 150)]
    assert any("150 candle(s) missing" in line for line in report.lines())
    pd.testing.assert_frame_equal(
        _stored(tmp_path / "BTC-USDT_1m.csv.gz"),
        served[served["timestamp"] < T0 + 2000 * MINUTE].reset_index(drop=True),
        check_exact=True,
    )


def test_no_progress_bar_when_stderr_is_not_a_terminal(fake_exchange, tmp_path, capsys):
    download(["BTC/USDT"], "1m", T0, T0 + 10 * MINUTE, fake_exchange, tmp_path)
    assert capsys.readouterr().err == ""
    download(["ETH/USDT"], "1m", T0, T0 + 10 * MINUTE, fake_exchange, tmp_path, progress=True)
    assert "ETH/USDT" in capsys.readouterr().err


def test_bad_input_is_refused_with_the_value_named(fake_exchange, tmp_path):
    with pytest.raises(ValueError, match="symbol = 'BTCUSDT': not in ccxt form"):
        download(["BTCUSDT"], "1m", T0, None, fake_exchange, tmp_path)
    with pytest.raises(ValueError, match=r"since = 2099-01-01 00:00 is in the future \(now "):
        download(["BTC/USDT"], "1m", parse_utc_date("2099-01-01"), None, fake_exchange, tmp_path)
    with pytest.raises(ValueError, match="timeframe '7x'"):
        download(["BTC/USDT"], "7x", T0, None, fake_exchange, tmp_path)
    with pytest.raises(ValueError, match="is not after since"):
        download(["BTC/USDT"], "1m", T0, T0, fake_exchange, tmp_path)


def _cli(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bot.py download")
    add_download_arguments(parser)
    return parser.parse_args(argv)


def test_cli_downloads_and_prints_a_summary(fake_exchange, tmp_path, capsys):
    args = _cli(
        [
            "BTC/USDT",
            "--timeframe",
            "1m",
            "--since",
            "2021-05-10",
            "--until",
            "2021-05-10T01:00",
            "--dest",
            str(tmp_path),
        ]
    )
    assert (args.since, args.until) == (T0, T0 + 60 * MINUTE)  # the sample starts 2021-05-10 00:00 UTC
    assert run_download(args, Config(), exchange=fake_exchange) == 0
    out = capsys.readouterr().out
    assert "BTC/USDT 1m: +60 candles, 2021-05-10 00:00 -> 2021-05-10 00:59, 0 gap(s)" in out


def test_cli_reports_an_interruption_with_exit_code_1(fake_binance, tmp_path, capsys):
    fake_binance.go_down("503")
    args = _cli(["BTC/USDT", "--since", "2021-05-10", "--until", "2021-05-11", "--dest", str(tmp_path)])
    assert run_download(args, Config(), exchange=exchange_for(fake_binance, retries=1)) == 1
    assert "run the same command again to resume" in capsys.readouterr().err


def test_cli_rejects_a_bad_date_naming_it(capsys):
    with pytest.raises(SystemExit) as exit_info:
        _cli(["BTC/USDT", "--since", "2021-13-01"])
    assert exit_info.value.code == 2
    assert "--since: '2021-13-01' is not a date: use YYYY-MM-DD" in capsys.readouterr().err


def test_dates_are_utc_unless_an_offset_is_given():
    assert parse_utc_date("2021-05-10") == T0
    assert parse_utc_date("2021-05-10T02:00+02:00") == T0
    assert parse_utc_date("2021-05-10T00:00:00Z") == T0


def test_the_download_arguments_load_without_ccxt():
    """bot.py builds every subcommand's parser at start-up; a backtest must not pay for ccxt."""
    code = "import sys, daybreak.exchange.download; print('ccxt' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"
