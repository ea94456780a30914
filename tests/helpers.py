"""Test helpers: temporary configs and running bot.py as a trader would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = sorted((ROOT / "data" / "sample").glob("*_1m.csv.gz"))


def write_config(tmp_path: Path, **overrides) -> Path:
    """A config.json in ``tmp_path`` with a SQLite store there; keys in ``overrides`` replace."""
    cfg = {
        "symbols": ["BTC/USDT", "ETH/USDT"],
        "algos": {"MA_Crossover": True},
        "params": {"MA_Crossover": {"short_period": 50, "long_period": 200}},
        "external_signals": True,
        "order_size": {"BTC/USDT": {"amount": 0.001}, "ETH/USDT": {"amount": 0.03}},
        "paper": {"fee_rate": 0.001, "slippage_bps": 5, "starting_balance": 10000},
        "storage": {"backend": "sqlite", "path": str(tmp_path / "daybreak.db")},
        "log": {"path": str(tmp_path / "daybreak.log"), "level": "INFO"},
        "risk": {},
    }
    cfg.update(overrides)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg, indent=2))
    return path


def bot(*args: str, timeout: float = 300, check: bool = False) -> subprocess.CompletedProcess:
    """Run ``python bot.py ARGS`` from the repo root; returns the completed process."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bot.py"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"bot.py {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def trades_json(config: Path) -> list[dict]:
    return json.loads(bot("trades", "--format", "json", "--config", str(config), check=True).stdout)


def run_cli(*argv: str) -> tuple[int, str, str]:
    """``daybreak.cli.main(argv)`` in this process: (exit code, stdout, stderr). The ``daybreak``
    logger and the SIGINT/SIGTERM handlers ``run`` installs are put back afterwards."""
    import io
    import logging
    import signal
    from contextlib import redirect_stderr, redirect_stdout

    from daybreak import cli

    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    out, err = io.StringIO(), io.StringIO()
    try:
        with redirect_stdout(out), redirect_stderr(err):
            code = cli.main(list(argv))
    finally:
        for s, h in handlers.items():
            signal.signal(s, h)
        logger = logging.getLogger("daybreak")
        for h in list(logger.handlers):
            h.close()
        logger.handlers.clear()
        logger.propagate = True
    return code, out.getvalue(), err.getvalue()


def assert_clean_refusal(code: int, err: str, *names: str) -> None:
    """Exit 2 with exactly one stderr line ``error: ...`` naming each of ``names``; no traceback."""
    assert "Traceback" not in err, err
    assert code == 2, (code, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for name in names:
        assert name in lines[0], (name, lines[0])
