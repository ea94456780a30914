"""The report of ``bot.py optimize`` as a terminal table, a JSON file and one self-contained HTML page.

All three read the report dict of :mod:`daybreak.drivers.research` and show the same tables
(:func:`optimize_tables`). The HTML page adds Altair charts: the optimisation history (each
trial's in-sample score and the best so far), the parameter importances, in- vs out-of-sample
scores (with a test span) and the concatenated out-of-sample equity (walk-forward). The Vega
JavaScript is inlined, as in the backtest report, so the page opens offline.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import altair as alt
import pandas as pd
from rich.console import Console
from rich.table import Table as RichTable

from daybreak.reporting.render import _CSS, Table, _html_table, fmt, to_jsonable, vega_scripts

METRIC_COLUMNS = (
    ("trades", "int"),
    ("total_return_ratio", "ratio"),
    ("sharpe", "num"),
    ("max_drawdown_ratio", "ratio"),
)
"""Metrics shown per window in the best-trials and fold tables (the JSON has them all)."""
_SHORT = {
    "trades": "trades",
    "total_return_ratio": "return",
    "sharpe": "sharpe",
    "max_drawdown_ratio": "max DD",
    "win_rate": "win rate",
    "profit_factor": "PF",
}


def _metric_cells(metrics: dict | None) -> tuple[str, ...]:
    metrics = metrics or {}
    return tuple(fmt(metrics.get(k), kind) for k, kind in METRIC_COLUMNS)


def _params(params: dict) -> str:
    return " ".join(f"{k.split('.', 1)[1]}={_short(v)}" for k, v in params.items())


def _short(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def optimize_tables(report: dict) -> list[Table]:
    """The report's tables as display strings (terminal and HTML alike)."""
    windows = [
        w
        for w in ("train", "test", "all")
        if w in (report.get("windows") or {}) or any(w in row for row in report.get("best", []))
    ]
    windows = [w for w in windows if any(row.get(w) for row in report.get("best", []))]
    s = report["settings"]
    counts = report.get("trials") or {}
    head: list[tuple[str, ...]] = [
        ("strategy", s["strategy"]),
        ("study", report.get("study") or "—"),
        ("storage", report.get("storage", "")),
        (
            "objectives",
            ", ".join(f"{o} ({d})" for o, d in zip(s["objectives"], report.get("directions", []), strict=False)),
        ),
        ("trials", ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) or "0"),
        ("this run", _run_line(report.get("run") or {})),
        (
            "data",
            f"{', '.join(report['data']['symbols'])} {report['data']['timeframe']} "
            f"{fmt(report['data']['start'], 'time')} → {fmt(report['data']['end'], 'time')}",
        ),
    ]
    for name, (a, b) in (report.get("windows") or {}).items():
        head.append((f"window {name}", f"{fmt(a, 'time') if a else 'start'} → {fmt(b, 'time') if b else 'end'}"))
    tables = [Table("Study", ("", ""), head)]
    headers = ("#", "objective", "params", *(f"{w} {_SHORT[k]}" for w in windows for k, _ in METRIC_COLUMNS))
    rows = [
        (
            str(r["number"]),
            ", ".join(fmt(v, "num") for v in r["values"]),
            _params(r["params"]),
            *[c for w in windows for c in _metric_cells(r.get(w))],
        )
        for r in report.get("best", [])
    ]
    tables.append(Table("Best trials", headers, rows))
    imp = report.get("importances") or {}
    tables.append(
        Table("Parameter importances", ("param", "importance"), [(k, fmt(v, "ratio")) for k, v in imp.items()])
    )
    dsr = report.get("deflated_sharpe")
    if dsr:
        tables.append(
            Table(
                "Deflated Sharpe ratio (winner, in sample)",
                ("", ""),
                [
                    ("Sharpe per day", fmt(dsr["sharpe"], "num")),
                    ("expected max of the trials (SR0)", fmt(dsr["expected_max_sharpe"], "num")),
                    ("trials", fmt(dsr["trials"], "int")),
                    ("daily returns", fmt(dsr["observations"], "int")),
                    ("DSR: P(true Sharpe > SR0)", fmt(dsr["probability"], "ratio")),
                    ("verdict", _verdict(dsr["probability"])),
                ],
            )
        )
    for key, title in (("monte_carlo", "Monte Carlo of the winner's trades"),):
        mc = report.get(key)
        if mc:
            tables.append(_mc_table(mc, f"{title} ({mc.get('window', '')})"))
    wf = report.get("walk_forward")
    if wf:
        rows = []
        for f in wf["folds"]:
            rows.append(
                (
                    str(f["fold"]),
                    fmt(f["test"][0], "time"),
                    _params(f.get("params") or {}) or "no valid trial",
                    *_metric_cells(f.get("train_metrics"))[:3],
                    *_metric_cells(f.get("test_metrics")),
                )
            )
        tables.append(
            Table(
                "Walk-forward folds (chosen in train, run on test)",
                (
                    "fold",
                    "test from",
                    "params",
                    "train trades",
                    "train return",
                    "train sharpe",
                    *[f"test {_SHORT[k]}" for k, _ in METRIC_COLUMNS],
                ),
                rows,
            )
        )
        oos = wf["oos"]
        tables.append(
            Table(
                "Walk-forward out of sample",
                ("", ""),
                [
                    ("concatenated return", fmt(oos["return_ratio"], "ratio")),
                    ("max drawdown", fmt(oos["max_drawdown_ratio"], "ratio")),
                    ("trades", fmt(oos["trades"], "int")),
                    ("profitable folds", f"{oos['profitable_folds']} of {oos['folds']}"),
                    ("walk-forward efficiency", fmt(wf["efficiency"], "num")),
                ],
            )
        )
        tables.append(_mc_table(wf["oos_monte_carlo"], "Monte Carlo of the out-of-sample trades"))
    return tables


def _verdict(p: float | None) -> str:
    if p is None or p != p:
        return "undefined (too few daily returns)"
    return "significant (DSR >= 95 %)" if p >= 0.95 else "may be luck (DSR < 95 %)"


def _mc_table(mc: dict, title: str) -> Table:
    rows: list[tuple[str, ...]] = [
        ("trades", fmt(mc["trades"], "int")),
        ("runs", fmt(mc["runs"], "int")),
        (
            "original return / max DD",
            f"{fmt(mc['original']['return_ratio'], 'ratio')} / {fmt(mc['original']['max_drawdown_ratio'], 'ratio')}",
        ),
    ]
    for name in ("shuffle", "bootstrap"):
        d = mc.get(name) or {}
        if d:
            for metric, label in (("return_ratio", "return"), ("max_drawdown_ratio", "max DD")):
                p = d[metric]
                rows.append(
                    (f"{name} {label} p5 / p50 / p95", " / ".join(fmt(p[k], "ratio") for k in ("p5", "p50", "p95")))
                )
            rows.append((f"{name} P(loss)", fmt(d["loss_probability"], "ratio")))
    return Table(title, ("", ""), rows)


def print_optimize_report(report: dict, console: Console | None = None) -> None:
    """Print the tables (at least 160 columns wide, so that the trial rows stay readable) and the patch."""
    console = console or Console(width=max(160, Console().width))
    for t in optimize_tables(report):
        if not t.rows:
            console.print(f"[bold]{t.title}[/bold]: none")
            continue
        grid = RichTable(title=t.title, title_justify="left", show_header=bool(t.headers[0]))
        for h in t.headers:
            grid.add_column(h, overflow="fold")
        for row in t.rows:
            grid.add_row(*row)
        console.print(grid)
    if report.get("patch"):
        console.print("[bold]Config patch[/bold] (paste into config.json, or run again with --apply):")
        console.print(json.dumps(report["patch"], indent=2), markup=False, highlight=False)


def write_optimize_json(report: dict, path: str | Path) -> None:
    """The report as strict JSON (nan -> null, inf -> "inf")."""
    Path(path).write_text(json.dumps(to_jsonable(report), allow_nan=False, indent=1) + "\n", encoding="utf-8")


def chart_specs(report: dict) -> dict[str, dict]:
    """Vega-Lite specs by element id: ``history``, ``importances``, ``is_oos``, ``oos_equity``
    (only those the report has data for)."""
    specs: dict[str, dict] = {}
    hist = pd.DataFrame([r for r in report.get("history", []) if r["score"] is not None and _finite(r["score"])])
    if len(hist):
        maximize = report.get("directions", ["maximize"])[0] == "maximize"
        hist = hist.sort_values("number")
        hist["best"] = hist["score"].cummax() if maximize else hist["score"].cummin()
        base = alt.Chart(hist).encode(x=alt.X("number:Q", title="trial"))
        specs["history"] = (
            (
                base.mark_circle(opacity=0.5).encode(
                    y=alt.Y("score:Q", title="in-sample objective"), tooltip=["number", "score", "test"]
                )
                + base.mark_line(color="#d62728").encode(y="best:Q")
            )
            .properties(width="container", height=260)
            .to_dict()
        )
        both = hist.dropna(subset=["test"])
        both = both[both["test"].map(_finite)]
        if len(both):
            specs["is_oos"] = (
                alt.Chart(both)
                .mark_circle()
                .encode(
                    x=alt.X("score:Q", title="in-sample objective"),
                    y=alt.Y("test:Q", title="out-of-sample objective"),
                    tooltip=["number", "score", "test"],
                )
                .properties(width="container", height=300)
                .to_dict()
            )
    imp = report.get("importances") or {}
    if imp:
        frame = pd.DataFrame({"param": list(imp), "importance": list(imp.values())})
        specs["importances"] = (
            alt.Chart(frame)
            .mark_bar()
            .encode(x=alt.X("importance:Q", axis=alt.Axis(format="%")), y=alt.Y("param:N", sort="-x"))
            .properties(width="container", height=30 * len(frame) + 20)
            .to_dict()
        )
    wf = report.get("walk_forward") or {}
    if wf.get("oos_equity"):
        frame = pd.DataFrame(wf["oos_equity"], columns=["time", "equity"])
        specs["oos_equity"] = (
            alt.Chart(frame)
            .mark_line()
            .encode(
                x=alt.X("time:T", scale=alt.Scale(type="utc"), title=None),
                y=alt.Y("equity:Q", scale=alt.Scale(zero=False)),
            )
            .properties(width="container", height=260)
            .to_dict()
        )
    return specs


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and v == v and abs(v) != float("inf")


_CHART_TITLES = {
    "history": "Optimisation history (red: best so far)",
    "importances": "Parameter importances",
    "is_oos": "In-sample vs out-of-sample objective, every trial",
    "oos_equity": "Walk-forward: concatenated out-of-sample equity",
}


def write_optimize_html(report: dict, path: str | Path) -> None:
    """One self-contained page: the tables of :func:`optimize_tables`, the charts of
    :func:`chart_specs` and the config patch."""
    title = f"Daybreak optimize: {report['settings']['strategy']} ({report.get('study') or ''})"
    specs = chart_specs(report)
    charts = "".join(f'<h2>{html.escape(_CHART_TITLES[k])}</h2><div id="{k}" class="chart"></div>' for k in specs)
    tables = "".join(_html_table(t) for t in optimize_tables(report))
    patch = html.escape(json.dumps(report.get("patch"), indent=2)) if report.get("patch") else "none"
    bundle, embed = vega_scripts(specs)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{_CSS}pre{{background:#f4f4f4;padding:.6rem}}</style>
{bundle}</head><body>
<h1>{html.escape(title)}</h1>
<div class="grid">{tables}</div>
{charts}
<h2>Config patch</h2><pre>{patch}</pre>
<p class="none">Every trial is a full backtest. Metrics: docs/backtest-metrics.md; method: docs/optimize.md. Times are UTC.</p>
{embed}
</body></html>
"""
    Path(path).write_text(page, encoding="utf-8")


def _run_line(run: dict) -> str:
    """``N trials in S s (R/s)``: the trials this command ran and the wall time of running them
    (asking, backtesting, telling, writing the study; not loading the data or the report)."""
    n, seconds = run.get("trials") or 0, run.get("seconds") or 0.0
    if not n:
        return "no new trials"
    return f"{n} trials in {seconds:.1f} s ({n / seconds:.1f}/s)" if seconds > 0 else f"{n} trials"
