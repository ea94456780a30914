"""round_amount's float shortcut gives exactly what the Decimal rule gives (the rule traders and
the exchange's LOT_SIZE filter rely on), on random amounts and on amounts at step boundaries."""

from __future__ import annotations

import math
import random

import pytest

from daybreak.core.markets import MarketLimits, _floor_to_step_decimal

STEPS = [1e-8, 1e-5, 0.00001, 0.0001, 0.001, 0.01, 0.1, 1.0, 10.0, 0.5, 0.25, 0.0005, 3e-7, 100.0, 1e-2 * 3, 0.07]


def _limits(step: float) -> MarketLimits:
    return MarketLimits("BTC/USDT", amount_step=step, price_tick=0.01, min_amount=0.0, min_notional=0.0)


def _cases(step: float, rng: random.Random):
    for _ in range(3000):
        yield step * rng.uniform(0, 2e6) * 10 ** rng.uniform(-3, 0)  # any amount
        n = rng.randrange(0, 2_000_000)
        yield n * step  # on a step (float product: often a hair off)
        yield float(f"{n * step:.12g}")  # on a step as a trader types it
        on = n * step
        for k in range(1, 4):  # a few ulps either side of a step
            yield math.nextafter(on, math.inf) if k == 1 else on + k * math.ulp(on)
            yield max(math.nextafter(on, 0.0), 0.0) if k == 1 else on - k * math.ulp(on)
        yield on * (1 + 1e-9) if on else step * 1e-9  # at the 1e-9-step tolerance
        yield on * (1 - 1e-9)


@pytest.mark.parametrize("step", STEPS)
def test_round_amount_equals_the_decimal_rule(step):
    rng = random.Random(f"round-{step}")
    limits = _limits(step)
    for amount in _cases(step, rng):
        if amount <= 0:
            continue
        assert limits.round_amount(amount) == _floor_to_step_decimal(amount, step), (amount, step)


def test_round_amount_of_huge_amounts_uses_the_decimal_rule():
    limits = _limits(1e-8)
    for amount in (1e9, 123456789.123456789, 9.87654321e14, 1e20):
        assert limits.round_amount(amount) == _floor_to_step_decimal(amount, 1e-8)
