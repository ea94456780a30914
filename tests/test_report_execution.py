"""The backtest report of the shipped sample with limit entries and maker exits: fees by order
type, slippage per strategy, and the fees beside a market-only run of the same candles, checked
against backtests run here and sums taken here."""

from __future__ import annotations

import json

import pytest

from daybreak.drivers.backtest import run_backtest
from daybreak.drivers.replay import load_files
from daybreak.ops.config_file import load_config
from tests.helpers import ROOT, SAMPLE, bot

EXECUTION = {
    "entry_order": "limit",
    "entry_offset_bps": 2,
    "entry_timeout_seconds": 120,
    "exit_order": "maker",
    "exit_chase_seconds": 120,
}


def _config(tmp_path, execution):
    cfg = json.loads((ROOT / "config.json").read_text())
    cfg.update(
        execution=execution,
        storage={"backend": "sqlite", "path": str(tmp_path / "db.sqlite")},
        log={"path": str(tmp_path / "bot.log"), "level": "INFO"},
    )
    cfg["paper"] = dict(cfg["paper"], maker_fee_rate=0.0004)  # a maker rate below the 0.1 % taker fee
    # a strategy that trades often, with stops (stops always exit at market): independent of the
    # shipped defaults, which enable little
    cfg["algos"] = {"MA_Crossover": True}
    cfg["params"] = {"MA_Crossover": {"short_period": 10, "long_period": 30}}
    cfg["risk_overrides"] = {"MA_Crossover": {"stop_loss_ratio": 0.003, "time_stop_seconds": None}}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    return path


def test_the_sample_report_shows_fees_by_order_type_and_beside_the_market_only_run(tmp_path):
    path = _config(tmp_path, EXECUTION)
    out = tmp_path / "report.json"
    proc = bot("backtest", "--data", *map(str, SAMPLE), "--config", str(path), "--json", str(out), check=True)
    metrics = json.loads(out.read_text())["metrics"]

    config = load_config(path)
    data = load_files(SAMPLE, config)
    mine = run_backtest(config, data).trades
    market = run_backtest(
        config.model_copy(update={"execution": load_config(_config(tmp_path, {})).execution}), data
    ).trades
    assert {t.order_type for t in market} == {"market"} and "limit" in {t.order_type for t in mine}
    market_fees, my_fees = sum(t.fee for t in market), sum(t.fee for t in mine)
    assert metrics["fees_paid"] == pytest.approx(my_fees)
    assert metrics["market_only"]["fees_paid"] == pytest.approx(market_fees)
    assert metrics["fee_saving"] == pytest.approx(market_fees - my_fees)

    by_type = {row["order_type"]: row for row in metrics["fees_by_order_type"]}
    limit_fills = [t for t in mine if t.order_type == "limit"]
    assert by_type["limit"]["fills"] == len(limit_fills)
    assert by_type["limit"]["fees"] == pytest.approx(sum(t.fee for t in limit_fills))
    assert by_type["limit"]["fee_bps"] == pytest.approx(4.0)  # the maker rate, 0.04 %
    assert by_type["market"]["fee_bps"] == pytest.approx(10.0)  # the taker rate, 0.1 %

    (ma,) = [r for r in metrics["slippage_by_strategy"] if r["algo"] == "MA_Crossover"]
    ours = [t for t in mine if t.algo == "MA_Crossover" and t.ref_price]
    assert ma["fills"] == len(ours)
    assert ma["avg_slippage_bps"] == pytest.approx(sum(t.slippage_bps for t in ours) / len(ours))

    text = proc.stdout
    assert "Execution vs market-only" in text and "Fees by order type" in text and "Slippage per strategy" in text
    assert f"{market_fees:,.2f}" in text and f"{my_fees:,.2f}" in text


def test_a_market_only_report_has_no_comparison(tmp_path):
    out = tmp_path / "report.json"
    bot("backtest", "--data", *map(str, SAMPLE), "--config", str(_config(tmp_path, {})), "--json", str(out), check=True)
    metrics = json.loads(out.read_text())["metrics"]
    assert metrics["market_only"] is None and metrics["fee_saving"] is None
    assert [r["order_type"] for r in metrics["fees_by_order_type"]] == ["market"]
