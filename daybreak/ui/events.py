"""Recent events ("why it didn't trade"): rejected signals and orders, control acknowledgements,
errors, each with the rule that fired and its numbers, filterable by rule.

Frame shown: ``time`` (UTC), ``kind``, ``rule``, ``strategy``, ``symbol``, ``message``,
``data`` (the rule's numbers as JSON).
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable

import pandas as pd
import streamlit as st

from daybreak.core.domain import Event
from daybreak.ui.fmt import utc

ALL = "All"
SCAN = 1000
"""How many recent events are scanned for the list of rules to filter by."""


def events_frame(events: Iterable[Event]) -> pd.DataFrame:
    """Events in the order given (the store returns newest first)."""
    rows = [{"time": utc(e.timestamp), "kind": e.kind, "rule": e.rule, "strategy": e.algo, "symbol": e.symbol,
             "message": e.message, "data": json.dumps(e.data, default=str) if e.data else ""} for e in events]
    return pd.DataFrame(rows, columns=["time", "kind", "rule", "strategy", "symbol", "message", "data"])


def render(load_events: Callable[[str | None, int], list[Event]]) -> None:
    """Draw the events section. ``load_events(rule, limit)`` returns newest first."""
    st.subheader("Recent events: why it didn't trade")
    recent = load_events(None, SCAN)
    rules = sorted({e.rule for e in recent if e.rule})
    rule = st.selectbox("Reason (rule)", [ALL, *rules], key="events_rule")
    shown = recent[:200] if rule == ALL else load_events(rule, 200)
    if not shown:
        st.caption("No events stored yet.")
        return
    counts = pd.Series([e.rule or e.kind for e in recent]).value_counts()
    st.caption("Last %d events by reason: %s" % (len(recent), ", ".join(f"{k} {v}" for k, v in counts.items())))
    st.dataframe(events_frame(shown), hide_index=True, width="stretch")
