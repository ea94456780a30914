"""Generated bad candle files (hypothesis): the reader returns candles that keep every documented
rule, or refuses the file with a CandleFileError naming it; ``bot.py backtest`` on them exits 0 or
exits 2 with one line. Never another exception, a traceback or a silently wrong file."""

from __future__ import annotations

import gzip

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daybreak.core.timeframes import EPOCH_MS_MAX, EPOCH_MS_MIN, timeframe_ms
from daybreak.exchange.candle_files import CandleFileError, parse_name, read_candles
from tests.helpers import assert_clean_refusal, run_cli, write_config

T0 = 1_700_000_040_000
GOOD_NAMES = ["BTC-USDT_1m.csv", "BTC-USDT_5m.csv.gz", "BTC-USDT_1h.csv"]
BAD_NAMES = [
    "BTC-USDT_0m.csv",
    "BTC-USDT_1x.csv",
    "btc-usdt_1m.csv",
    "BTC-USDT_99999m.csv",
    "BTC-USDT_1m.txt",
    "BTCUSDT_1m.csv",
    "_1m.csv",
    "_0m",
    "BTC-USDT_2d.csv",
    "ＢTC-USDT_1m.csv",
]
BAD_HEADERS = [
    "timestamp,open,high,low,close",
    "time,open,high,low,close,volume",
    "",
    "volume,open,high,low,close,timestamp",
]
TIMESTAMPS = st.one_of(
    st.sampled_from(
        [
            "0",
            "-60000",
            "1700000040",
            "1700000040000000",
            "9000000000000000000",
            "1e19",
            "1700000100000.5",
            "1230767940000",
            "4102444800000",
        ]
    ),
    st.integers(-(2**63), 2**63 - 1).map(lambda v: str(v - v % 60_000)),
)
CELLS = st.one_of(
    st.sampled_from(
        [
            "",
            "nan",
            "inf",
            "-inf",
            "abc",
            "1e19",
            "9e18",
            "-1",
            "0",
            "1e309",
            "1.5",
            '"7"',
            "1700000040",
            "1700000040000000",
            "1700000100000.5",
            "0x10",
        ]
    ),
    st.integers(-(2**63), 2**63).map(str),
    st.floats(allow_nan=True).map(repr),
    st.text(max_size=6),
)


@st.composite
def candle_file(draw):
    """(file name, bytes) of a candle file: valid rows with one kind of defect (or none)."""
    defect = draw(
        st.sampled_from(["none", "name", "header", "packing", "bytes", "spacing", "rows", "rows", "rows", "empty"])
    )
    name = draw(st.sampled_from(BAD_NAMES)) if defect == "name" else draw(st.sampled_from(GOOD_NAMES))
    step = 300_000 if "_5m" in name else 3_600_000 if "_1h" in name else 60_000
    spacing = draw(st.sampled_from([2 * step, 5 * 60_000, 1000, step + 60_000])) if defect == "spacing" else step
    n = 0 if defect == "empty" else draw(st.integers(2, 12))
    rows = [[T0 - T0 % step + i * spacing, 100 + i, 101 + i, 99 + i, 100.5 + i, 1.5] for i in range(n)]
    lines = [",".join(map(str, r)) for r in rows]
    for _ in range(draw(st.integers(1, 2)) if defect == "rows" else 0):
        if not lines:
            break
        what = draw(st.sampled_from(["cell", "ts", "ts", "swap", "dup", "drop", "scale"]))
        i = draw(st.integers(0, len(lines) - 1))
        cells = lines[i].split(",")
        if what == "cell":
            cells[draw(st.integers(0, len(cells) - 1))] = draw(CELLS)
        elif what == "ts":
            cells[0] = draw(TIMESTAMPS)
        elif what == "swap" and len(lines) > 1:
            lines[0], lines[-1] = lines[-1], lines[0]
            continue
        elif what == "dup":
            lines.insert(i, lines[i])
            continue
        elif what == "drop":
            cells = cells[: draw(st.integers(0, 5))]
        elif what == "scale" and cells[0].isdigit():
            cells[0] = str(int(int(cells[0]) * draw(st.sampled_from([1000, 0.001, -1]))))
        lines[i] = ",".join(cells)
    header = draw(st.sampled_from(BAD_HEADERS)) if defect == "header" else "timestamp,open,high,low,close,volume"
    data = ("\n".join([header, *lines]) + "\n").encode()
    if defect == "bytes":
        return name, draw(st.binary(max_size=64))
    if name.endswith(".gz") != (defect == "packing"):
        data = gzip.compress(data)
        if defect == "packing" and data:
            data = data[: draw(st.integers(0, len(data) - 1))]
    return name, data


def _check_rules(frame, timeframe: str) -> None:
    ts = frame["timestamp"].to_numpy()
    step = timeframe_ms(timeframe)
    assert len(ts) >= 1
    assert ((ts >= EPOCH_MS_MIN) & (ts < EPOCH_MS_MAX)).all()
    assert (ts % step == 0).all()
    if len(ts) > 1:
        assert (np.diff(ts) > 0).all() and np.diff(ts).min() == step
    o, h, lo, c, v = (frame[k].to_numpy() for k in ("open", "high", "low", "close", "volume"))
    assert np.isfinite(np.c_[o, h, lo, c, v]).all()
    assert (lo > 0).all() and (v >= 0).all() and (lo <= np.minimum(o, c)).all() and (h >= np.maximum(o, c)).all()


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=candle_file())
def test_a_generated_candle_file_is_read_by_the_rules_or_refused_naming_it(tmp_path, case):
    name, data = case
    path = tmp_path / name
    path.write_bytes(data)
    try:
        loaded = read_candles(path)
    except CandleFileError as err:
        assert str(err).startswith(str(path)), err
        return
    _check_rules(loaded.frame, parse_name(path)[1])


@settings(max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=candle_file())
def test_backtest_on_a_generated_file_exits_0_or_2_with_one_line(tmp_path, case):
    name, data = case
    path = tmp_path / name
    path.write_bytes(data)
    cfg = write_config(
        tmp_path,
        symbols=["BTC/USDT"],
        order_size={"BTC/USDT": {"amount": 0.001}},
        params={"MA_Crossover": {"short_period": 2, "long_period": 3}},
    )
    code, _, err = run_cli("backtest", "--data", str(path), "--config", str(cfg))
    if code != 0:
        assert_clean_refusal(code, err)
