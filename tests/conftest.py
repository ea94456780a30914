"""Shared pytest fixtures. Backend-specific fixtures live in their own modules (pytest_plugins)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SAMPLE_DIR = ROOT / "data" / "sample"

pytest_plugins = ["tests.fixtures_exchange", "tests.fixtures_dynamo"]

REQUIRE_TOOLS = os.environ.get("DAYBREAK_REQUIRE_TOOLS") == "1"
"""Set by ``make test``, which installs dynalite and Debian's chromium: a test that needs one of
them then fails with the reason instead of being skipped."""


def require_tool(path: Path | str, how: str) -> None:
    """Skip (plain pytest) or fail (``make test``) when the external tool ``path`` is missing."""
    if Path(path).exists():
        return
    message = f"{path} is missing: {how}"
    if REQUIRE_TOOLS:
        pytest.fail(message + " (make test installs it; the install step failed)", pytrace=False)
    pytest.skip(message)


@pytest.fixture
def sample_files() -> list[Path]:
    """The shipped real 1m candle files (BTC/USDT and ETH/USDT)."""
    return sorted(SAMPLE_DIR.glob("*_1m.csv.gz"))
