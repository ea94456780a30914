"""Generated command lines (hypothesis) for every subcommand that needs no network: exit 0 with the
documented behaviour, or exit 2 with one line naming the argument and the value; never a
traceback, never a hang, and ``run`` never starts live polling by accident. A few runs through
``python bot.py`` prove the same for the real entry point."""

from __future__ import annotations

import re
import subprocess
import sys

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import ROOT, SAMPLE, assert_clean_refusal, bot, run_cli, write_config

NUMBERS = st.one_of(
    st.sampled_from(
        [
            "nan",
            "inf",
            "-inf",
            "-1",
            "0",
            "0.5",
            "1e309",
            "2" + "0" * 25,
            "1_000",
            "",
            " 3",
            "0x10",
            "3.0",
            "61",
            "3600.1",
            "-0",
        ]
    ),
    st.integers(-10, 10**12).map(str),
    st.floats().map(repr),
    st.text(max_size=6),
)
DATES = st.one_of(
    st.sampled_from(
        [
            "2021-05-10",
            "2021-05-11T06:00",
            "2021-05-12Z",
            "-1",
            "1970-01-01",
            "2999-01-01",
            "2021-13-01",
            "yesterday",
            "",
            "2021-05-10T00:00+14:00",
            "99999-01-01",
        ]
    ),
    st.text(max_size=10),
)
WORDS = st.one_of(
    st.sampled_from(
        [
            "BTC/USDT",
            "ETH/USDT",
            "DOGE/USDT",
            "btcusdt",
            "buy",
            "sell",
            "hold",
            "json",
            "table",
            "csv",
            "xml",
            "MA_Crossover",
            "",
        ]
    ),
    st.text(max_size=8),
)
GOOD_DATES = st.sampled_from(["2021-05-10", "2021-05-10T01:00", "2021-05-10T00:30Z"])
OPTIONS = {  # option: (good values, generated values); one option of a command line gets a generated one
    "run": {
        "--from": (GOOD_DATES, DATES),
        "--to": (st.just("2021-05-11"), DATES),
        "--pace": (st.just("0"), st.sampled_from(["0", "0.001", "nan", "-1", "inf", "61", "x", "1e309"])),
    },
    "backtest": {
        "--from": (GOOD_DATES, DATES),
        "--to": (st.just("2021-05-11"), DATES),
        "--symbol": (st.just("BTC/USDT"), WORDS),
        "--json": (st.just("OUT"), st.sampled_from(["OUT", "MISSING", "DIR"])),
        "--html": (st.just("HTML"), st.sampled_from(["HTML", "MISSING", "DIR"])),
    },
    "trades": {
        "--limit": (st.just("5"), NUMBERS),
        "--format": (st.just("json"), WORDS),
        "--symbol": (st.just("BTC/USDT"), WORDS),
        "--algo": (st.just("External"), WORDS),
    },
    "signal": {"--amount": (st.just("0.001"), NUMBERS), "--source": (st.just("cli"), WORDS)},
    "control": {"--wait": (st.just("0"), st.sampled_from(["0", "-1", "nan", "inf", "3601", "x", "1e309"]))},
    "strategies": {"--format": (st.just("json"), WORDS)},
    "stats": {},
}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("args")
    data = tmp / "BTC-USDT_1m.csv.gz"
    pd.read_csv(SAMPLE[0]).iloc[:120].to_csv(data, index=False, compression="gzip")
    cfg = write_config(
        tmp,
        symbols=["BTC/USDT"],
        order_size={"BTC/USDT": {"amount": 0.001}},
        params={"MA_Crossover": {"short_period": 2, "long_period": 3}},
    )
    return tmp, cfg, data


@st.composite
def command_line(draw, command, tmp, cfg, data):
    argv = [command, "--config", str(cfg)]
    if command == "run":
        argv += ["--replay", str(data)]  # never live: no network in tests
    elif command == "backtest":
        argv += ["--data", str(data)]
    elif command == "signal":
        argv += [draw(WORDS), draw(WORDS)]
    elif command == "control":
        argv += [draw(st.sampled_from(["pause", "resume", "flatten", "stop", ""]))]
    names = draw(
        st.lists(st.sampled_from(sorted(OPTIONS[command]) or ["--config"]), min_size=1, max_size=3, unique=True)
    )
    generated = draw(st.sampled_from(names))
    for name in names:
        if name == "--config":
            continue
        good, nasty = OPTIONS[command][name]
        value = draw(nasty if name == generated else good)
        value = {
            "OUT": str(tmp / "r.json"),
            "HTML": str(tmp / "r.html"),
            "MISSING": str(tmp / "missing" / "r.json"),
            "DIR": str(tmp),
        }.get(value, value)
        argv += [f"{name}={value}"] if value.startswith("-") or not value else [name, value]
    return argv


@pytest.mark.parametrize("command", sorted(OPTIONS))
@settings(max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_generated_command_line_runs_or_is_refused_naming_the_argument(setup, command, data):
    tmp, cfg, candles = setup
    argv = data.draw(command_line(command, tmp, cfg, candles))
    code, out, err = run_cli(*argv)
    if code == 0:
        assert "Traceback" not in err
        if argv[0] == "run":
            assert "replayed 120 candles" in out or "replayed 0 candles" in out
        return
    assert_clean_refusal(code, err)
    named = re.search(r"argument (\S+?):", err)
    if named:  # argparse names the option (or positional) and, for a bad value, the value
        assert named[1] in {a.split("=")[0] for a in argv} | {"action", "symbol"}, err


@pytest.mark.parametrize(
    "args, named",
    [
        (["run", "--replay", "DATA", "--pace", "nan"], "--pace"),
        (["run", "--replay", "DATA", "--pace", "-1"], "--pace"),
        (["run", "--replay", "DATA", "--from", "-1"], "--from"),
        (["run", "--replay", "DATA", "--from", "2021-05-12", "--to", "2021-05-11"], "--to"),
        (["run", "--from", "2021-05-11"], "--replay"),
        (["trades", "--limit", str(2**70)], "--limit"),
        (["signal", "DOGE/USDT", "buy"], "DOGE/USDT"),
        (["signal", "BTC/USDT", "buy", "--amount", "inf"], "amount = inf"),
        (["backtest", "--data", "DATA", "--json", "/nonexistent/dir/r.json"], "--json"),
        (["backtest", "--data", "DATA", "--symbol", "ETH/USDT"], "--symbol"),
    ],
)
def test_bot_py_refuses_with_one_line_and_no_traceback(setup, args, named):
    tmp, cfg, data = setup
    args = [str(data) if a == "DATA" else a for a in args]
    proc = bot(*args, "--config", str(cfg), timeout=60)
    assert_clean_refusal(proc.returncode, proc.stderr, named)


def test_a_fifo_as_config_does_not_hang_bot_py(tmp_path):
    import os

    fifo = tmp_path / "config.json"
    os.mkfifo(fifo)
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bot.py"), "stats", "--config", str(fifo)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert_clean_refusal(proc.returncode, proc.stderr, "not a regular file")
