"""Every page over a store filled by a real replay (``replayed`` fixture): what each shows must
equal an independent computation from the stored rows (sums and counts done here, not by the
dashboard's own functions), and every filter must select what it says."""

from __future__ import annotations

import io
import json
import logging
import re
import shutil
from collections import Counter
from datetime import UTC, date, datetime

import pandas as pd
import pytest
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df

from daybreak.ops.logs import setup_logging
from daybreak.reporting.performance import window_round_trips
from daybreak.ui.views.trades import trips_csv
from storage.sqlite import SQLiteStore
from tests.dashboard.conftest import REPLAY_RISK
from tests.dashboard.helpers import (
    PAGES,
    frame_with,
    metric,
    open_page,
    texts,
    write_config,
)

DAY = 86_400_000


@pytest.fixture(scope="module")
def stored(replayed):
    store = SQLiteStore(replayed.db_path)
    try:
        yield {
            "trades": store.list_trades(),
            "signals": store.list_signals(),
            "status": store.get_status(),
            "prices": {s: store.list_prices(s) for s in store.price_symbols()},
            "events": store.list_events(limit=10_000),
        }
    finally:
        store.close()


def charts(at) -> list[dict[str, pd.DataFrame]]:
    """The datasets of every Vega-Lite chart of the run, by dataset name."""
    return [
        {d.name: convert_arrow_bytes_to_pandas_df(d.data.data) for d in c.proto.datasets}
        for c in at.get("vega_lite_chart")
    ]


def chart_with(at, *columns: str) -> pd.DataFrame:
    for datasets in charts(at):
        for frame in datasets.values():
            if all(c in frame.columns for c in columns):
                return frame
    raise AssertionError(f"no chart dataset with {columns}")


def closes(trades):
    return [t for t in trades if t.pnl is not None]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_without_exception(replayed, monkeypatch, page):
    at = open_page(replayed.config_path, monkeypatch, page)
    assert not at.exception, [e.value for e in at.exception]
    assert at.header[0].value.lower() == page


def test_operations_says_replay_with_market_time_and_its_figures(replayed, stored, monkeypatch):
    at = open_page(replayed.config_path, monkeypatch, "operations")
    status = stored["status"]
    banner = " ".join(i.value for i in at.info)
    assert "REPLAY" in banner and "SHUTDOWN" in banner and "replay stopped" in banner
    assert "no heartbeat for" not in texts(at)  # the simulated clock is not aged against the wall clock
    assert "replay at market time 2021-05-13 00:00:00 UTC" in texts(at)
    assert metric(at, "Equity (USDT)") == f"{status.detail['equity']:,.2f}"
    last_day = [t for t in closes(stored["trades"]) if status.timestamp - DAY <= t.timestamp <= status.timestamp]
    assert metric(at, "Last 24 h") == f"{len(last_day)} trades"  # trades = round trips, one sell closes each here
    checklist = texts(at)
    for line in (
        "All services online",
        "No risk limit hit",
        "No repeated errors",
        "P&L within band",
        "Open positions manageable",
        "Notifications working",
        "Last 24 h",
    ):
        assert f"**{line}**" in checklist
    wins = sum(t.pnl > 0 for t in last_day)
    assert f"{len(last_day)} closed trades, {wins} won" in checklist
    limits = frame_with(at, "limit", "left").set_index("limit")
    assert limits.loc["Loss streak", "max"] == "off"  # rule off in this config, said in words


def test_performance_figures_equal_the_stored_trades(replayed, stored, monkeypatch):
    at = open_page(replayed.config_path, monkeypatch, "performance")
    assert at.toggle(key="perf_marked").value is False  # 7 d: off unless asked (it reads every price)
    at.toggle(key="perf_marked").set_value(True).run()
    trades = stored["trades"]
    pnl = sum(t.pnl for t in closes(trades))
    assert metric(at, "Realized P&L (USDT)") == f"{pnl:+,.2f}"
    assert metric(at, "Closed trades") == str(len(closes(trades)))
    by_algo = frame_with(at, "algo", "all_time_pnl").set_index("algo")
    for algo in {t.algo for t in trades}:
        mine = closes([t for t in trades if t.algo == algo])
        assert by_algo.loc[algo, "pnl"] == pytest.approx(sum(t.pnl for t in mine))
        assert by_algo.loc[algo, "trades"] == len(mine)
        assert by_algo.loc[algo, "fees"] == pytest.approx(sum(t.fee for t in trades if t.algo == algo))
    by_symbol = frame_with(at, "symbol", "avg_return_ratio").set_index("symbol")
    for symbol in ("BTC/USDT", "ETH/USDT"):
        assert by_symbol.loc[symbol, "pnl"] == pytest.approx(sum(t.pnl for t in closes(trades) if t.symbol == symbol))
    days = chart_with(at, "day", "pnl").set_index("day")["pnl"]
    expected = Counter()
    for t in closes(trades):
        expected[datetime.fromtimestamp(t.timestamp / 1000, tz=UTC).strftime("%Y-%m-%d")] += t.pnl
    assert days.to_dict() == pytest.approx(dict(expected))
    equity = chart_with(at, "equity", "curve")
    realized = equity[equity["curve"] == "realized"]
    assert realized["equity"].iloc[-1] == pytest.approx(10_000 + pnl)
    marked = equity[equity["curve"] == "marked to market"]
    assert marked["equity"].iloc[-1] == pytest.approx(stored["status"].detail["equity"])  # flat at the end


def test_performance_all_time_uses_the_daily_stats(replayed, stored, monkeypatch):
    at = open_page(replayed.config_path, monkeypatch, "performance")
    at.segmented_control(key="perf_window").set_value("All").run()
    assert not at.exception
    pnl = sum(t.pnl for t in closes(stored["trades"]))
    curve = chart_with(at, "equity", "curve")
    assert curve["equity"].iloc[-1] == pytest.approx(10_000 + pnl)
    assert len(curve) == 1 + 3  # the start and one point per trading day of the sample
    per = chart_with(at, "algo", "pnl", "when")
    final = per.groupby("algo")["pnl"].last()
    assert final["External"] == pytest.approx(sum(t.pnl for t in closes(stored["trades"]) if t.algo == "External"))


def test_trades_round_trips_fills_and_every_filter(replayed, stored, monkeypatch):
    at = open_page(replayed.config_path, monkeypatch, "trades")
    trades = stored["trades"]
    trips = frame_with(at, "exit_time", "entry_order_id")
    assert len(trips) == len(closes(trades))
    sells = {t.order_id: t for t in closes(trades)}
    assert set(trips["exit_order_id"]) == set(sells)
    for _, row in trips[trips["symbol"] == "ETH/USDT"].iterrows():
        sell = sells[row["exit_order_id"]]
        assert row["pnl"] == pytest.approx(sell.pnl)
        assert float(row["amount"]) == sell.amount and row["amount"] == f"{sell.amount:.4f}"  # ETH step 0.0001
    assert trips["exit_time"].tolist() == sorted(trips["exit_time"], reverse=True)  # newest first
    fills = frame_with(at, "trade_id", "pnl")
    assert len(fills) == len(trades)
    assert (fills["pnl"] == "").sum() == sum(t.pnl is None for t in trades)  # opening fills: blank, not "None"
    by_id = {t.trade_id: t for t in trades}
    assert all(
        v == "" or float(v.replace(",", "")) == pytest.approx(by_id[i].pnl, abs=0.005)
        for i, v in zip(fills["trade_id"], fills["pnl"])
    )

    at.selectbox(key="trades_symbol").select("ETH/USDT").run()
    at.selectbox(key="trades_algo").select("MA_Crossover").run()
    at.selectbox(key="trades_result").select("win").run()
    shown = frame_with(at, "exit_time", "entry_order_id")
    expected = [t for t in closes(trades) if t.symbol == "ETH/USDT" and t.algo == "MA_Crossover" and t.pnl > 0]
    assert sorted(shown["exit_order_id"]) == sorted(t.order_id for t in expected) and len(expected) > 0
    at.selectbox(key="trades_result").select("All").run()
    at.selectbox(key="trades_reason").select("stop_loss").run()
    shown = frame_with(at, "exit_time", "entry_order_id")
    expected = [
        t
        for t in closes(trades)
        if t.symbol == "ETH/USDT" and t.algo == "MA_Crossover" and t.exit_reason == "stop_loss"
    ]
    assert set(shown["exit_reason"]) == {"stop_loss"} and len(shown) == len(expected)
    at.selectbox(key="trades_side").select("buy").run()
    fills = frame_with(at, "trade_id", "pnl")
    assert set(fills["action"]) == {"buy"}
    assert len(fills) == sum(t.symbol == "ETH/USDT" and t.algo == "MA_Crossover" and t.action == "buy" for t in trades)

    at.selectbox(key="trades_symbol").select("All").run()
    at.selectbox(key="trades_reason").select("All").run()
    at.selectbox(key="trades_side").select("All").run()
    at.selectbox(key="trades_algo").select("All").run()
    at.date_input(key="trades_dates").set_value((date(2021, 5, 11), date(2021, 5, 11))).run()
    lo, hi = 1_620_691_200_000, 1_620_777_600_000 - 1
    shown = frame_with(at, "exit_time", "entry_order_id")
    assert len(shown) == sum(lo <= t.timestamp <= hi for t in closes(trades))
    assert len(frame_with(at, "trade_id", "pnl")) == sum(lo <= t.timestamp <= hi for t in trades)
    assert [b.label for b in at.get("download_button")] == ["Download round trips (CSV)", "Download fills (CSV)"]


def test_trades_csv_has_every_selected_trip_unrounded(replayed, stored):
    trips = window_round_trips(stored["trades"], None, lambda a, s: [])
    back = pd.read_csv(io.BytesIO(trips_csv(trips)))
    assert len(back) == len(closes(stored["trades"]))
    assert back["pnl"].sum() == pytest.approx(sum(t.pnl for t in closes(stored["trades"])), rel=1e-12)
    assert back["exit_time_utc"].iloc[0].endswith("Z") and set(back["exit_reason"]) >= {"signal", "stop_loss"}


def test_chart_candles_indicators_and_markers(replayed, stored, monkeypatch):
    at = open_page(replayed.config_path, monkeypatch, "chart")
    at.selectbox(key="chart_symbol").select("ETH/USDT").run()
    at.segmented_control(key="chart_window").set_value("6 h").run()
    prices = stored["prices"]["ETH/USDT"]
    end = prices[-1].timestamp
    window = [p for p in prices if p.timestamp >= end - 6 * 3_600_000]
    candles = chart_with(at, "open", "close", "volume")
    assert len(candles) == len(window)  # 6 h of 1m candles fit: not resampled
    assert candles["close"].tolist() == [p.price for p in window]
    assert candles["volume"].tolist() == pytest.approx([p.volume for p in window])
    lines = chart_with(at, "indicator", "value")
    short = lines[lines["indicator"] == "sma_short"]
    closes_all = pd.Series([p.price for p in prices])
    expected = closes_all.rolling(10).mean().iloc[-1]  # MA_Crossover short_period 10 on 1m closes
    assert short["value"].iloc[-1] == pytest.approx(expected)
    at.segmented_control(key="chart_window").set_value("3 d").run()
    assert len(chart_with(at, "open", "close", "volume")) <= 3 * 1440 / 15 + 1  # thinned to 15m candles
    markers = chart_with(at, "action", "reason")
    fills = [
        t
        for t in stored["trades"]
        if t.symbol == "ETH/USDT" and t.algo == "MA_Crossover" and end - 3 * DAY <= t.timestamp <= end + 60_000
    ]
    assert len(fills) > 0 and sorted(markers["price"]) == pytest.approx(sorted(t.price for t in fills))
    assert set(markers["reason"]) == {"entry"} | {t.exit_reason.value for t in fills if t.exit_reason}


def test_signals_show_outcomes_and_the_fill_they_became(replayed, stored, monkeypatch):
    at = open_page(replayed.config_path, monkeypatch, "signals")
    table = frame_with(at, "signal_id", "outcome").set_index("signal_id")
    assert sorted(table.index) == sorted(s.signal_id for s in stored["signals"])
    fills = {t.order_id: t.trade_id for t in stored["trades"] if t.algo == "External"}
    for s in stored["signals"]:
        assert table.loc[s.signal_id, "status"] == s.status and table.loc[s.signal_id, "reason"] == s.reason
        assert table.loc[s.signal_id, "trade_id"] == (fills[s.outcome] if s.status == "executed" else "")
    at.selectbox(key="signals_status").select("rejected").run()
    assert set(frame_with(at, "signal_id", "outcome")["status"]) == {"rejected"}
    at.selectbox(key="signals_status").select("All").run()
    at.selectbox(key="signals_source").select("desk-a").run()
    assert sorted(frame_with(at, "signal_id", "outcome").index) == [0, 1]
    assert set(frame_with(at, "signal_id", "outcome")["source"]) == {"desk-a"}
    events = frame_with(at, "rule", "message")
    assert len(events) == len(stored["events"]) > 0
    rules = Counter(e.rule for e in stored["events"])
    at.selectbox(key="events_rule").select("max_trades_per_day").run()
    assert frame_with(at, "rule", "message")["rule"].tolist() == ["max_trades_per_day"] * rules["max_trades_per_day"]
    at.selectbox(key="events_symbol").select("BTC/USDT").run()
    assert len(frame_with(at, "rule", "message")) == sum(
        e.rule == "max_trades_per_day" and e.symbol == "BTC/USDT" for e in stored["events"]
    )


def test_logs_filter_by_level_and_search_and_show_the_last_traceback(replayed, monkeypatch, tmp_path):
    log = tmp_path / "daybreak.log"
    shutil.copy(replayed.log_path, log)
    logger = setup_logging(str(log))
    try:
        try:
            json.loads("{oops")
        except ValueError:
            logger.exception("stats update failed")
    finally:
        for h in list(logger.handlers):
            h.close()
        logger.handlers.clear()
        logging.getLogger("daybreak").handlers.clear()
    config = write_config(tmp_path, replayed.db_path, log={"path": str(log), "level": "INFO"})
    at = open_page(config, monkeypatch, "logs")
    lines = log.read_text().splitlines()
    table = frame_with(at, "level", "message")
    assert (table["level"] == "INFO").sum() == sum(" INFO " in ln[:30] for ln in lines)
    assert any("Last error" in e.label and "stats update failed" in e.label for e in at.expander)
    assert any("JSONDecodeError" in c.value for c in at.code)
    at.multiselect(key="logs_levels").set_value(["ERROR"]).run()
    assert frame_with(at, "level", "message")["level"].tolist() == ["ERROR"]
    at.multiselect(key="logs_levels").set_value(["INFO", "ERROR"]).run()
    at.text_input(key="logs_search").input("TRADE").run()
    heads = [ln.split(" ", 2) for ln in lines if re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ", ln)]
    assert len(frame_with(at, "level", "message")) == sum(
        level in ("INFO", "ERROR") and "trade" in msg.lower() for _, level, msg in heads
    )  # case-insensitive


def test_config_page_edits_the_checklist_band(replayed, monkeypatch, tmp_path):
    config = write_config(tmp_path, replayed.db_path)
    at = open_page(config, monkeypatch, "config")
    at.number_input(key="cfg.dashboard.daily_pnl_min_ratio").set_value(-0.02)
    next(b for b in at.button if b.label == "Save config").click().run()
    assert not at.exception
    assert json.loads(config.read_text())["dashboard"] == {"daily_pnl_min_ratio": -0.02}


def test_the_traders_timezone_is_shown_beside_utc(replayed, stored, monkeypatch, tmp_path):
    config = write_config(tmp_path, replayed.db_path, risk={**REPLAY_RISK, "day_timezone": "America/New_York"})
    at = open_page(config, monkeypatch, "trades")
    assert at.date_input(key="trades_dates").label == "Trading days (America/New_York)"
    trips = frame_with(at, "exit_time", "exit_local")
    first = trips.iloc[0]
    assert (
        first["exit_local"].endswith("EDT")
        and first["exit_local"][11:13] == f"{(int(first['exit_time'][11:13]) - 4) % 24:02d}"
    )
