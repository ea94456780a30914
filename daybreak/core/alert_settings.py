"""The ``notify`` section of ``config.json``: which operator alerts go out, and how often.

Pure settings (no I/O): :mod:`daybreak.ops.notify` sends what they allow. Targets (apprise URLs)
are never here; they carry tokens and come from ``DAYBREAK_NOTIFY_URLS`` or the Secrets Manager
secret's ``notify_urls`` key.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, field_validator


class EventKind(StrEnum):
    """What happened. The value is the name used in config (``notify.events``) and in messages."""

    FILL_ENTRY = "fill_entry"
    FILL_EXIT = "fill_exit"
    STOP_HIT = "stop_hit"
    RISK_LIMIT_TRIPPED = "risk_limit_tripped"
    RISK_LIMIT_LIFTED = "risk_limit_lifted"
    CONTROL = "control"
    STATE_ERROR = "state_error"
    EXCHANGE_DOWN = "exchange_down"
    STORAGE_TROUBLE = "storage_trouble"
    RECONCILIATION_MISMATCH = "reconciliation_mismatch"
    DAILY_SUMMARY = "daily_summary"
    TEST = "test"


class NotifySettings(BaseModel):
    """The ``notify`` section (default: every event kind on).

    Types are strict: ``"true"`` or ``1`` is not a bool, ``True`` or ``"5"`` not a number (an int is
    accepted for a float field). Unknown keys are rejected. Raises ``pydantic.ValidationError``.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    enabled: StrictBool = Field(True, description="Send alerts at all")
    events: list[EventKind] = Field(default_factory=lambda: list(EventKind), description="Kinds that are sent")
    rate_limit_per_kind: StrictInt = Field(5, ge=1, le=1000, description="Messages of one kind per window")
    rate_window_seconds: StrictFloat = Field(60.0, gt=0, le=86_400, description="Rate-limit window, seconds")
    dedupe_seconds: StrictFloat = Field(
        300.0, ge=0, le=86_400, description="Same kind and key within this many seconds sends once; 0 = off"
    )
    alert_exchange_down_seconds: StrictFloat = Field(
        60.0, ge=0, le=86_400, description="Alert once the exchange has been unreachable this long (wall clock)"
    )

    @field_validator("events")
    @classmethod
    def _unique(cls, value: list[EventKind]) -> list[EventKind]:
        if len(set(value)) != len(value):
            raise ValueError("an event kind is listed twice")
        return value
