"""The values built with :func:`daybreak.core.values.built_unfrozen` are the frozen dataclasses they
are declared as, and building one gives what the dataclass-generated ``__init__`` gives."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import math
import pickle
from dataclasses import dataclass

import pytest

from daybreak.core.domain import Action, ExitReason, Fill, Mode, Order, Signal, Trade
from daybreak.core.engine import Declined, SignalOutcome
from daybreak.core.risk import Rejection
from daybreak.core.values import GENERATED_INIT, built_unfrozen

ORDER = Order("db-1", "MA", "BTC/USDT", Action.SELL, 0.5, 1_000, ExitReason.STOP_LOSS, "limit", 101.5, 100.0)
# each class with positional arguments for every field, and with the required ones only
CASES = [
    (
        Signal,
        ("MA", "BTC/USDT", Action.SELL, 60_000, ExitReason.SIGNAL, 0.25, "sig-1"),
        ("MA", "ETH/USDT", Action.BUY, 1),
    ),
    (
        Order,
        tuple(getattr(ORDER, f.name) for f in dataclasses.fields(Order)),
        ("db-2", "X", "BTC/USDT", Action.BUY, 1.0, 5),
    ),
    (Fill, (ORDER, 2_000, 101.5, 0.5, 0.05), (ORDER, 2_000, 101.5, 0.5, 0.0)),
    (
        Trade,
        (
            "t",
            3,
            "BTC/USDT",
            Action.SELL,
            0.5,
            101.5,
            0.05,
            "MA",
            -1.25,
            "db-1",
            ExitReason.STOP_LOSS,
            Mode.LIVE,
            "limit",
            100.0,
        ),
        ("t", 3, "BTC/USDT", Action.BUY, 0.5, 101.5, 0.05, "MA"),
    ),
    (SignalOutcome, (ORDER, Declined.NO_SIZE, Rejection("r", "m", {"x": 1})), (None, Declined.NOT_HELD)),
]


def _generated(cls, args: tuple, kwargs: dict | None = None):
    """An instance built by the dataclass-generated ``__init__`` (:data:`GENERATED_INIT`)."""
    obj = object.__new__(cls)
    GENERATED_INIT[cls](obj, *args, **(kwargs or {}))
    return obj


def _same(a, b) -> bool:
    """Field by field: the same objects (identity), floats to the bit."""
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, float) and isinstance(y, float):
            if math.copysign(1.0, x) != math.copysign(1.0, y) or x.hex() != y.hex():
                return False
        elif x is not y:
            return False
    return True


@pytest.mark.parametrize(("cls", "full", "required"), CASES, ids=lambda c: getattr(c, "__name__", ""))
def test_building_gives_what_the_generated_init_gives(cls, full, required):
    generated = list(inspect.signature(GENERATED_INIT[cls]).parameters.values())[1:]  # without self
    assert list(inspect.signature(cls).parameters.values()) == generated
    for args in (full, required):
        fast, plain = cls(*args), _generated(cls, args)
        assert _same(fast, plain) and fast == plain and repr(fast) == repr(plain)
        if cls is not SignalOutcome:  # (a rejection's numbers are a dict: that outcome is not hashable)
            assert hash(fast) == hash(plain)
    names = [f.name for f in dataclasses.fields(cls)]
    by_name = dict(zip(names, full, strict=True))
    assert _same(cls(**by_name), _generated(cls, (), by_name))
    with pytest.raises(TypeError):
        cls(*full, "one too many")
    if any(f.default is dataclasses.MISSING for f in dataclasses.fields(cls)):
        with pytest.raises(TypeError):
            cls(*required[:-1])


@pytest.mark.parametrize("cls", [c for c, _, _ in CASES], ids=lambda c: c.__name__)
def test_they_stay_frozen_slotted_dataclasses(cls):
    params = cls.__dataclass_params__
    assert dataclasses.is_dataclass(cls) and params.frozen and params.eq and "__slots__" in cls.__dict__
    obj = cls(*next(req for c, _, req in CASES if c is cls))
    name = dataclasses.fields(cls)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(obj, name, None)
    assert not hasattr(obj, "__dict__") and type(obj) is cls
    for twin in (pickle.loads(pickle.dumps(obj)), copy.copy(obj), copy.deepcopy(obj)):
        assert twin == obj and type(twin) is cls
    changed = dataclasses.replace(obj, **{name: getattr(obj, name)})
    assert changed == obj and changed is not obj


def test_they_cannot_be_subclassed():
    with pytest.raises(TypeError):

        class Sub(Trade):
            pass


def test_only_plain_frozen_slotted_dataclasses_qualify():
    @dataclass(frozen=True)
    class NoSlots:
        a: int

    @dataclass(slots=True)
    class NotFrozen:
        a: int

    @dataclass(frozen=True, slots=True)
    class Factory:
        a: list = dataclasses.field(default_factory=list)

    @dataclass(frozen=True, slots=True)
    class PostInit:
        a: int

        def __post_init__(self) -> None:
            pass

    for cls in (NoSlots, NotFrozen, Factory, PostInit):
        with pytest.raises(TypeError):
            built_unfrozen(cls)
