"""Construction of the frozen values made per order (:mod:`daybreak.core.domain`).

A ``@dataclass(frozen=True, slots=True)`` refuses assignment, so its generated ``__init__`` sets
each field with ``object.__setattr__(self, name, value)``: a slot wrapper looked up on ``object``
and called with a fresh argument tuple, about 0.2 us per field on the development VM (a plain
attribute write is a few ns). A backtest makes a signal, an order, an outcome, a fill and a trade
per order, 39 fields, and this was most of what the move to frozen values cost
(benchmarks/backtest_speed.py, issue 10).

:func:`built_unfrozen` builds such a value the way an unfrozen one is built and freezes it after:
``__new__`` takes the same parameters and defaults as the generated ``__init__``, makes an
instance of a private *builder* class with exactly the same slots (the same memory layout),
assigns the fields with ordinary attribute writes, and then sets the instance's ``__class__`` to
the frozen class (Python allows ``__class__`` assignment between classes of identical layout).
What comes out is an ordinary instance of the frozen dataclass, as declared: ``dataclasses.fields``,
``replace``, ``__eq__``, ``__hash__``, ``__repr__``, pickling and copying work as before, and
assignment raises ``FrozenInstanceError``. The dataclass-generated ``__init__`` is kept in
:data:`GENERATED_INIT`; ``tests/test_values.py`` checks that both build the same objects.

Only plain fields qualify (no ``__post_init__``, no ``default_factory``, no ``init=False``, no
keyword-only fields): anything else raises TypeError rather than being built differently; and
such a class cannot be subclassed (its ``__new__`` builds exactly that class).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

GENERATED_INIT: dict[type, Callable[..., None]] = {}
"""The dataclass-generated ``__init__`` of each class :func:`built_unfrozen` took over."""


def built_unfrozen(cls: type[T]) -> type[T]:
    """``cls`` (a frozen slotted dataclass with plain fields) built as described above."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__}: built_unfrozen needs @dataclass(frozen=True, slots=True) under it")
    if hasattr(cls, "__post_init__") or "__new__" in cls.__dict__:
        raise TypeError(f"{cls.__name__}: built_unfrozen does not run __post_init__ or a __new__ of its own")
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]  # a dataclass: checked above
    builder = type(f"{cls.__name__}Builder", (), {"__slots__": cls.__dict__["__slots__"], "__module__": cls.__module__})
    namespace: dict[str, Any] = {"_new": object.__new__, "_builder": builder, "_frozen": cls}
    params_src = []
    for f in fields:
        if not f.init or f.kw_only or f.default_factory is not dataclasses.MISSING:
            raise TypeError(f"{cls.__name__}.{f.name}: built_unfrozen takes plain fields only")
        if f.default is dataclasses.MISSING:
            params_src.append(f.name)
        else:
            namespace[f"_default_{f.name}"] = f.default
            params_src.append(f"{f.name}=_default_{f.name}")
    body = ["    self = _new(_builder)", *(f"    self.{f.name} = {f.name}" for f in fields)]
    body += ["    self.__class__ = _frozen", "    return self"]
    source = f"def __new__(cls, {', '.join(params_src)}):\n" + "\n".join(body) + "\n"
    exec(source, namespace)  # the source is built above from the field names only
    new = namespace["__new__"]
    new.__qualname__ = f"{cls.__qualname__}.__new__"
    new.__module__ = cls.__module__
    generated = cls.__dict__["__init__"]
    new.__annotations__ = {k: v for k, v in generated.__annotations__.items() if k != "return"}
    names = tuple(f.name for f in fields)

    def __getnewargs__(self: Any) -> tuple:  # pickle and copy call __new__ with the fields
        return tuple(getattr(self, n) for n in names)

    __getnewargs__.__qualname__ = f"{cls.__qualname__}.__getnewargs__"

    def __init_subclass__(sub: type, **kwargs: Any) -> None:  # __new__ builds exactly ``cls``
        raise TypeError(f"{sub.__name__}: {cls.__name__} is built by built_unfrozen and cannot be subclassed")

    GENERATED_INIT[cls] = generated
    type.__setattr__(cls, "__new__", staticmethod(new))
    type.__setattr__(cls, "__getnewargs__", __getnewargs__)
    type.__setattr__(cls, "__init_subclass__", classmethod(__init_subclass__))
    type.__delattr__(cls, "__init__")  # object.__init__: __new__ built it already
    return cls
