"""Daybreak: a crypto spot day-trading bot. See README.md."""

__version__ = "0.1.0"
