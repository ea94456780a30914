"""The bad inputs of issue 12, one by one: each is refused with exit 2 and one line naming the
field and the value (bad input), or ends with exit 1 and one line (storage and file-system
trouble); none gives a traceback. A config the model accepts cannot kill the bot later: the
same rules run at load and at hot reload."""

from __future__ import annotations

import json

import ccxt
import pytest

from daybreak.drivers.wiring import build_context
from daybreak.ops.config_file import ccxt_exchange_ids, load_config
from tests.helpers import SAMPLE, assert_clean_refusal, run_cli, write_config

RISK = {"sizing": "risk", "stop_loss_ratio": 0.01, "risk_per_trade_ratio": 0.0025}


@pytest.mark.parametrize(
    "change, named",
    [
        (
            {"paper": {"fee_rate": False}},
            "paper.fee_rate = false: Input should be a valid number (true/false is not a number)",
        ),
        ({"risk": {"stop_loss_ratio": True}}, "risk.stop_loss_ratio = true"),
        ({"poll_seconds": "5"}, 'poll_seconds = "5"'),
        ({"risk": {"max_trades_per_day": 10.0}}, "risk.max_trades_per_day = 10.0"),
        ({"symbols": ["BTC/USDT\n"]}, 'symbols.0 = "BTC/USDT\\n": not in ccxt form'),
        ({"symbols": ["BTC//USDT"]}, 'symbols.0 = "BTC//USDT"'),
        ({"symbols": ["BTC/USDT/X"]}, 'symbols.0 = "BTC/USDT/X"'),
        ({"symbols": ["\uff22TC/USDT"]}, 'symbols.0 = "\\uff22TC/USDT"'),
        ({"symbols": ["BTC/USDT", "BTC/USDT"]}, 'symbols.1 = "BTC/USDT": listed twice'),
        ({"exchange": "ftx"}, 'exchange = "ftx": not a ccxt exchange id'),
        (
            {"risk": RISK, "risk_overrides": {"MA_Crossover": {"stop_loss_ratio": None}}},
            "risk_overrides.MA_Crossover = {\"stop_loss_ratio\": null}: merged with 'risk' this breaks a rule: sizing 'risk' "
            "needs stop_loss_ratio or stop_loss_atr_mult",
        ),
        ({"storage": {"backend": "sqlite", "path": "data/"}}, 'storage.path = "data/": names a directory'),
        (
            {"storage": {"backend": "dynamodb", "endpoint_url": "localhost:4567"}},
            'storage.endpoint_url = "localhost:4567"',
        ),
    ],
)
def test_a_bad_config_value_is_refused_naming_field_and_value(tmp_path, change, named):
    cfg = write_config(tmp_path, **change)
    code, _, err = run_cli("strategies", "--config", str(cfg))
    assert_clean_refusal(code, err, named)


def test_an_override_alone_may_rely_on_the_keys_of_risk(tmp_path):
    cfg = write_config(
        tmp_path,
        risk={"stop_loss_ratio": 0.01, "risk_per_trade_ratio": 0.0025},
        risk_overrides={"MA_Crossover": {"sizing": "risk"}},
    )
    assert load_config(cfg).risk_for("MA_Crossover").sizing == "risk"


@pytest.mark.parametrize(
    "text, named",
    [
        ('{"risk": {"stop_loss_ratio": 0.01}, "risk": {}}', "risk = (given twice)"),
        (b'{"mode": "\xff"}', "byte 10 = 0xff: not UTF-8 text"),
        ("[" * 100_000 + "]" * 100_000, "(root) = (nested too deeply)"),
        ('{"paper": {"fee_rate": NaN}}', "NaN is not a JSON number"),
        ('{"poll_seconds": 1' + "0" * 5000 + "}", "a number has thousands of digits"),
    ],
)
def test_a_bad_config_file_is_refused_in_one_line(tmp_path, text, named):
    path = tmp_path / "config.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    code, _, err = run_cli("stats", "--config", str(path))
    assert_clean_refusal(code, err, str(path), named)


def test_the_exchange_ids_are_ccxts_own():
    assert ccxt_exchange_ids() == frozenset(ccxt.exchanges)


def test_hot_reload_refuses_a_config_that_would_break_a_strategy_and_keeps_the_last_good(tmp_path):
    cfg = write_config(tmp_path, risk=RISK)
    ctx = build_context(cfg, load_config(cfg))
    try:
        bad = json.loads(cfg.read_text())
        bad["risk_overrides"] = {"MA_Crossover": {"stop_loss_ratio": None}}
        cfg.write_text(json.dumps(bad))
        ctx._mtime = -1  # the file changed
        assert ctx.reload_config() is False
        assert "breaks a rule" in ctx.last_error
        assert ctx.config.risk_for("MA_Crossover").stop_loss_ratio == 0.01, "the last good config stays"
    finally:
        ctx.shutdown()


@pytest.mark.parametrize(
    "name, named",
    [
        ("BTC-USDT_0m.csv", "timeframe '0m' is not like"),
        ("BTC-USDT_1m.csv", "no candles (a header without rows)"),
    ],
)
def test_a_bad_candle_file_name_or_an_empty_file_is_refused(tmp_path, name, named):
    path = tmp_path / name
    path.write_text("timestamp,open,high,low,close,volume\n")
    code, _, err = run_cli("backtest", "--data", str(path), "--config", str(write_config(tmp_path)))
    assert_clean_refusal(code, err, named)


def _one_line_failure(code, err, *named):
    assert "Traceback" not in err, err
    assert code == 1, (code, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for n in named:
        assert n in lines[0], (n, err)


def test_a_store_path_that_is_a_directory_fails_in_one_line(tmp_path):
    (tmp_path / "db").mkdir()
    cfg = write_config(tmp_path, storage={"backend": "sqlite", "path": str(tmp_path / "db")})
    code, _, err = run_cli("stats", "--config", str(cfg))
    _one_line_failure(code, err, "is a directory")


def test_a_corrupt_database_fails_in_one_line(tmp_path):
    (tmp_path / "daybreak.db").write_bytes(b"this is not a database" * 200)
    code, _, err = run_cli("trades", "--config", str(write_config(tmp_path)))
    _one_line_failure(code, err, "file is not a database")


def test_a_log_path_that_is_a_directory_fails_in_one_line(tmp_path):
    (tmp_path / "logdir").mkdir()
    cfg = write_config(tmp_path, log={"path": str(tmp_path / "logdir"), "level": "INFO"})
    code, _, err = run_cli("run", "--replay", str(SAMPLE[0]), "--config", str(cfg))
    _one_line_failure(code, err, "logdir", "Is a directory")


def test_dynamodb_tables_missing_fail_in_one_line_naming_init_db(tmp_path, aws_env):
    from moto import mock_aws

    with mock_aws():
        cfg = write_config(tmp_path, storage={"backend": "dynamodb", "region": "us-east-1", "table_prefix": "None"})
        code, _, err = run_cli("stats", "--config", str(cfg))
    _one_line_failure(code, err, "ResourceNotFoundException", "init-db")


def test_a_real_bug_shows_its_traceback_and_says_it_is_a_bug(tmp_path, monkeypatch):
    from daybreak import cli

    monkeypatch.setitem(cli.COMMANDS, "stats", lambda args, config: 1 / 0)
    code, _, err = run_cli("stats", "--config", str(write_config(tmp_path)))
    assert code == 1 and "Traceback" in err and "ZeroDivisionError" in err
    assert err.strip().splitlines()[-1].startswith("error: ZeroDivisionError above is a bug in Daybreak")


def test_dynamodb_not_listening_fails_in_one_line(tmp_path, aws_env, monkeypatch):
    from storage.dynamodb import DynamoStore
    from tests.fixtures_dynamo import free_port

    real = DynamoStore.from_settings.__func__
    monkeypatch.setattr(
        DynamoStore, "from_settings", classmethod(lambda cls, s, **kw: real(cls, s, **{**kw, "retry_seconds": 0.5}))
    )
    cfg = write_config(
        tmp_path,
        storage={"backend": "dynamodb", "region": "us-east-1", "endpoint_url": f"http://127.0.0.1:{free_port()}"},
    )
    code, _, err = run_cli("trades", "--config", str(cfg))
    _one_line_failure(code, err, "error: storage: dynamodb", "Could not connect")


def test_an_exchange_failure_ends_in_one_line(tmp_path, monkeypatch):
    from daybreak import cli
    from daybreak.exchange.errors import ExchangeFatal

    def fail(args, config):
        raise ExchangeFatal("binanceus: load_markets failed: AuthenticationError: invalid key", "binanceus")

    monkeypatch.setitem(cli.COMMANDS, "stats", fail)
    code, _, err = run_cli("stats", "--config", str(write_config(tmp_path)))
    _one_line_failure(code, err, "error: exchange: binanceus: load_markets failed")
