"""Where the dashboard finds ``config.json``.

``streamlit run dashboard.py -- --config PATH`` hands the script ``sys.argv`` = ``[script,
"--config", PATH]``. Precedence: ``--config`` on the command line, else the environment variable
``DAYBREAK_CONFIG``, else ``config.json`` (relative to the working directory, like ``bot.py``).
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from pathlib import Path

from daybreak.core.config import DEFAULT_CONFIG_PATH

ENV_VAR = "DAYBREAK_CONFIG"


def config_path(argv: Sequence[str], environ: Mapping[str, str]) -> Path:
    """The config path from ``argv`` (script arguments, without the script name) and ``environ``.

    Arguments other than ``--config`` are ignored (under ``AppTest`` the argv is pytest's own);
    arguments after a literal ``--`` are preferred when one is present.
    """
    args = list(argv)
    if "--" in args:
        args = args[args.index("--") + 1 :]
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--config", default=None)
    known, _ = parser.parse_known_args(args)
    return Path(known.config or environ.get(ENV_VAR) or DEFAULT_CONFIG_PATH)
