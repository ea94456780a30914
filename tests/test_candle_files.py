"""Candle files: a bad value is named by row, field and value (whichever way the file is read),
and a good file loads with the exact values pandas parses, typed int64 / float64."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from daybreak.exchange.candle_files import CandleFileError, read_candles

HEADER = "timestamp,open,high,low,close,volume"
GOOD = [HEADER] + [f"{1700000040000 + 60000 * i},{100 + i},{101 + i},{99 + i},{100.5 + i},1.5" for i in range(10)]


def _edit(row: int, col: int, value: str) -> list[str]:
    lines = list(GOOD)
    cells = lines[row].split(",")
    cells[col] = value
    lines[row] = ",".join(cells)
    return lines


def _write(tmp_path, lines, gz=False):
    path = tmp_path / ("BTC-USDT_1m.csv" + (".gz" if gz else ""))
    data = ("\n".join(lines) + "\n").encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


BAD = {
    "text timestamp": (_edit(3, 0, "abc"), "row 4: timestamp = 'abc' is not a number"),
    "text price": (_edit(4, 1, "x"), "row 5: open = 'x' is not a number"),
    "empty price": (_edit(5, 4, ""), "row 6: close = np.float64(nan) is not a number"),
    "nan price": (_edit(2, 2, "nan"), "row 3: high = np.float64(nan) is not a number"),
    "inf price": (_edit(6, 3, "inf"), "row 7: low = np.float64(inf) is not a number"),
    "off boundary": (
        _edit(3, 0, "1700000160001"),
        "row 4: timestamp = 1700000160001: not on a 1m boundary (ms of the candle open)",
    ),
    "duplicate": (
        _edit(3, 0, "1700000100000"),
        "row 4: timestamp = 1700000100000: not after the previous row (sorted, no duplicates)",
    ),
    "negative price": (_edit(7, 1, "-1"), "row 8: open = -1.0: price must be > 0"),
    "zero price": (_edit(7, 4, "0"), "row 8: close = 0.0: price must be > 0"),
    "negative volume": (_edit(8, 5, "-0.5"), "row 9: volume = -0.5: volume must be >= 0"),
    "low above close": (
        _edit(9, 3, "200"),
        "row 10: low/high = {'open': np.float64(108.0), 'high': np.float64(109.0), "
        "'low': np.float64(200.0), 'close': np.float64(108.5)}: must satisfy low <= min(open, close) "
        "<= max(open, close) <= high",
    ),
    "short row": (
        GOOD[:4] + [",".join(GOOD[4].split(",")[:4])] + GOOD[5:],
        "row 5: close = np.float64(nan) is not a number",
    ),
    "missing column": (
        [HEADER.rsplit(",", 1)[0]] + [line.rsplit(",", 1)[0] for line in GOOD[1:]],
        "header is timestamp,open,high,low,close; expected timestamp,open,high,low,close,volume",
    ),
    "header only": (GOOD[:1], "no candles (a header without rows)"),
    "seconds": (
        _edit(1, 0, "1700000040"),
        "row 2: timestamp = 1700000040: looks like epoch seconds; give UTC epoch milliseconds",
    ),
    "microseconds": (
        _edit(1, 0, "1700000040000000"),
        "row 2: timestamp = 1700000040000000: looks like epoch microseconds; give UTC epoch milliseconds",
    ),
    "1970": (
        [HEADER] + [f"{60000 * i},1,1,1,1,1" for i in range(3)],
        "row 2: timestamp = 0: is not UTC epoch milliseconds between 2009-01-01 and 2100-01-01",
    ),
    "beyond int64": (
        _edit(2, 0, "1e19"),
        "row 3: timestamp = 1e+19: is not UTC epoch milliseconds between 2009-01-01 and 2100-01-01",
    ),
    "fractional ms": (
        _edit(2, 0, "1700000100000.5"),
        "row 3: timestamp = 1700000100000.5: not a whole number of milliseconds",
    ),
    "5m rows in a 1m file": (
        [HEADER] + [f"{1700000100000 + 300000 * i},1,1,1,1,1" for i in range(4)],
        "timestamp spacing = 300000 ms (the closest two rows): a 1m file has candles 60000 ms apart; "
        "is the timeframe in the file name right?",
    ),
    "extra field": (
        GOOD[:4] + [GOOD[4] + ",7"] + GOOD[5:],
        "cannot read as CSV: Error tokenizing data. C error: Expected 6 fields in line 5, saw 7\n",
    ),
}


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("name", sorted(BAD))
def test_a_bad_file_is_named_with_row_field_and_value(tmp_path, name, gz):
    lines, message = BAD[name]
    path = _write(tmp_path, lines, gz)
    with pytest.raises(CandleFileError) as err:
        read_candles(path)
    assert str(err.value) == f"{path}: {message}"


def test_a_truncated_gzip_file_cannot_be_read(tmp_path):
    path = tmp_path / "BTC-USDT_1m.csv.gz"
    path.write_bytes(gzip.compress(("\n".join(GOOD) + "\n").encode())[:-20])
    with pytest.raises(CandleFileError, match="cannot read as CSV"):
        read_candles(path)


@pytest.mark.parametrize(
    "lines",
    [
        GOOD,
        GOOD[:3] + ["", ""] + GOOD[3:],
        _edit(2, 1, '"101.5"'),
        _edit(2, 1, "1.015e2"),
        _edit(2, 0, "1700000100000.0"),
        GOOD[:-1] + [GOOD[-1] + "\r"],
    ],
    ids=["plain", "blank lines", "quoted", "exponent", "float timestamp", "crlf"],
)
def test_a_good_file_loads_typed_with_the_values_pandas_parses(tmp_path, lines):
    path = _write(tmp_path, lines)
    frame = read_candles(path).frame
    assert list(frame.dtypes) == [np.int64] + [np.float64] * 5
    expected = pd.read_csv(path)
    assert len(frame) == len(expected)
    for col in frame.columns:
        assert np.array_equal(frame[col].to_numpy(), expected[col].to_numpy(dtype=frame[col].dtype))
