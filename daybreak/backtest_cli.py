"""``bot.py backtest``: load candle files, run :func:`daybreak.backtest.run_backtest`, report."""
from __future__ import annotations

from daybreak.settings import Config


def run_backtest_command(args, config: Config) -> int:
    """Print the terminal report; write ``--json`` / ``--html`` when asked. Returns the exit code."""
    from daybreak.backtest import run_backtest
    from daybreak.cli import parse_date
    from daybreak.replay import load_files

    data = load_files(args.data, config, parse_date(args.start), parse_date(args.end))
    if not any(len(df) for df in data.frames.values()):
        print("error: no candles in the selected span")
        return 2
    result = run_backtest(config, data)
    from daybreak.report_metrics import compute_metrics
    from daybreak.report_render import print_report, write_html, write_json

    metrics = compute_metrics(result)
    print_report(result, metrics)
    if args.json_out:
        write_json(result, metrics, args.json_out)
        print(f"JSON report: {args.json_out}")
    if args.html_out:
        write_html(result, metrics, args.html_out, args.symbol)
        print(f"HTML report: {args.html_out}")
    return 0
