"""Strategy registry: name -> BaseStrategy subclass, filled by the :func:`register` decorator.

Adding a strategy is one new module in ``strategies/``, one import line in
``strategies/__init__.py`` and a config entry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from strategies.base import BaseStrategy, StrategyParams

_REGISTRY: dict[str, type[BaseStrategy]] = {}
T = TypeVar("T", bound="type[BaseStrategy]")


def register(cls: T) -> T:
    """Class decorator: register ``cls`` under ``cls.name``. Raises ValueError on a duplicate name."""
    name = cls.name
    if not name or (name in _REGISTRY and _REGISTRY[name] is not cls):
        raise ValueError(f"strategy name {name!r} is empty or registered twice")
    _REGISTRY[name] = cls
    return cls


def names() -> list[str]:
    """Registered strategy names, sorted."""
    return sorted(_REGISTRY)


def get(name: str) -> type[BaseStrategy]:
    """The class registered as ``name``. Raises KeyError naming the known strategies."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown strategy {name!r}; registered: {', '.join(names())}") from None


def params_model(name: str) -> type[StrategyParams]:
    """The params model (pydantic) of strategy ``name``. Raises KeyError."""
    return get(name).params_model


def params_for(name: str, raw: dict | None) -> StrategyParams:
    """Strategy ``name``'s validated params from a config's ``params[name]`` (defaults where it
    is silent). Raises KeyError for an unknown name, pydantic's ValidationError for bad params."""
    return get(name).params_model.model_validate(raw or {})


def build(name: str, raw: dict | None) -> BaseStrategy:
    """An instance of strategy ``name`` with its params from ``raw``."""
    return get(name)(params_for(name, raw))


def all_classes() -> list[type[BaseStrategy]]:
    return [_REGISTRY[n] for n in names()]
