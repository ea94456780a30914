"""Candle files (replay, backtest, download cache) and candle-frame checks.

File format: CSV (``.csv`` or ``.csv.gz``) with header ``timestamp,open,high,low,close,volume``,
``timestamp`` the UTC epoch ms of the candle open, one symbol per file, named like
``BTC-USDT_1m.csv.gz`` (-> symbol ``BTC/USDT``, timeframe ``1m``, from 1 minute to 1 day). At least
one candle; timestamps whole milliseconds between 2009 and 2100 (:data:`EPOCH_MS_MIN`,
:data:`EPOCH_MS_MAX`: seconds or microseconds are named as such), on the timeframe's boundaries,
ascending, no duplicates, and spaced by the timeframe (the closest two rows are one timeframe
apart: gaps are allowed, a ``_1m`` file of 5-minute rows is not); ``low <= min(open, close) <= max(open, close) <=
high``, prices > 0, volume >= 0. Only regular files are read (a FIFO would block).
"""

from __future__ import annotations

import gzip
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from daybreak.core.timeframes import EPOCH_MS_MAX, EPOCH_MS_MIN, epoch_ms_problem, timeframe_ms

COLUMNS = ["timestamp", "open", "high", "low", "close", "volume"]
_DTYPES = {c: np.int64 if c == "timestamp" else np.float64 for c in COLUMNS}
_CHUNK_ROWS = 1 << 16
_NAME = re.compile(r"(?P<base>[A-Z0-9]{1,20})-(?P<quote>[A-Z0-9]{1,20})_(?P<tf>\d{1,4}[mhd])\.csv(\.gz)?", re.ASCII)
MAX_TIMEFRAME_MS = 86_400_000


class CandleFileError(ValueError):
    """A candle file that cannot be used; the message names the file, row, field and value."""


@dataclass(frozen=True, slots=True)
class CandleFile:
    """A loaded candle file: ``frame`` has the columns of :data:`COLUMNS` (int64 ms, float64)."""

    path: Path
    symbol: str
    timeframe: str
    frame: pd.DataFrame


def parse_name(path: str | Path) -> tuple[str, str]:
    """(symbol, timeframe) from a file name like ``BTC-USDT_1m.csv.gz``. Raises CandleFileError."""
    m = _NAME.fullmatch(Path(path).name)
    if not m:
        raise CandleFileError(f"{path}: file name must look like BTC-USDT_1m.csv.gz (BASE-QUOTE_timeframe.csv[.gz])")
    try:
        step = timeframe_ms(m["tf"])
    except ValueError as err:
        raise CandleFileError(f"{path}: {err}") from None
    if step > MAX_TIMEFRAME_MS:
        raise CandleFileError(f"{path}: timeframe {m['tf']!r} is longer than 1d")
    return f"{m['base']}/{m['quote']}", m["tf"]


def file_name(symbol: str, timeframe: str, gz: bool = True) -> str:
    """The file name for ``symbol`` and ``timeframe`` (inverse of :func:`parse_name`)."""
    return f"{symbol.replace('/', '-')}_{timeframe}.csv" + (".gz" if gz else "")


def read_candles(path: str | Path, start_ms: int | None = None, end_ms: int | None = None) -> CandleFile:
    """Load and validate a candle file, optionally keeping candles opening in [start_ms, end_ms)."""
    path = Path(path)
    symbol, timeframe = parse_name(path)
    if not path.is_file():
        raise CandleFileError(
            f"{path}: cannot read: " + ("no such file" if not path.exists() else "not a regular file")
        )
    df = _read_typed(path)
    if df is None:  # a value or row the typed reader refuses: the general reader names it
        df = _read_any(path)
    df = validate_frame(df, str(path), timeframe)
    if start_ms is not None:
        df = df[df["timestamp"] >= start_ms]
    if end_ms is not None:
        df = df[df["timestamp"] < end_ms]
    return CandleFile(path, symbol, timeframe, df.reset_index(drop=True))


def _read_any(path: Path) -> pd.DataFrame:
    """The file as pandas reads it untyped; raises CandleFileError when it is no CSV or its
    header is not :data:`COLUMNS`."""
    try:
        df = pd.read_csv(path)
    except (OSError, ValueError, EOFError) as err:
        raise CandleFileError(f"{path}: cannot read as CSV: {err}") from None
    if list(df.columns) != COLUMNS:
        raise CandleFileError(f"{path}: header is {','.join(map(str, df.columns))}; expected {','.join(COLUMNS)}")
    return df


def _read_typed(path: Path) -> pd.DataFrame | None:
    """The file parsed straight into int64 / float64 columns, ``_CHUNK_ROWS`` rows at a time into
    arrays sized by the file's line count, so memory peaks at the result plus one chunk (one
    untyped read holds every chunk and their concatenation). None when the header, a value or
    a row does not fit (or the file cannot be read): :func:`_read_any` then reports it."""
    try:
        if list(pd.read_csv(path, nrows=0).columns) != COLUMNS:
            return None
        capacity = _count_lines(path)  # at least the number of data rows
        out = {c: np.empty(capacity, _DTYPES[c]) for c in COLUMNS}  # pages are used as filled
        n = 0
        with warnings.catch_warnings(), pd.read_csv(path, dtype=_DTYPES, chunksize=_CHUNK_ROWS) as reader:
            warnings.simplefilter("ignore", RuntimeWarning)  # a value beyond int64: refused below
            for chunk in reader:
                k = len(chunk)
                for c in COLUMNS:
                    out[c][n : n + k] = chunk[c].to_numpy()
                n += k
    except (OSError, ValueError, EOFError, OverflowError):  # OverflowError: a value beyond int64
        return None
    return pd.DataFrame({c: a[:n] for c, a in out.items()}, copy=False)


def _count_lines(path: Path) -> int:
    """Newlines in the (decompressed) file."""
    with (gzip.open if path.suffix == ".gz" else open)(path, "rb") as fh:
        return sum(block.count(b"\n") for block in iter(lambda: fh.read(1 << 20), b""))


def validate_frame(df: pd.DataFrame, source: str, timeframe: str) -> pd.DataFrame:
    """Coerce dtypes and check the candle rules; raises CandleFileError naming row and field.

    Returns ``df`` itself when its columns are already :data:`COLUMNS` as int64 / float64 with
    finite values (no copy), else a coerced copy."""
    if not len(df):
        raise CandleFileError(f"{source}: no candles (a header without rows)")
    columns, coerced = {}, False
    for col in COLUMNS:
        series = df[col]
        if series.dtype == _DTYPES[col] and (col == "timestamp" or np.isfinite(series.to_numpy()).all()):
            columns[col] = series
            continue
        coerced = True
        values = pd.to_numeric(series, errors="coerce")
        floats = values.to_numpy(dtype=float, na_value=np.nan)
        bad = values.isna().to_numpy() | ~np.isfinite(floats)
        if bad.any():
            row = int(np.argmax(bad))
            raise CandleFileError(f"{source}: row {row + 2}: {col} = {series.iloc[row]!r} is not a number")
        if col == "timestamp":  # range and wholeness before the int64 cast (which would wrap or truncate)
            _check_epoch(source, floats, series)
            _check(source, floats != np.floor(floats), df, "timestamp", "not a whole number of milliseconds")
        columns[col] = values.astype(_DTYPES[col])
    out = df if not coerced and list(df.columns) == COLUMNS else pd.DataFrame(columns, index=df.index)
    ts = out["timestamp"].to_numpy()
    _check_epoch(source, ts, out["timestamp"])
    step = timeframe_ms(timeframe)
    _check(source, ts % step != 0, out, "timestamp", f"not on a {timeframe} boundary (ms of the candle open)")
    if len(ts) > 1:
        _check(
            source,
            np.r_[False, ts[1:] <= ts[:-1]],
            out,
            "timestamp",
            "not after the previous row (sorted, no duplicates)",
        )
        spacing = int(np.diff(ts).min())
        if spacing != step:
            raise CandleFileError(
                f"{source}: timestamp spacing = {spacing} ms (the closest two rows): a {timeframe} "
                f"file has candles {step} ms apart; is the timeframe in the file name right?"
            )
    for col in ("open", "high", "low", "close"):
        _check(source, out[col].to_numpy() <= 0, out, col, "price must be > 0")
    _check(source, out["volume"].to_numpy() < 0, out, "volume", "volume must be >= 0")
    o, h, l, c = (out[k].to_numpy() for k in ("open", "high", "low", "close"))
    _check(
        source,
        (l > np.minimum(o, c)) | (h < np.maximum(o, c)),
        out,
        "low/high",
        "must satisfy low <= min(open, close) <= max(open, close) <= high",
    )
    return out


def _check_epoch(source: str, values: np.ndarray, shown: pd.Series) -> None:
    """Refuse timestamps outside [EPOCH_MS_MIN, EPOCH_MS_MAX), naming the first one."""
    bad = (values < EPOCH_MS_MIN) | (values >= EPOCH_MS_MAX)
    if bad.any():
        row = int(np.argmax(bad))
        value = values[row]
        problem = epoch_ms_problem(int(value)) if abs(value) < 2**62 else epoch_ms_problem(EPOCH_MS_MAX)
        raise CandleFileError(f"{source}: row {row + 2}: timestamp = {_plain(shown.iloc[row])!r}: {problem}")


def _plain(value):
    """A numpy scalar as the Python value it holds (for messages)."""
    return value.item() if isinstance(value, np.generic) else value


def _check(source: str, bad: np.ndarray, df: pd.DataFrame, col: str, rule: str) -> None:
    if bad.any():
        row = int(np.argmax(bad))
        shown = df[col].iloc[row] if col in df else {k: df[k].iloc[row] for k in ("open", "high", "low", "close")}
        raise CandleFileError(f"{source}: row {row + 2}: {col} = {shown}: {rule}")


def find_gaps(timestamps: np.ndarray, timeframe: str) -> list[tuple[int, int, int]]:
    """Missing candles: ``(first missing open ms, last missing open ms, count)`` per gap.

    Works through the series ``_CHUNK_ROWS`` at a time, so its temporaries stay small (a fresh
    array the length of a long series costs more in page faults than the comparison itself)."""
    step = timeframe_ms(timeframe)
    ts = np.asarray(timestamps, dtype=np.int64)
    gaps: list[tuple[int, int, int]] = []
    for lo in range(0, len(ts) - 1, _CHUNK_ROWS):
        d = np.diff(ts[lo : lo + _CHUNK_ROWS + 1])
        gaps += [
            (int(ts[lo + i] + step), int(ts[lo + i + 1] - step), int(d[i] // step - 1)) for i in np.nonzero(d > step)[0]
        ]
    return gaps
