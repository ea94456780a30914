"""Shared pytest fixtures. Backend-specific fixtures live in their own modules (pytest_plugins)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SAMPLE_DIR = ROOT / "data" / "sample"

pytest_plugins = ["tests.fixtures_exchange", "tests.fixtures_dynamo"]


@pytest.fixture
def sample_files() -> list[Path]:
    """The shipped real 1m candle files (BTC/USDT and ETH/USDT)."""
    return sorted(SAMPLE_DIR.glob("*_1m.csv.gz"))
