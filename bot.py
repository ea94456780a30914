#!/usr/bin/env python3
"""Daybreak bot: `python bot.py --help` lists the subcommands (run, backtest, signal, trades, ...).

This file only wires the command line to the package; all logic lives in daybreak/, strategies/
and storage/.
"""

import sys

from daybreak.cli import main

if __name__ == "__main__":
    sys.exit(main())
