"""The backtest report in three forms: a terminal table (rich), a JSON file, one HTML page.

All three show the same metrics from :func:`daybreak.report_metrics.compute_metrics`; the
terminal and the HTML page share :func:`report_tables`, so a value reads the same in both.
JSON: ``{"metrics": {...}, "trades": [...], "round_trips": [...]}`` where ``trades`` has the
fields of :meth:`storage.records.Trade.to_json` (``exit_reason`` included); ``nan`` becomes
``null``, ``inf``/``-inf`` the strings ``"inf"``/``"-inf"``, so the file is strict JSON.
The HTML page is self-contained: the Vega, Vega-Lite and vega-embed JavaScript is inlined
(from ``vl-convert-python``), so it opens offline and loads nothing from a CDN.
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from rich import box
from rich.columns import Columns
from rich.console import Console
from rich.table import Table as RichTable

from daybreak.ops.atomic_file import write_atomic
from daybreak.reporting.charts import chart_specs, vega_javascript
from daybreak.reporting.result import BacktestResult, round_trips

DASH = "—"


@dataclass(frozen=True)
class Table:
    """A report table as display strings: ``title``, column ``headers``, ``rows``."""

    title: str
    headers: tuple[str, ...]
    rows: list[tuple[str, ...]]


def fmt(value: Any, kind: str) -> str:
    """Display string of ``value``: ``ratio`` (fraction -> percent), ``money`` (2 decimals),
    ``price``/``amount`` (8 significant digits), ``num`` (2 decimals), ``int``, ``time`` (UTC ms ->
    ``YYYY-MM-DD HH:MM``), ``duration`` (ms -> ``3d 04:10``), ``text``. None/nan -> ``—``, inf -> ``∞``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return DASH
    if isinstance(value, float) and math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if kind == "ratio":
        return f"{value * 100:,.2f} %"
    if kind in ("money", "num"):
        return f"{value:,.2f}"
    if kind in ("price", "amount"):
        return f"{value:.8g}"
    if kind == "int":
        return f"{int(value):,}"
    if kind == "time":
        return datetime.fromtimestamp(value / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")
    if kind == "duration":
        minutes = int(value) // 60_000
        days, rest = divmod(minutes, 1440)
        return f"{days}d {rest // 60:02d}:{rest % 60:02d}" if days else f"{rest // 60:02d}:{rest % 60:02d}"
    return str(value)


SUMMARY: tuple[tuple[str, tuple[tuple[str, str, str], ...]], ...] = (
    (
        "Returns",
        (
            ("starting_balance", "Starting balance", "money"),
            ("final_equity", "Final equity", "money"),
            ("profit", "Profit (incl. open)", "money"),
            ("total_return_ratio", "Total return", "ratio"),
            ("cagr_ratio", "CAGR (365-day year)", "ratio"),
            ("buy_and_hold_return_ratio", "Buy & hold return", "ratio"),
            ("realized_pnl", "Realized P&L", "money"),
            ("exposure_ratio", "Exposure (time in market)", "ratio"),
        ),
    ),
    (
        "Trades",
        (
            ("trades", "Trades (round trips)", "int"),
            ("win_rate", "Win rate", "ratio"),
            ("avg_win", "Average win", "money"),
            ("avg_loss", "Average loss", "money"),
            ("best_trade_ratio", "Best trade", "ratio"),
            ("worst_trade_ratio", "Worst trade", "ratio"),
            ("profit_factor", "Profit factor", "num"),
            ("expectancy", "Expectancy", "money"),
            ("expectancy_ratio", "Expectancy (return)", "ratio"),
            ("sqn", "SQN (N capped at 100)", "num"),
            ("avg_duration_ms", "Average holding time", "duration"),
        ),
    ),
    (
        "Risk",
        (
            ("max_drawdown_ratio", "Max drawdown", "ratio"),
            ("max_drawdown_start", "Drawdown start (peak)", "time"),
            ("max_drawdown_trough", "Drawdown trough", "time"),
            ("max_drawdown_end", "Drawdown end (recovered)", "time"),
            ("max_drawdown_duration_ms", "Drawdown duration", "duration"),
            ("sharpe", "Sharpe (daily, ×√365)", "num"),
            ("sortino", "Sortino (daily, ×√365)", "num"),
            ("calmar", "Calmar (CAGR / max DD)", "num"),
        ),
    ),
    (
        "Costs",
        (
            ("fees_paid", "Fees paid", "money"),
            ("fees_to_gross_profit_ratio", "Fees / gross profit", "ratio"),
            ("fee_rate", "Fee rate", "ratio"),
            ("slippage_bps", "Slippage (bps)", "num"),
            ("fee_saving", "Fee saving vs market-only", "money"),
            ("profit_difference", "Profit vs market-only", "money"),
        ),
    ),
)
"""Summary sections: (title, ((metric key, label, format kind), ...))."""

_BREAKDOWN = (
    ("trades", "Trades", "int"),
    ("win_rate", "Win rate", "ratio"),
    ("pnl", "P&L", "money"),
    ("avg_return_ratio", "Avg return", "ratio"),
    ("fees", "Fees", "money"),
)


def _table(title: str, rows: list[dict], columns: tuple[tuple[str, str, str], ...]) -> Table:
    return Table(
        title,
        tuple(label for _, label, _ in columns),
        [tuple(fmt(row.get(key), kind) for key, _, kind in columns) for row in rows],
    )


def report_tables(metrics: dict) -> list[Table]:
    """Every report table, summary sections first, as display strings."""
    tables = []
    for title, rows in SUMMARY:
        tables.append(
            Table(title, ("Metric", "Value"), [(label, fmt(metrics.get(key), kind)) for key, label, kind in rows])
        )
    tables.append(
        _table(
            "Per symbol",
            metrics["by_symbol"],
            (("symbol", "Symbol", "text"), *_BREAKDOWN, ("buy_and_hold_return_ratio", "Buy & hold", "ratio")),
        )
    )
    tables.append(_table("Per strategy", metrics["by_strategy"], (("algo", "Strategy", "text"), *_BREAKDOWN)))
    tables.append(
        _table("Per exit reason", metrics["by_exit_reason"], (("exit_reason", "Exit reason", "text"), *_BREAKDOWN))
    )
    tables.append(
        _table(
            "Open at the end",
            metrics["open_positions"],
            (
                ("algo", "Strategy", "text"),
                ("symbol", "Symbol", "text"),
                ("amount", "Amount", "amount"),
                ("entry_price", "Entry price", "price"),
                ("entry_timestamp", "Entry (UTC)", "time"),
                ("mark_price", "Last close", "price"),
                ("unrealized_pnl", "Unrealized P&L", "money"),
                ("unrealized_ratio", "Unrealized", "ratio"),
            ),
        )
    )
    tables.append(
        _table(
            "Fees by order type",
            metrics["fees_by_order_type"],
            (
                ("order_type", "Order type", "text"),
                ("fills", "Fills", "int"),
                ("notional", "Notional", "money"),
                ("fees", "Fees", "money"),
                ("fee_bps", "Fee (bps)", "num"),
            ),
        )
    )
    tables.append(Table("Execution vs market-only", ("", "This run", "Market-only", "Difference"), _versus(metrics)))
    tables.append(
        _table(
            "Slippage per strategy",
            metrics["slippage_by_strategy"],
            (
                ("algo", "Strategy", "text"),
                ("fills", "Fills", "int"),
                ("avg_slippage_bps", "Avg slippage (bps)", "num"),
                ("slippage_cost", "Slippage cost", "money"),
            ),
        )
    )
    tables.append(
        _table(
            "Rejected signals",
            [{"rule": r, "count": n} for r, n in metrics["rejections"].items()],
            (("rule", "Rule", "text"), ("count", "Count", "int")),
        )
    )
    tables.append(
        _table(
            "Data gaps",
            metrics["gaps"],
            (
                ("symbol", "Symbol", "text"),
                ("first", "First missing (UTC)", "time"),
                ("last", "Last missing (UTC)", "time"),
                ("missing", "Missing candles", "int"),
            ),
        )
    )
    return tables


def _versus(metrics: dict) -> list[tuple[str, ...]]:
    """Fees, profit and trades of the run beside the market-only run of the same candles (no rows
    when the run is market-only itself)."""
    base = metrics.get("market_only")
    if not base:
        return []
    return [
        (label, fmt(metrics[key], kind), fmt(base[key], kind), fmt(metrics[key] - base[key], kind))
        for key, label, kind in (
            ("fees_paid", "Fees", "money"),
            ("profit", "Profit", "money"),
            ("trades", "Trades (round trips)", "int"),
        )
    ]


def _title(metrics: dict) -> str:
    return (
        f"Backtest {', '.join(metrics['symbols'])} · {metrics['timeframe']} · "
        f"{fmt(metrics['start'], 'time')} → {fmt(metrics['end'], 'time')} UTC · "
        f"{', '.join(metrics['algos'])}"
    )


def print_report(result: BacktestResult, metrics: dict, console: Console | None = None) -> None:
    """Print every report table to ``console`` (a ``rich.console.Console``; stdout by default).
    Empty tables print a one-line "none" instead of an empty grid."""

    def grid(table: Table) -> RichTable:
        out = RichTable(
            title=table.title, title_justify="left", title_style="bold", box=box.SIMPLE_HEAD, pad_edge=False
        )
        for i, header in enumerate(table.headers):
            out.add_column(header, justify="left" if i == 0 else "right", overflow="fold")
        for row in table.rows:
            out.add_row(*row)
        return out

    console = console or Console()
    console.rule(_title(metrics))
    tables = report_tables(metrics)
    console.print(Columns([grid(t) for t in tables[: len(SUMMARY)]]))
    for table in tables[len(SUMMARY) :]:
        console.print(grid(table) if table.rows else f"[bold]{table.title}[/bold]: none")


def to_jsonable(value: Any) -> Any:
    """``value`` with numpy scalars as Python numbers, ``nan`` as None and ``±inf`` as ``"inf"``/
    ``"-inf"`` (recursively through dicts, lists and tuples), ready for strict JSON."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
    return value


def write_json(result: BacktestResult, metrics: dict, path: str | Path) -> None:
    """Write ``{"metrics", "trades", "round_trips"}`` (see the module docstring) to ``path``."""
    payload = {
        "metrics": metrics,
        "trades": [t.to_json() for t in result.trades],
        "round_trips": round_trips(result.trades, result.markets).to_dict(orient="records"),
    }
    text = json.dumps(to_jsonable(payload), allow_nan=False, indent=1, ensure_ascii=False)
    _write_text(path, text + "\n")


def _write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` as UTF-8, atomically (never half a file)."""

    def write(fh: BinaryIO) -> None:
        fh.write(text.encode("utf-8"))

    write_atomic(path, write)


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.5rem auto;max-width:1200px;
color:#222;padding:0 1rem}h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}
.grid{display:flex;flex-wrap:wrap;gap:1.5rem}table{border-collapse:collapse;font-size:.9rem}
caption{text-align:left;font-weight:600;padding:.3rem 0}th,td{padding:.2rem .6rem;border-bottom:1px solid #ddd}
td{text-align:right}td:first-child,th:first-child{text-align:left}th{background:#f4f4f4}
.chart{width:100%}.none{color:#777}
"""


def _html_table(table: Table) -> str:
    if not table.rows:
        return f'<p><b>{html.escape(table.title)}</b>: <span class="none">none</span></p>'
    head = "".join(f"<th>{html.escape(h)}</th>" for h in table.headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in table.rows)
    return f"<table><caption>{html.escape(table.title)}</caption><tr>{head}</tr>{body}</table>"


def _script_json(value: Any) -> str:
    """JSON safe to place inside a <script> element."""
    return json.dumps(to_jsonable(value), allow_nan=False).replace("</", "<\\/")


def vega_scripts(specs: dict[str, dict]) -> tuple[str, str]:
    """The two ``<script>`` elements of a self-contained page of Vega-Lite charts: the vega,
    vega-lite and vega-embed bundle inlined (for ``<head>``, so the page works offline), and the
    one that draws each of ``specs`` (element id -> spec) into its element (for the end of
    ``<body>``; a chart that fails shows its error in its place)."""
    bundle = f"<script>/* vega, vega-lite and vega-embed, inlined so that the page works offline */\n{vega_javascript()}\n</script>"
    embed = f"""<script>
const specs = {_script_json(specs)};
for (const [id, spec] of Object.entries(specs)) {{
  vegaEmbed("#" + id, spec, {{actions: false, renderer: "canvas"}})
    .catch(err => {{ document.getElementById(id).textContent = "chart error: " + err; }});
}}
</script>"""
    return bundle, embed


def write_html(result: BacktestResult, metrics: dict, path: str | Path, symbol: str | None = None) -> None:
    """Write the report as one self-contained HTML page: summary tables, equity curve, drawdown,
    ``symbol``'s candles with trade markers (default: the first symbol), then the per-symbol,
    per-strategy, per-exit-reason, open-position, rejection and gap tables.

    Raises ValueError when ``symbol`` is not one of the backtest's symbols.
    """
    symbols = sorted(result.candles)
    if not symbols:
        raise ValueError("result.candles is empty: the report needs the candles of at least one symbol")
    symbol = symbol or symbols[0]
    if symbol not in result.candles:
        raise ValueError(f"symbol {symbol!r} is not in this backtest (symbols: {', '.join(symbols)})")
    quotes = {s.split("/")[-1] for s in symbols}
    specs = chart_specs(result, symbol, quotes.pop() if len(quotes) == 1 else "quote")
    tables = report_tables(metrics)
    summary, details = tables[: len(SUMMARY)], tables[len(SUMMARY) :]
    charts = "".join(
        f'<h2>{html.escape(title)}</h2><div id="{cid}" class="chart"></div>'
        for cid, title in (("equity", "Equity"), ("drawdown", "Drawdown"), ("candles", f"Candles and fills: {symbol}"))
    )
    bundle, embed = vega_scripts(specs)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(_title(metrics))}</title>
<style>{_CSS}</style>
{bundle}</head><body>
<h1>{html.escape(_title(metrics))}</h1>
<div class="grid">{"".join(_html_table(t) for t in summary)}</div>
{charts}
<h2>Breakdown</h2>
<div class="grid">{"".join(_html_table(t) for t in details)}</div>
<p class="none">Formulas: docs/backtest-metrics.md. Times are UTC.</p>
{embed}
</body></html>
"""
    _write_text(path, page)
