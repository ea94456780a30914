"""Daybreak dashboard: ``streamlit run dashboard.py -- --config config.json`` (port 8501).

Reads storage only (never the exchange), edits ``config.json`` through the bot's own validated
model, and asks the bot for actions (pause, resume, flatten) by writing control records. The
config path comes from ``--config`` after ``--``, else ``$DAYBREAK_CONFIG``, else ``config.json``.
The page itself lives in :mod:`daybreak.ui`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from daybreak.ui.app import main  # noqa: E402
from daybreak.ui.launch import config_path  # noqa: E402

main(config_path(sys.argv[1:], os.environ))
