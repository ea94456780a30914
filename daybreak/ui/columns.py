"""Column settings of the dashboard's tables: headers in words, money with 2 decimals, ratios as
percentages, counts as integers. Frames keep their snake_case keys and numeric values (tests and
CSV downloads read those); only the display changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from daybreak.ui.fmt import MONEY, PERCENT, words

if TYPE_CHECKING:
    import pandas as pd
    from streamlit.elements.lib.column_types import ColumnConfig


def text(label: str) -> ColumnConfig:
    return st.column_config.TextColumn(label)


def money(label: str, quote: str) -> ColumnConfig:
    """A quote-currency column: ``Label (USDT)``, 2 decimals."""
    return st.column_config.NumberColumn(f"{label} ({quote})", format=MONEY)


def percent(label: str) -> ColumnConfig:
    """A ratio column holding ``ratio x 100`` (see :func:`as_percent`), shown ``5.26 %``."""
    return st.column_config.NumberColumn(label, format=PERCENT)


def count(label: str) -> ColumnConfig:
    return st.column_config.NumberColumn(label, format="%d")


def as_percent(values: pd.Series) -> pd.Series:
    """Ratios (fractions) as percentage numbers for a :func:`percent` column."""
    return values * 100.0


def in_words(keys, **labels):
    """A column_config giving every column key a header in words (``client_order_id`` ->
    ``Client order id``), ``labels`` (key -> header) where the words need help."""
    return {k: st.column_config.Column(labels.get(k) or words(k)) for k in keys}
