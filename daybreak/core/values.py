"""Construction of the frozen values made per order (:mod:`daybreak.core.domain`).

A ``@dataclass(frozen=True, slots=True)`` sets each field in its generated ``__init__`` with
``object.__setattr__(self, name, value)``: the frozen class's own ``__setattr__`` refuses
assignment, so the generic one is looked up on ``object`` and called through a slot wrapper, about
0.2 us per field on the development VM. A backtest makes a signal, an order, a fill, a trade and an
outcome per order (39 fields), so this was most of what the move to frozen values cost
(benchmarks/backtest_speed.py).

:func:`slots_init` gives such a class an ``__init__`` with the same parameters and defaults that
stores each argument through the field's slot descriptor (``descriptor.__set__(self, value)``: the
same slot write, about a quarter of the cost). Nothing else changes: the class is still the frozen
dataclass it was declared as (``dataclasses.fields``, ``replace``, ``__eq__``, ``__hash__``,
``__repr__``, ``FrozenInstanceError`` on assignment); the generated ``__init__`` stays reachable as
``cls.__init__.__wrapped__``, and ``tests/test_values.py`` checks that both build equal objects.
Only plain fields qualify (no ``__post_init__``, no ``default_factory``, no ``init=False``, no
keyword-only fields): anything else raises TypeError rather than being built differently.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T")


def slots_init(cls: type[T]) -> type[T]:
    """``cls`` (a frozen slotted dataclass with plain fields) with the direct ``__init__`` above."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__}: slots_init needs @dataclass(frozen=True, slots=True) under it")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__}: slots_init does not run __post_init__")
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]  # a dataclass: checked above
    namespace: dict[str, Any] = {}
    params_src, body = [], []
    for f in fields:
        if not f.init or f.kw_only or f.default_factory is not dataclasses.MISSING:
            raise TypeError(f"{cls.__name__}.{f.name}: slots_init takes plain fields only")
        namespace[f"_set_{f.name}"] = cls.__dict__[f.name].__set__
        if f.default is dataclasses.MISSING:
            params_src.append(f.name)
        else:
            namespace[f"_default_{f.name}"] = f.default
            params_src.append(f"{f.name}=_default_{f.name}")
        body.append(f"    _set_{f.name}(self, {f.name})")
    source = f"def __init__(self, {', '.join(params_src)}):\n" + "\n".join(body or ["    pass"]) + "\n"
    exec(source, namespace)  # the source is built above from the field names only
    init = namespace["__init__"]
    generated = cls.__dict__["__init__"]
    init.__qualname__ = generated.__qualname__
    init.__module__ = generated.__module__
    init.__doc__ = generated.__doc__
    init.__annotations__ = dict(generated.__annotations__)
    init.__wrapped__ = generated
    type.__setattr__(cls, "__init__", init)
    return cls
