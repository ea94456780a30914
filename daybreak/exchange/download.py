"""``bot.py download``: fetch closed candles through ccxt into the local candle cache, resumably.

Files: ``<dest_dir>/<BASE>-<QUOTE>_<timeframe>.csv.gz`` in the replay format of
:mod:`daybreak.exchange.candle_files` (header ``timestamp,open,high,low,close,volume``, UTC ms of the candle
open, ascending, unique), so ``run --replay`` and ``backtest`` read them directly. Only closed
candles are stored (:meth:`daybreak.exchange.Exchange.iter_history`).

Resumable: candles already in the file are not fetched again; a run continues after the last
stored candle (and fills in before the first one when ``since`` is earlier). Pages are buffered
and written every ``chunk_rows`` candles, and whatever was fetched is written before an error
propagates. Every write replaces the whole file atomically (:mod:`daybreak.ops.atomic_file`), so
the file is always either the old or the new complete version.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from tqdm import tqdm

from daybreak.core.config import Config, symbol_problem
from daybreak.core.timeframes import parse_utc_ms, timeframe_ms
from daybreak.exchange.candle_files import COLUMNS, file_name, find_gaps, read_candles
from daybreak.ops.atomic_file import write_atomic

if TYPE_CHECKING:  # ccxt is imported only when a download runs: bot.py's start-up stays fast
    from daybreak.exchange.client import Exchange

DEFAULT_DEST = Path("data/candles")
CHUNK_ROWS = 50_000


@dataclass
class SymbolDownload:
    """Outcome for one symbol. ``first_ms`` / ``last_ms``: opens of the first and last stored
    candle in the requested range (``None`` if none); ``gaps``: missing candles inside that range
    as ``(first missing open ms, last missing open ms, count)``."""

    symbol: str
    path: Path
    rows_added: int = 0
    first_ms: int | None = None
    last_ms: int | None = None
    gaps: list[tuple[int, int, int]] = field(default_factory=list)


@dataclass
class DownloadReport:
    """What :func:`download` did, per symbol (in the order asked)."""

    timeframe: str
    symbols: dict[str, SymbolDownload] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """Human-readable summary, one line per symbol plus one per gap."""
        out = []
        for item in self.symbols.values():
            span = f"{_iso(item.first_ms)} -> {_iso(item.last_ms)}" if item.first_ms is not None else "no candles"
            out.append(
                f"{item.symbol} {self.timeframe}: +{item.rows_added} candles, {span}, "
                f"{len(item.gaps)} gap(s) -> {item.path}"
            )
            out += [f"  gap {_iso(a)} -> {_iso(b)}: {n} candle(s) missing" for a, b, n in item.gaps]
        return out


def download(
    symbols: list[str],
    timeframe: str,
    since_ms: int,
    until_ms: int | None,
    exchange: Exchange,
    dest_dir: Path = DEFAULT_DEST,
    progress: bool | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> DownloadReport:
    """Download closed ``timeframe`` candles opening in ``[since_ms, until_ms)`` for each symbol.

    ``until_ms`` ``None``: up to the newest closed candle. ``progress``: a tqdm bar on stderr
    (``None``: only when stderr is a terminal). Raises ValueError for a bad symbol, timeframe or
    range, :class:`~daybreak.candles.CandleFileError` when an existing file is not a valid candle
    file (it is left untouched), and the exchange's errors (after writing what was fetched).
    """
    step = timeframe_ms(timeframe)
    if until_ms is not None and until_ms <= since_ms:
        raise ValueError(f"until = {_iso(until_ms)} is not after since = {_iso(since_ms)}")
    for symbol in symbols:
        problem = symbol_problem(symbol)
        if problem:
            raise ValueError(f"symbol = {symbol!r}: {problem}")
    now = exchange.now_ms()
    if since_ms >= now:
        raise ValueError(f"since = {_iso(since_ms)} is in the future (now {_iso(now)}): no closed candles yet")
    show = sys.stderr.isatty() if progress is None else progress
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    report = DownloadReport(timeframe)
    for symbol in symbols:
        path = dest_dir / file_name(symbol, timeframe)
        item = report.symbols[symbol] = SymbolDownload(symbol, path)
        stored = read_candles(path).frame if path.exists() else _empty()
        end = until_ms if until_ms is not None else now
        ranges = _missing_ranges(stored, since_ms, end, step)
        bar = _bar(symbol, sum(max(0, (b - a) // step) for a, b in ranges)) if show else None
        buffered: list[pd.DataFrame] = []
        try:
            for start, stop in ranges:
                for page in exchange.iter_history(symbol, timeframe, start, stop):
                    buffered.append(page)
                    item.rows_added += len(page)
                    if bar is not None:
                        bar.update(len(page))
                    if sum(len(p) for p in buffered) >= chunk_rows:
                        stored = _write(path, stored, buffered)
                        buffered = []
        finally:
            if buffered:
                stored = _write(path, stored, buffered)
            if bar is not None:
                bar.close()
        ts = stored["timestamp"].to_numpy(np.int64)
        ts = ts[(ts >= since_ms) & (ts < end)]
        if len(ts):
            item.first_ms, item.last_ms = int(ts[0]), int(ts[-1])
            item.gaps = find_gaps(ts, timeframe)
    return report


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: np.array([], dtype=np.int64 if c == "timestamp" else np.float64) for c in COLUMNS})


def _missing_ranges(stored: pd.DataFrame, since: int, until: int, step: int) -> list[tuple[int, int]]:
    """``[start, stop)`` open-time ranges to fetch: all of it, or before the first and after the
    last stored candle (inner gaps are the exchange's; they are reported, not re-fetched)."""
    if stored.empty:
        return [(since, until)] if since < until else []
    first, last = int(stored["timestamp"].iloc[0]), int(stored["timestamp"].iloc[-1])
    ranges = []
    if since < first:
        ranges.append((since, min(first, until)))
    if last + step < until:
        ranges.append((max(since, last + step), until))
    return [(a, b) for a, b in ranges if a < b]


def _write(path: Path, stored: pd.DataFrame, pages: list[pd.DataFrame]) -> pd.DataFrame:
    """Merge ``pages`` into ``stored`` and replace ``path`` atomically; returns the merged frame."""
    merged = pd.concat([stored, *pages], ignore_index=True)
    merged = merged.drop_duplicates("timestamp", keep="first").sort_values("timestamp").reset_index(drop=True)
    merged = merged[COLUMNS].astype({"timestamp": np.int64})
    write_atomic(path, lambda fh: merged.to_csv(fh, index=False, compression={"method": "gzip", "mtime": 0}))
    return merged


def _bar(symbol: str, total: int):
    return tqdm(total=total, unit="candle", desc=symbol, leave=False, file=sys.stderr)


def _iso(ms: int | None) -> str:
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")


# -- command line -------------------------------------------------------------------------------
def parse_utc_date(text: str) -> int:
    """``YYYY-MM-DD`` or an ISO datetime (UTC unless it names an offset), 2009-2100 -> UTC epoch
    ms (:func:`daybreak.core.timeframes.parse_utc_ms`); an argparse type."""
    try:
        return parse_utc_ms(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def add_download_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``bot.py download SYMBOL... --timeframe 1m --since DATE [--until DATE]
    [--exchange ID] [--dest DIR]``."""
    parser.add_argument("symbols", nargs="+", metavar="SYMBOL", help="ccxt symbols, e.g. BTC/USDT ETH/USDT")
    parser.add_argument("--timeframe", default="1m", help="candle timeframe, e.g. 1m, 5m, 1h (default 1m)")
    parser.add_argument(
        "--since", required=True, type=parse_utc_date, help="first candle open, YYYY-MM-DD or ISO datetime, UTC"
    )
    parser.add_argument(
        "--until",
        type=parse_utc_date,
        default=None,
        help="end (exclusive), YYYY-MM-DD or ISO datetime, UTC (default: now)",
    )
    parser.add_argument("--exchange", default=None, help="ccxt exchange id (default: config 'exchange')")
    parser.add_argument("--dest", default=str(DEFAULT_DEST), help=f"cache directory (default {DEFAULT_DEST})")
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar (default: only in a terminal)",
    )


def run_download(args: argparse.Namespace, config: Config, exchange: Exchange | None = None) -> int:
    """Run the ``download`` subcommand; returns the exit code.

    0: done (summary on stdout); 1: the exchange failed (run again to resume); 2: bad input.
    ``config`` is :class:`daybreak.settings.Config` (its ``exchange`` is the default id);
    ``exchange`` replaces the client built from the id (tests pass one aimed at a fake).
    """
    from daybreak.exchange.client import Exchange, ExchangeError, ExchangeUnavailable  # lazy: loads ccxt

    exchange_id = args.exchange or config.exchange
    try:
        client = exchange or Exchange(exchange_id)
    except ExchangeError as err:  # an unknown exchange id
        print(f"download: --exchange = {exchange_id!r}: {err}", file=sys.stderr)
        return 2
    try:
        report = download(
            args.symbols,
            args.timeframe,
            args.since,
            args.until,
            client,
            Path(args.dest),
            progress=getattr(args, "progress", None),
        )
    except ValueError as err:
        print(f"download: {err}", file=sys.stderr)
        return 2
    except ExchangeUnavailable as err:
        print(
            f"download interrupted: {err}\nwhat was fetched is saved; run the same command again to resume",
            file=sys.stderr,
        )
        return 1
    except ExchangeError as err:
        print(f"download failed: {err}", file=sys.stderr)
        return 1
    for line in report.lines():
        print(line)
    return 0
