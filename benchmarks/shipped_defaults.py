"""Walk-forward research behind the shipped defaults (config.json ``risk_overrides``, docs/strategies.md).

For every registered strategy: its exit profile (``PROFILES``, pinned with ``--space KEY=V``), a
walk-forward search of its params on the shared 2021 1m BTC/USDT and ETH/USDT candles
(``../shared/data``, never the held-out sets), through ``bot.py optimize`` itself. Prints each
command and a Markdown table of the out-of-sample results; the JSON reports go to ``reports/``.

Usage: ``python benchmarks/shipped_defaults.py [--trials 30] [--folds 3] [--only NAME ...]``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
FILES = [DATA / "BTC-USDT_1m.csv", DATA / "ETH-USDT_1m.csv"]
LIQUIDATION = ["risk.take_profit_ratio=0.0035", "risk.stop_loss_ratio=0.0045", "risk.time_stop_seconds=150"]
LONGER = ["risk.stop_loss_ratio=0.01,0.02,0.03", "risk.time_stop_seconds=off"]
PLAYBOOK = ["risk.take_profit_ratio=0.06", "risk.stop_loss_ratio=0.03", "risk.time_stop_seconds=off"]
PROFILES = {
    "Momentum_Chase": PLAYBOOK,
    "ATR_Expansion": LIQUIDATION,
    "Volume_Breakout": LIQUIDATION,
    "Bollinger_Squeeze": LIQUIDATION,
    "RSI_Reversion": LIQUIDATION,
    "Confluence": LIQUIDATION,
    "MA_Crossover": LONGER,
    "EMA_Crossover_Volume": LONGER,
    "MACD_Crossover": LONGER,
    "Donchian_Breakout": LONGER,
    "RSI_Divergence": LONGER,
}


def command(name: str, trials: int, folds: int, config: Path) -> list[str]:
    return [
        "bot.py",
        "optimize",
        "--config",
        str(config),
        "--strategy",
        name,
        "--data",
        *[f"../shared/data/{f.name}" for f in FILES],
        "--walk-forward",
        str(folds),
        "--trials",
        str(trials),
        "--objective",
        "sharpe",
        "--min-trades",
        "3",
        "--seed",
        "1",
        "--jobs",
        "1",
        "--mc-runs",
        "500",
        "--space",
        *PROFILES[name],
        "--json",
        f"reports/defaults/{name}.json",
    ]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=30)
    ap.add_argument("--folds", type=int, default=3)
    ap.add_argument("--only", nargs="*")
    args = ap.parse_args()
    if not all(f.exists() for f in FILES):
        print(f"skipped: {FILES[0].parent} is missing")
        return 0
    (ROOT / "reports" / "defaults").mkdir(parents=True, exist_ok=True)
    config = ROOT / "reports" / "defaults" / "config.json"
    raw = json.loads((ROOT / "config.json").read_text())
    raw["storage"] = {"backend": "sqlite", "path": "reports/defaults/research.db"}
    raw["symbols"] = ["BTC/USDT", "ETH/USDT"]
    config.write_text(json.dumps(raw, indent=2))
    rows = []
    for name in args.only or sorted(PROFILES):
        cmd = command(name, args.trials, args.folds, config.relative_to(ROOT))
        print("$ python " + shlex.join(cmd), flush=True)
        done = subprocess.run([sys.executable, *cmd], cwd=ROOT, capture_output=True, text=True)
        if done.returncode:
            print(done.stderr[-2000:])
            continue
        report = json.loads((ROOT / f"reports/defaults/{name}.json").read_text())
        wf = report["walk_forward"]
        oos = wf["oos"]
        rows.append(
            (
                name,
                oos["return_ratio"],
                oos["max_drawdown_ratio"],
                oos["trades"],
                f"{oos['profitable_folds']}/{oos['folds']}",
                wf["efficiency"],
                report.get("patch"),
            )
        )
        print(
            f"  {name}: OOS return {oos['return_ratio']}, max DD {oos['max_drawdown_ratio']}, trades {oos['trades']}, "
            f"profitable folds {oos['profitable_folds']}/{oos['folds']}, WFE {wf['efficiency']}",
            flush=True,
        )
    print("\n| strategy | OOS return | OOS max DD | OOS trades | profitable folds | WFE | last fold's patch |")
    print("|---|---|---|---|---|---|---|")
    for name, ret, dd, n, pf, wfe, patch in rows:
        fmt = lambda v: "—" if v is None or v != v else f"{v * 100:.2f} %"  # noqa: E731
        print(
            f"| {name} | {fmt(ret)} | {fmt(dd)} | {n} | {pf} | {'—' if wfe is None or wfe != wfe else f'{wfe:.2f}'} | "
            f"`{json.dumps(patch, separators=(',', ':'))}` |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
