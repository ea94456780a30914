"""Command line of ``bot.py``. Each subcommand takes ``--config`` (default ``config.json``), which
also names the store. Exit codes: 0 ok, 1 runtime failure, 2 bad input (config, file, argument).

:func:`main` turns the project's own errors into one line on stderr: bad input (config, candle
file, argument, external signal) exits 2; storage, file-system and exchange failures exit 1. Only
a real bug shows a traceback, followed by a line saying so.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import signal as os_signal
import sys
import time
import traceback
import uuid
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from daybreak.cli import operator as cli_ops
from daybreak.cli.args import Parser, UsageError, check_span, count, number, output_file, utc_date
from daybreak.core import external
from daybreak.core.config import DEFAULT_CONFIG_PATH, Config, ConfigError
from daybreak.core.domain import Trade, new_control
from daybreak.core.order_record import OrderRecord
from daybreak.core.timeframes import parse_utc_ms
from daybreak.drivers.alerts import make_alerts
from daybreak.drivers.backtest import run_backtest
from daybreak.drivers.replay import load_files, run_replay
from daybreak.drivers.research_cli import add_lookahead_arguments, add_optimize_arguments, run_lookahead, run_optimize
from daybreak.drivers.wiring import build_context
from daybreak.exchange.candle_files import CandleFileError
from daybreak.exchange.download import add_download_arguments, run_download
from daybreak.ops.config_file import load_config
from daybreak.ops.heap import keep_freed_memory
from daybreak.ops.logs import setup_logging
from daybreak.ops.notify import ENV_VAR as ENV_NOTIFY_URLS
from daybreak.ops.operator_secrets import OperatorSecretError
from daybreak.ops.run_lock import AlreadyRunning, acquire
from daybreak.reporting.costs import market_only_config
from daybreak.reporting.metrics import compute_metrics
from daybreak.reporting.render import print_report, write_html, write_json
from daybreak.reporting.stats import TOTAL, summarize
from storage import StorageError, open_store
from storage.init_db import init_db
from storage.records import SignalRecord
from strategies.catalog import describe_all, format_table

log = logging.getLogger("daybreak")
BAD_INPUT = (ConfigError, CandleFileError, UsageError, AlreadyRunning)
"""Errors that mean the input was wrong (exit 2)."""


class Failure(RuntimeError):
    """A runtime failure worth one line (exit 1), e.g. a log file that cannot be opened."""


def _parser() -> argparse.ArgumentParser:
    p = Parser(prog="bot.py", description="Daybreak crypto spot day-trading bot")
    sub = p.add_subparsers(dest="command", required=True)

    def cmd(name: str, help_: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_, description=help_)
        sp.add_argument("--config", default=DEFAULT_CONFIG_PATH, help="config file (default: config.json)")
        return sp

    run = cmd("run", "run the bot: live polling, or --replay candle files on a simulated clock")
    run.add_argument("--replay", nargs="+", metavar="FILE", help="candle files (BTC-USDT_1m.csv.gz ...)")
    run.add_argument("--from", dest="start", type=utc_date, help="replay: first candle (YYYY-MM-DD or ISO, UTC)")
    run.add_argument("--to", dest="end", type=utc_date, help="replay: end (exclusive)")
    run.add_argument(
        "--pace",
        type=number(0, 60, "seconds"),
        default=None,
        help="replay: seconds to wait per candle, 0 to 60 (default 0 = fast)",
    )
    run.add_argument(
        "--notify",
        action="store_true",
        help="replay: send operator alerts too, with the market time (live and paper runs always do)",
    )

    bt = cmd("backtest", "backtest the enabled strategies on candle files")
    bt.add_argument("--data", nargs="+", required=True, metavar="FILE", help="candle files")
    bt.add_argument("--from", dest="start", type=utc_date, help="first candle (YYYY-MM-DD or ISO, UTC)")
    bt.add_argument("--to", dest="end", type=utc_date, help="end (exclusive)")
    bt.add_argument("--json", dest="json_out", type=output_file, metavar="OUT", help="write the JSON report here")
    bt.add_argument("--html", dest="html_out", type=output_file, metavar="OUT", help="write the HTML report here")
    bt.add_argument("--symbol", help="HTML: symbol of the candle chart (default: the first)")

    add_download_arguments(cmd("download", "download candles through ccxt into data/candles/"))
    add_optimize_arguments(cmd("optimize", "search a strategy's parameters (Optuna), validated out of sample"))
    add_lookahead_arguments(cmd("lookahead", "check a strategy for look-ahead and a too short warm-up"))

    sig = cmd("signal", "insert an external signal into the Signals table, as another system would")
    sig.add_argument("symbol", help="e.g. BTC/USDT")
    sig.add_argument("action", help="buy or sell")
    sig.add_argument("--amount", type=float, help="base amount (default: the configured order size)")
    sig.add_argument("--source", default="cli", help="name of the sending system")

    tr = cmd("trades", "print stored trades")
    tr.add_argument("--format", choices=["table", "csv", "json"], default="table")
    tr.add_argument("--symbol")
    tr.add_argument("--algo")
    tr.add_argument("--limit", type=count(1, 1_000_000_000), help="only the newest N")

    od = cmd("orders", "print stored live orders: every exchange order, resting or done")
    od.add_argument("--open", action="store_true", help="only orders not done (resting, in flight)")
    od.add_argument("--format", choices=["table", "csv", "json"], default="table")
    od.add_argument("--limit", type=int, default=100, help="without --open: the newest N (default 100)")

    cmd("stats", "print P&L per strategy and in total")
    st = cmd("strategies", "list registered strategies, their timeframe, warm-up and params schema")
    st.add_argument("--format", choices=["table", "json"], default="table")
    ctl = cmd("control", "pause or resume entries, or flatten every position")
    ctl.add_argument("action", choices=["pause", "resume", "flatten"])
    ctl.add_argument(
        "--wait",
        type=number(0, 3600, "seconds"),
        default=0.0,
        help="seconds to wait for the bot's acknowledgement, 0 to 3600",
    )
    cmd("init-db", "create missing storage tables (safe to run twice)")
    cli_ops.add_parsers(cmd)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run one ``bot.py`` command; returns its exit code (see the module docstring)."""
    try:
        return _run_command(argv)
    except SystemExit as done:  # --help, --version
        return done.code if isinstance(done.code, int) else 0
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BAD_INPUT as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except StorageError as err:
        print(f"error: storage: {err}", file=sys.stderr)
        return 1
    except Failure as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except OSError as err:
        where = f"{err.filename}: " if err.filename else ""
        print(f"error: {where}{err.strerror or err}", file=sys.stderr)
        return 1
    except Exception as err:
        exchange_errors = sys.modules.get("daybreak.exchange.errors")  # loaded only with ccxt
        if exchange_errors is not None and isinstance(err, exchange_errors.ExchangeError):
            print(f"error: exchange: {err}", file=sys.stderr)
            return 1
        traceback.print_exc()
        print(
            f"error: {type(err).__name__} above is a bug in Daybreak, not a problem with your input; "
            "please report it with the traceback",
            file=sys.stderr,
        )
        return 1


def _run_command(argv: list[str] | None) -> int:
    args = _parser().parse_args(argv)
    config = load_config(args.config)
    return COMMANDS[args.command](args, config)


def _open_store(config: Config):
    return open_store(config.storage)


# -- run -----------------------------------------------------------------------------------------
def cmd_run(args: argparse.Namespace, config: Config) -> int:
    if not args.replay and (args.start is not None or args.end is not None or args.pace is not None or args.notify):
        raise UsageError(
            "run: --from, --to, --pace and --notify apply to --replay only (without --replay the bot trades live)"
        )
    check_span(args.start, args.end)
    data = load_files(args.replay, config, args.start, args.end) if args.replay else None
    if data is not None and not any(len(df) for df in data.frames.values()):
        raise UsageError("run: no candles in the selected span (--from/--to)")
    try:
        lock = acquire(config.storage)
    except OSError as err:
        raise Failure(f"{err.filename}: {err.strerror} (storage.path)") from None
    try:  # the lock is released when the run ends, also for a caller that runs again in-process
        try:
            setup_logging(config.log.path, config.log.level)
        except OSError as err:
            raise Failure(f"{err.filename}: {err.strerror} (log.path)") from None
        try:
            alerts = make_alerts(config, send=not args.replay or args.notify, market_time=bool(args.replay))
        except ValueError as err:
            raise UsageError(f"{ENV_NOTIFY_URLS}: {err}") from None
        except OperatorSecretError as err:
            raise Failure(f"notification URLs: {err}") from None
        try:
            return _run(args, config, data, alerts)
        finally:
            alerts.close()
    finally:
        lock.close()


def _run(args, config: Config, data, alerts) -> int:
    stop = {"flag": False}

    def _stop(signum, _frame):
        stop["flag"] = True
        log.info("signal %s received, shutting down", signum)

    os_signal.signal(os_signal.SIGTERM, _stop)
    os_signal.signal(os_signal.SIGINT, _stop)
    if data is not None:
        return _replay(args, config, data, lambda: stop["flag"], alerts)
    if config.mode == "live" and (code := cli_ops.preflight(config, alerts)) is not None:
        return code
    from daybreak.drivers.live import run_live  # lazy: loads ccxt, which replay and the other commands never need

    return run_live(args.config, config, lambda: stop["flag"], alerts=alerts)


def _replay(args, config: Config, data, should_stop, alerts) -> int:
    try:
        ctx = build_context(args.config, config, alerts=alerts, hold_lease=True)
    except AlreadyRunning as err:
        raise UsageError(str(err)) from None
    ctx.expire_controls(int(time.time() * 1000))
    log.info(
        "replay of %s (%s) with %s",
        ", ".join(sorted(data.frames)),
        data.timeframe,
        ", ".join(config.enabled_algos()) or "no strategy",
    )
    try:
        n = run_replay(ctx, data, args.pace or 0.0, should_stop, int(config.storage.price_retention_days * 86_400_000))
        trades = ctx.store.list_trades()
        open_positions = ctx.store.list_positions()
    finally:
        unsaved = ctx.shutdown()
    if unsaved:
        path = Path(config.log.path).with_name("unsaved-writes.jsonl")
        raise Failure(
            f"storage: {unsaved} write(s) could not be stored and are in {path}; the replay is not "
            f"complete in the store"
        )
    print(f"replayed {n} candles; {len(trades)} trade(s); {len(open_positions)} position(s) left open")
    print(format_stats(trades), end="")
    return 0


# -- signal, trades, stats ----------------------------------------------------------------------------
def cmd_signal(args: argparse.Namespace, config: Config) -> int:
    """Insert one row into the Signals inbox, checked by the bot's own validator first."""
    now = int(time.time() * 1000)
    row = {
        "signal_id": f"sig-{now}-{uuid.uuid4().hex[:8]}",
        "timestamp": now,
        "symbol": args.symbol,
        "action": args.action,
        "source": args.source,
        "amount": args.amount,
    }
    sig = external.parse(row, config.symbols)
    if isinstance(sig, external.Refusal):
        raise UsageError(f"signal: {sig}")
    rec = SignalRecord(sig.signal_id, sig.timestamp, sig.symbol, sig.action.value, sig.source, sig.amount)
    store = _open_store(config)
    try:
        store.put_signal(rec)
    finally:
        store.close()
    print(
        f"inserted signal {rec.signal_id}: {rec.action} {rec.symbol}"
        + (f" amount {rec.amount:g}" if rec.amount else "")
        + f" from {rec.source}"
    )
    if not config.external_signals:
        print("note: external_signals is off in the config; the bot will not execute it until it is on")
    return 0


TRADE_FIELDS = [
    "trade_id",
    "timestamp",
    "symbol",
    "action",
    "amount",
    "price",
    "fee",
    "pnl",
    "algo",
    "exit_reason",
    "order_id",
    "mode",
]


def cmd_trades(args: argparse.Namespace, config: Config) -> int:
    store = _open_store(config)
    try:
        trades = store.list_trades(symbol=args.symbol, algo=args.algo, limit=args.limit, newest_first=bool(args.limit))
    finally:
        store.close()
    trades.sort(key=lambda t: t.timestamp)
    rows = [t.to_json() for t in trades]
    if args.format == "json":
        print(json.dumps(rows, indent=2))
    elif args.format == "csv":
        buf = io.StringIO()
        w = csv.DictWriter(buf, TRADE_FIELDS, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
        print(buf.getvalue(), end="")
    else:
        print(format_trades(trades))
    return 0


def format_trades(trades: list[Trade]) -> str:
    table = Table("time (UTC)", "strategy", "symbol", "action", "amount", "price", "fee", "P&L", "reason")
    for t in trades:
        when = datetime.fromtimestamp(t.timestamp / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")
        table.add_row(
            when,
            t.algo,
            t.symbol,
            t.action,
            f"{t.amount:.8g}",
            f"{t.price:.8g}",
            f"{t.fee:.4f}",
            "" if t.pnl is None else f"{t.pnl:+.4f}",
            t.exit_reason or "",
        )
    return _render(table) + f"{len(trades)} trade(s)"


def format_stats(trades: list[Trade]) -> str:
    table = Table("strategy", "P&L", "fees", "fills", "closed", "wins", "losses", "win rate")
    summary = summarize(trades)
    for algo in [*sorted(k for k in summary if k != TOTAL), TOTAL]:
        r = summary[algo]
        table.add_row(
            algo,
            f"{r['pnl']:+.4f}",
            f"{r['fees']:.4f}",
            f"{r['trades']:.0f}",
            f"{r['closed_trades']:.0f}",
            f"{r['wins']:.0f}",
            f"{r['losses']:.0f}",
            f"{r['win_rate']:.1%}",
        )
    return _render(table)


def _render(table, width: int = 160) -> str:
    buf = io.StringIO()
    Console(file=buf, width=width, color_system=None).print(table)
    return buf.getvalue()


ORDER_FIELDS = [
    "client_order_id",
    "created_at",
    "algo",
    "symbol",
    "side",
    "type",
    "role",
    "price",
    "stop_price",
    "amount",
    "filled",
    "average",
    "status",
    "fee",
    "fee_currency",
    "reason",
    "ref_price",
    "exchange_order_id",
    "parent",
    "list_id",
    "updated_at",
    "error",
    "done",
]


def order_json(rec: OrderRecord) -> dict:
    """One order record as plain JSON values (enums as strings, ``done`` derived)."""
    row = {f: getattr(rec, f) for f in ORDER_FIELDS if f != "done"}
    for f in ("side", "status", "role", "reason"):
        row[f] = None if row[f] is None else row[f].value
    row["done"] = rec.done
    return row


def cmd_orders(args: argparse.Namespace, config: Config) -> int:
    if args.limit is not None and args.limit < 1:
        raise UsageError(f"--limit = {args.limit}: must be at least 1")
    store = _open_store(config)
    try:
        orders = store.list_orders(open_only=True) if args.open else store.list_orders(limit=args.limit)
    finally:
        store.close()
    rows = [order_json(o) for o in orders]
    if args.format == "json":
        print(json.dumps(rows, indent=2))
    elif args.format == "csv":
        buf = io.StringIO()
        w = csv.DictWriter(buf, ORDER_FIELDS)
        w.writeheader()
        w.writerows(rows)
        print(buf.getvalue(), end="")
    else:
        table = Table(
            "time (UTC)",
            "strategy",
            "symbol",
            "side",
            "type",
            "role",
            "price",
            "trigger",
            "amount",
            "filled",
            "avg",
            "status",
            "fee",
            "client order id",
        )
        for o in orders:
            when = datetime.fromtimestamp(o.created_at / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")
            status = o.status.value if o.done else f"{o.status.value}*"
            table.add_row(
                when,
                o.algo,
                o.symbol,
                o.side.value,
                o.type,
                o.role.value,
                _num(o.price),
                _num(o.stop_price),
                f"{o.amount:.8g}",
                f"{o.filled:.8g}",
                _num(o.average or None),
                status,
                f"{o.fee:.4f}",
                o.client_order_id,
            )
        print(
            _render(table, width=220)
            + f"{len(orders)} order(s)"
            + (" not done" if args.open else "")
            + ("; * = not done (resting, in flight or not booked yet)" if any(not o.done for o in orders) else "")
        )
    return 0


def _num(value) -> str:
    return "" if value is None else f"{value:.8g}"


def cmd_stats(args: argparse.Namespace, config: Config) -> int:
    store = _open_store(config)
    try:
        print(format_stats(store.list_trades()), end="")
    finally:
        store.close()
    return 0


# -- strategies, control, init-db, backtest, download -------------------------------------------------
def cmd_strategies(args: argparse.Namespace, config: Config) -> int:
    rows = describe_all(config)
    print(json.dumps(rows, indent=2) if args.format == "json" else format_table(rows))
    return 0


def cmd_control(args: argparse.Namespace, config: Config) -> int:
    store = _open_store(config)
    try:
        now = int(time.time() * 1000)
        ctl = new_control(args.action, "cli", now)
        store.put_control(ctl)
        status = store.get_status()
        if status is not None and status.bot_running(now, config.poll_seconds):
            print(f"{args.action} requested ({ctl.control_id}); the bot acts on it within one poll")
        else:
            print(
                f"{args.action} requested ({ctl.control_id}); no bot is running on this store: it waits for one "
                f"to start and expires after control_max_age_seconds ({config.control_max_age_seconds:g} s)"
            )
        deadline = time.time() + args.wait
        while time.time() < deadline:
            done = [c for c in store.list_controls() if c.control_id == ctl.control_id and c.status != "pending"]
            if done:
                print(f"acknowledged: {done[0].status}: {done[0].result}")
                return 0
            time.sleep(0.5)
        if args.wait:
            print("not acknowledged yet (is the bot running?)")
            return 1
    finally:
        store.close()
    return 0


def cmd_init_db(args: argparse.Namespace, config: Config) -> int:
    for line in init_db(config.storage):
        print(line)
    return 0


def cmd_backtest(args: argparse.Namespace, config: Config) -> int:
    """Print the terminal report; write ``--json`` / ``--html`` when asked. Returns the exit code."""
    check_span(args.start, args.end)
    data = load_files(args.data, config, args.start, args.end)
    if not any(len(df) for df in data.frames.values()):
        raise UsageError("backtest: no candles in the selected span (--from/--to)")
    if args.symbol is not None and args.symbol not in data.frames:
        raise UsageError(
            f"backtest: --symbol = {args.symbol!r}: not in this backtest (symbols: {', '.join(sorted(data.frames))})"
        )
    keep_freed_memory()  # a one-off array-heavy process: reuse freed pages (daybreak/ops/heap.py)
    result = run_backtest(config, data)
    baseline = market_only_config(config)  # the same run with market orders only: the fee comparison
    metrics = compute_metrics(result, None if baseline is None else compute_metrics(run_backtest(baseline, data)))
    print_report(result, metrics)
    if args.json_out:
        write_json(result, metrics, args.json_out)
        print(f"JSON report: {args.json_out}")
    if args.html_out:
        write_html(result, metrics, args.html_out, args.symbol)
        print(f"HTML report: {args.html_out}")
    return 0


def cmd_download(args: argparse.Namespace, config: Config) -> int:
    return run_download(args, config)


def parse_date(text: str | None) -> int | None:
    """UTC epoch ms of ``YYYY-MM-DD`` or an ISO datetime (naive = UTC); None for no text.
    Raises UsageError."""
    if not text:
        return None
    try:
        return parse_utc_ms(text)
    except ValueError as err:
        raise UsageError(str(err)) from None


def cmd_optimize(args: argparse.Namespace, config: Config) -> int:
    return run_optimize(args, config, parse_date(args.train_until), parse_date(args.start), parse_date(args.end))


COMMANDS = {
    "run": cmd_run,
    "backtest": cmd_backtest,
    "download": cmd_download,
    "signal": cmd_signal,
    "trades": cmd_trades,
    "stats": cmd_stats,
    "strategies": cmd_strategies,
    "control": cmd_control,
    "init-db": cmd_init_db,
    "optimize": cmd_optimize,
    "lookahead": run_lookahead,
    "orders": cmd_orders,
    **cli_ops.COMMANDS,
}
