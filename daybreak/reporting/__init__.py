"""Backtest results, metrics, charts, report rendering and per-strategy stats."""
