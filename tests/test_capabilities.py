"""A config asking for what the exchange cannot do is refused at start, naming the key, the
exchange and the feature (ccxt's has flags and the markets' order types), with exit code 2."""

from __future__ import annotations

import ccxt
import pytest

from daybreak.drivers.live import run_live
from daybreak.exchange.capabilities import execution_problem
from daybreak.ops.config_file import load_config, parse_config
from tests.fixtures_exchange import exchange_for
from tests.helpers import write_config

RISK = {"stop_loss_ratio": 0.01, "take_profit_ratio": 0.02}


def _config(**execution):
    return parse_config({"symbols": ["BTC/USDT"], "risk": RISK, "execution": execution})


def test_binance_us_can_do_every_setting():
    has = ccxt.binanceus().has
    markets = {
        "BTC/USDT": {"info": {"orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT"], "ocoAllowed": True}}
    }
    for execution in (
        {"entry_order": "limit", "exit_order": "maker"},
        {"exchange_stop": "stop_loss_limit"},
        {"exchange_stop": "oco", "take_profit_order": "resting"},
    ):
        assert execution_problem(_config(**execution), "binanceus", has, markets) is None


@pytest.mark.parametrize(
    "execution, feature",
    [
        ({"exchange_stop": "oco", "take_profit_order": "resting"}, "OCO order lists"),
        ({"exit_order": "maker"}, "post-only (maker) orders (ccxt has['createPostOnlyOrder'] is None)"),
    ],
)
def test_kraken_is_refused_what_ccxt_does_not_offer_there(execution, feature):
    problem = execution_problem(_config(**execution), "kraken", ccxt.kraken().has, {})
    assert problem.startswith("config: execution.") and "kraken cannot do it" in problem and feature in problem


def test_a_market_without_the_order_type_is_named():
    markets = {"BTC/USDT": {"info": {"orderTypes": ["LIMIT", "MARKET"], "ocoAllowed": False}}}
    problem = execution_problem(_config(exchange_stop="stop_loss_limit"), "binanceus", ccxt.binanceus().has, markets)
    assert problem == (
        "config: execution.exchange_stop = 'stop_loss_limit': binanceus cannot do it: stop-loss-limit "
        "orders: STOP_LOSS_LIMIT is not among the order types of BTC/USDT"
    )


def test_an_override_is_named_with_its_strategy():
    config = parse_config(
        {"symbols": ["BTC/USDT"], "risk": RISK, "execution_overrides": {"MA_Crossover": {"exit_order": "maker"}}}
    )
    problem = execution_problem(config, "kraken", ccxt.kraken().has, {})
    assert problem.startswith("config: execution_overrides.MA_Crossover.exit_order = 'maker': kraken")


def test_live_start_is_refused_with_exit_2(tmp_path, fake_binance, monkeypatch, capsys):
    monkeypatch.setenv("DAYBREAK_LIVE_CONFIRM", "yes")
    monkeypatch.setenv("DAYBREAK_API_KEY", fake_binance.api_key)
    monkeypatch.setenv("DAYBREAK_API_SECRET", fake_binance.secret)
    cfg = write_config(
        tmp_path,
        mode="live",
        symbols=["BTC/USDT"],
        order_size={"BTC/USDT": {"amount": 0.001}},
        risk=RISK,
        execution={"exit_order": "maker"},
    )
    exchange = exchange_for(fake_binance)
    exchange.client.has = dict(exchange.client.has, createPostOnlyOrder=False)  # as if the exchange had none
    assert (
        run_live(
            cfg,
            load_config(cfg),
            lambda: False,
            exchange=exchange,
            clock=fake_binance.now,
            sleep=lambda s: None,
            max_cycles=1,
        )
        == 2
    )
    assert "execution.exit_order = 'maker': binanceus cannot do it: post-only" in capsys.readouterr().out
    assert fake_binance.requests_to("/api/v3/order", "POST") == []
