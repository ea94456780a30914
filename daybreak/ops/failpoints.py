"""Named crash points, for the crash tests: the bot kills itself (SIGKILL, no clean-up) at a
chosen step of an order's life, so a test can restart it and check that it reaches the
exchange's truth.

``DAYBREAK_FAILPOINT=<name>[:<n>]`` arms one point: the ``n``-th time (default: the first) the
code reaches ``failpoints.hit(<name>)`` the process sends itself SIGKILL. Unset (always, outside
tests), :meth:`Failpoints.hit` is one comparison. The points are listed in :data:`POINTS`.
"""

from __future__ import annotations

import logging
import os
import signal

log = logging.getLogger("daybreak")

ENV = "DAYBREAK_FAILPOINT"
POINTS = (
    "order.decided",  # the engine decided an order; nothing stored yet
    "order.intent_stored",  # the intent is durably stored; create_order not called yet
    "order.reply",  # the exchange answered; nothing of the answer stored yet
    "order.outcome_unknown",  # the reply was lost and the look-up failed: the order may exist
    "order.result_stored",  # the order's status, fill and fees are stored; the trade is not
    "order.trade_stored",  # the trade is stored; the position is not
    "order.position_stored",  # the position is stored; the order is not marked booked yet
    "order.booked",  # the order is marked booked
)


class Failpoints:
    """One armed point (or none) and how often it was reached."""

    def __init__(self, spec: str | None = None):
        self.name, self.nth, self.seen = None, 1, 0
        if spec:
            name, _, nth = spec.partition(":")
            if name not in POINTS:
                raise ValueError(f"{ENV} = {spec!r}: {name!r} is not one of {', '.join(POINTS)}")
            self.name, self.nth = name, int(nth or 1)

    @classmethod
    def from_env(cls) -> Failpoints:
        return cls(os.environ.get(ENV) or None)

    def hit(self, name: str) -> None:
        """Kill this process if ``name`` is the armed point reached for the ``n``-th time."""
        if name != self.name:
            return
        self.seen += 1
        if self.seen == self.nth:
            log.warning("failpoint %s reached: killing the process (SIGKILL)", name)
            for handler in logging.getLogger().handlers + log.handlers:
                handler.flush()
            os.kill(os.getpid(), signal.SIGKILL)
