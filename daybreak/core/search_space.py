"""The search space of a parameter search: dimensions read from the pydantic models, narrowed or
extended by ``--space`` specs, and the config a point of the space stands for.

A dimension's key names the config value it sets: ``params.<field>`` (a field of the strategy's
params model) or ``risk.<field>`` (a field of :class:`~daybreak.core.risk_settings.RiskSettings`,
set in ``risk_overrides.<strategy>`` so that it applies to the searched strategy only). A
``list[Literal[...]]`` field (Confluence's ``conditions``) is one yes/no dimension per member,
``params.<field>[<member>]``.

Bounds and types come from the model: an ``int`` field is searched over its integers, a ``float``
over its interval (an exclusive bound is moved inwards by 0.1 % of the width), a ``bool`` or
``Literal`` over its values. A field may narrow its search range with
``json_schema_extra={"search": {"low": ..., "high": ..., "log": ...}}`` (inside its validation
bounds); the risk keys have such ranges in :data:`RISK_SEARCH`. A range spanning two decades or
more (``high / low >= 100``, ``low > 0``) is searched on a log scale unless ``log`` says otherwise.
By default every params field except ``timeframe`` is searched; risk keys only when named.

``--space`` spec grammar (one per key): ``KEY`` (the default range), ``KEY=LOW:HIGH``,
``KEY=LOW:HIGH:STEP`` or ``KEY=LOW:HIGH:log`` (a range), ``KEY=A,B,C`` (these values; JSON, with
``null`` or ``off`` turning a risk rule off) and ``KEY=V`` (fixed: not searched). ``KEY`` may omit
``params.`` for a params field. Bad specs raise :class:`SpaceError` naming the spec.

Pure: no I/O; the strategy catalog is passed in (see :class:`~daybreak.core.config.StrategyCatalog`).
"""

from __future__ import annotations

import copy
import json
import math
import typing
from dataclasses import dataclass
from typing import Any, Literal

import annotated_types as at
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from daybreak.core.risk_settings import RiskSettings

RISK_SEARCH: dict[str, dict[str, Any]] = {
    "stop_loss_ratio": {"low": 0.001, "high": 0.1},
    "stop_loss_atr_mult": {"low": 0.5, "high": 10.0},
    "take_profit_ratio": {"low": 0.001, "high": 0.2},
    "take_profit_fraction": {"low": 0.1, "high": 0.9},
    "trailing_start_ratio": {"low": 0.001, "high": 0.1},
    "trailing_ratio": {"low": 0.001, "high": 0.1},
    "trailing_atr_mult": {"low": 0.5, "high": 10.0},
    "breakeven_trigger_ratio": {"low": 0.001, "high": 0.1},
    "time_stop_seconds": {"low": 60.0, "high": 7 * 86_400.0},
    "risk_per_trade_ratio": {"low": 0.0005, "high": 0.02},
    "equity_fraction": {"low": 0.01, "high": 1.0},
    "max_trade_equity_ratio": {"low": 0.01, "high": 1.0},
    "symbol_cooldown_seconds": {"low": 60.0, "high": 86_400.0},
}
"""Default search ranges of the risk keys (their validation bounds are much wider, e.g. a stop-loss
anywhere up to 100 %)."""

NOT_SEARCHED = ("timeframe",)
"""Params fields left out of the default space (a timeframe changes what every window means)."""


class SpaceError(ValueError):
    """A ``--space`` spec that cannot be used; the message names the spec."""


@dataclass(frozen=True)
class Dimension:
    """One searched (or fixed) value. ``kind``: ``int`` / ``float`` (``low``..``high`` inclusive,
    optional ``step``, ``log`` scale), ``choice`` (one of ``choices``) or ``fixed`` (``choices[0]``,
    not searched). For a list member (``params.conditions[squeeze]``) the choices are True/False."""

    key: str
    kind: Literal["int", "float", "choice", "fixed"]
    low: float | None = None
    high: float | None = None
    step: float | None = None
    log: bool = False
    choices: tuple[Any, ...] | None = None

    def span(self) -> tuple[float, float]:
        """``(low, high)`` of an ``int`` / ``float`` range. Raises SpaceError when a bound is missing."""
        if self.low is None or self.high is None:
            raise SpaceError(f"{self.key}: a {self.kind} range needs a low and a high bound")
        return self.low, self.high

    def options(self) -> tuple[Any, ...]:
        """The values of a ``choice`` / ``fixed`` dimension. Raises SpaceError when it has none."""
        if not self.choices:
            raise SpaceError(f"{self.key}: a {self.kind} dimension needs at least one value")
        return self.choices

    def grid(self) -> list[Any]:
        """Every value of a discrete dimension (what an exhaustive grid visits). Raises
        SpaceError for a float range without a step."""
        if self.kind in ("choice", "fixed"):
            return list(self.choices or ())
        if self.kind == "float" and not self.step:
            raise SpaceError(f"{self.key}: a grid needs a step for a float range (KEY=LOW:HIGH:STEP)")
        step = self.step or 1
        low, high = self.span()
        count = math.floor((high - low) / step + 1e-9) + 1
        values = [low + i * step for i in range(count)]
        return [round(v) for v in values] if self.kind == "int" else [round(v, 12) for v in values]

    def describe(self) -> str:
        if self.kind in ("choice", "fixed"):
            choices = self.options()
            return f"{self.key} in {list(choices)}" if self.kind == "choice" else f"{self.key} = {choices[0]}"
        scale = ", log" if self.log else ""
        step = f" step {self.step:g}" if self.step else ""
        low, high = self.span()
        return f"{self.key} in [{low:g}, {high:g}]{step}{scale}"


@dataclass(frozen=True)
class _Bounds:
    kind: Literal["int", "float", "choice", "members", "other"]
    low: float | None
    high: float | None
    low_open: bool
    high_open: bool
    choices: tuple[Any, ...] = ()
    members: tuple[Any, ...] = ()
    nullable: bool = False


def _limit(value: object) -> float:
    """A bound of an int / float field as the model gives it (pydantic's int and float schemas
    take numbers only)."""
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, typing.SupportsFloat):
        return float(value)
    raise SpaceError(f"the field bound {value!r} is not a number")


def _bounds(field: FieldInfo) -> _Bounds:
    ann = field.annotation
    args = typing.get_args(ann)
    nullable = type(None) in args
    if nullable:
        inner = [a for a in args if a is not type(None)]
        ann = inner[0] if len(inner) == 1 else ann
    origin = typing.get_origin(ann)
    if origin is Literal:
        return _Bounds("choice", None, None, False, False, choices=typing.get_args(ann), nullable=nullable)
    if origin is list and typing.get_origin(typing.get_args(ann)[0]) is Literal:
        return _Bounds("members", None, None, False, False, members=typing.get_args(typing.get_args(ann)[0]))
    if ann is bool:
        return _Bounds("choice", None, None, False, False, choices=(True, False), nullable=nullable)
    if ann not in (int, float):
        return _Bounds("other", None, None, False, False)
    low: float | None = None
    high: float | None = None
    low_open = high_open = False
    for m in field.metadata:
        if isinstance(m, at.Ge):
            low = _limit(m.ge)
        elif isinstance(m, at.Gt):
            low, low_open = _limit(m.gt), True
        elif isinstance(m, at.Le):
            high = _limit(m.le)
        elif isinstance(m, at.Lt):
            high, high_open = _limit(m.lt), True
    return _Bounds("int" if ann is int else "float", low, high, low_open, high_open, nullable=nullable)


def _range(key: str, b: _Bounds, hint: dict[str, Any] | None) -> Dimension:
    if b.kind not in ("int", "float"):
        raise SpaceError(f"{key}: a range needs a numeric field")
    if b.low is None or b.high is None:
        raise SpaceError(f"{key}: the model gives no lower and upper bound; give a range (KEY=LOW:HIGH)")
    hint = hint or {}
    low: float
    high: float
    if b.kind == "int":
        low = int(b.low) + (1 if b.low_open else 0)
        high = int(b.high) - (1 if b.high_open else 0)
    else:
        width = b.high - b.low
        low = b.low + width * 1e-3 if b.low_open else float(b.low)
        high = b.high - width * 1e-3 if b.high_open else float(b.high)
    low, high = hint.get("low", low), hint.get("high", high)
    return Dimension(key, b.kind, low, high, hint.get("step"), hint.get("log", _wide(low, high)))


def _wide(low: float, high: float) -> bool:
    return low > 0 and high / low >= 100


def _hint(field: FieldInfo) -> dict[str, Any] | None:
    extra = field.json_schema_extra
    hint = extra.get("search") if isinstance(extra, dict) else None
    return hint if isinstance(hint, dict) else None


def model_dimensions(params_model: type[BaseModel], prefix: str = "params") -> list[Dimension]:
    """The default dimensions of a params model: every field but :data:`NOT_SEARCHED`."""
    dims: list[Dimension] = []
    for name, field in params_model.model_fields.items():
        if name in NOT_SEARCHED:
            continue
        dims.extend(_field_dimensions(f"{prefix}.{name}", field, _hint(field)))
    return dims


def _field_dimensions(key: str, field: FieldInfo, hint: dict[str, Any] | None) -> list[Dimension]:
    b = _bounds(field)
    if b.kind == "choice":
        return [Dimension(key, "choice", choices=tuple(b.choices))]
    if b.kind == "members":
        return [Dimension(f"{key}[{m}]", "choice", choices=(True, False)) for m in b.members]
    if b.kind == "other":
        raise SpaceError(f"{key}: fields of type {field.annotation} cannot be searched")
    return [_range(key, b, hint)]


def _resolve(key: str, params_model: type[BaseModel]) -> tuple[str, FieldInfo, dict[str, Any] | None]:
    """Canonical key, its field and its search hint. Raises SpaceError for an unknown key."""
    head, _, rest = key.partition(".")
    if head == "risk_overrides":  # risk_overrides.<strategy>.<field> means risk.<field> here
        key = "risk." + rest.partition(".")[2]
        head, _, rest = key.partition(".")
    if head == "risk":
        field = RiskSettings.model_fields.get(rest)
        if field is None:
            raise SpaceError(f"--space {key}: not a risk key; known: {', '.join(RiskSettings.model_fields)}")
        return key, field, RISK_SEARCH.get(rest)
    name = rest if head == "params" else key
    base = name.split("[", 1)[0]
    field = params_model.model_fields.get(base)
    if field is None:
        known = ", ".join(params_model.model_fields)
        raise SpaceError(f"--space {key}: not a params field of this strategy ({known}) nor risk.<key>")
    return f"params.{name}", field, _hint(field)


def parse_spec(spec: str, params_model: type[BaseModel]) -> list[Dimension]:
    """The dimensions one ``--space`` spec describes (see the module docstring). Raises SpaceError."""
    key, eq, value = spec.partition("=")
    key, field, hint = _resolve(key.strip(), params_model)
    b = _bounds(field)
    if "[" in key and b.kind != "members":
        raise SpaceError(f"--space {spec}: only a list field has members")
    if "[" in key and key[key.index("[") + 1 : -1] not in b.members:
        raise SpaceError(f"--space {spec}: not a member; members: {', '.join(b.members)}")
    if b.kind == "members" and "[" not in key and eq:
        raise SpaceError(f"--space {spec}: set a list field by member, e.g. {key}[{b.members[0]}]=true")
    if not eq:
        if "[" in key:
            return [Dimension(key, "choice", choices=(True, False))]
        return _field_dimensions(key, field, hint)
    value = value.strip()
    if ":" in value:
        if b.kind not in ("int", "float"):
            raise SpaceError(f"--space {spec}: a range needs a numeric field")
        parts = value.split(":")
        if len(parts) not in (2, 3):
            raise SpaceError(f"--space {spec}: a range is LOW:HIGH, LOW:HIGH:STEP or LOW:HIGH:log")
        low, high = (_number(spec, p, b.kind) for p in parts[:2])
        step: float | None = None
        log = _wide(low, high)
        if len(parts) == 3:
            if parts[2].strip() == "log":
                log = True
            else:
                step, log = _number(spec, parts[2], b.kind), False
                if step <= 0:
                    raise SpaceError(f"--space {spec}: the step must be positive")
        if not low < high:
            raise SpaceError(f"--space {spec}: LOW must be below HIGH")
        for v in (low, high):
            _check_bounds(spec, v, b)
        if log and low <= 0:
            raise SpaceError(f"--space {spec}: a log scale needs LOW > 0")
        return [Dimension(key, b.kind, low, high, step, log)]
    choices = tuple(_value(spec, v.strip(), b) for v in value.split(","))
    if len(set(map(json.dumps, choices))) != len(choices):
        raise SpaceError(f"--space {spec}: a value is listed twice")
    return [Dimension(key, "fixed" if len(choices) == 1 else "choice", choices=choices)]


def _number(spec: str, text: str, kind: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SpaceError(f"--space {spec}: {text!r} is not a number") from None
    if kind == "int":
        if value != int(value):
            raise SpaceError(f"--space {spec}: {text!r} is not an integer")
        return int(value)
    return value


def _value(spec: str, text: str, b: _Bounds) -> Any:
    if text in ("off", "null", "none"):
        if not b.nullable:
            raise SpaceError(f"--space {spec}: this key cannot be turned off")
        return None
    if b.kind in ("int", "float"):
        v = _number(spec, text, b.kind)
        _check_bounds(spec, v, b)
        return v
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = text
    allowed = b.choices if b.kind == "choice" else (True, False)
    if value not in allowed:
        raise SpaceError(f"--space {spec}: {text!r} is not one of {list(allowed)}")
    return value


def _check_bounds(spec: str, v: float, b: _Bounds) -> None:
    if b.low is not None and (v < b.low or (b.low_open and v == b.low)):
        raise SpaceError(f"--space {spec}: {v:g} is below the field's bound ({'>' if b.low_open else '>='} {b.low:g})")
    if b.high is not None and (v > b.high or (b.high_open and v == b.high)):
        raise SpaceError(
            f"--space {spec}: {v:g} is above the field's bound ({'<' if b.high_open else '<='} {b.high:g})"
        )


def build_space(params_model: type[BaseModel], specs: list[str]) -> list[Dimension]:
    """The default params dimensions, each replaced by the dimensions a spec gives for its key,
    plus the spec'd keys that are not params fields (risk keys), in spec order. Raises SpaceError."""
    by_key = {d.key: d for d in model_dimensions(params_model)}
    extra: dict[str, Dimension] = {}
    seen: set[str] = set()
    for spec in specs:
        for d in parse_spec(spec, params_model):
            if d.key in seen:
                raise SpaceError(f"--space {spec}: {d.key} is given twice")
            seen.add(d.key)
            if d.key in by_key:
                by_key[d.key] = d
            else:
                extra[d.key] = d
    return [*by_key.values(), *extra.values()]


def searched(space: list[Dimension]) -> list[Dimension]:
    """The dimensions the sampler draws (not the fixed ones)."""
    return [d for d in space if d.kind != "fixed"]


def full_point(space: list[Dimension], point: dict[str, Any]) -> dict[str, Any]:
    """``point`` (sampled values by key) plus the fixed dimensions' values."""
    out = {d.key: d.options()[0] for d in space if d.kind == "fixed"}
    out.update(point)
    return out


def config_patch(strategy: str, raw_config: dict[str, Any], point: dict[str, Any]) -> dict[str, Any]:
    """The config keys a point sets: ``{"params": {strategy: {...}}, "risk_overrides": {strategy:
    {...}}}`` with the strategy's current params and overrides from ``raw_config`` and the point's
    values on top (list members rebuilt into their list, in the field's member order)."""
    params = dict((raw_config.get("params") or {}).get(strategy) or {})
    overrides = dict((raw_config.get("risk_overrides") or {}).get(strategy) or {})
    members: dict[str, dict[str, bool]] = {}
    for key, value in point.items():
        head, _, name = key.partition(".")
        if "[" in name:
            base, member = name[:-1].split("[", 1)
            members.setdefault(base, {})[member] = bool(value)
        elif head == "params":
            params[name] = value
        else:
            overrides[name] = value
    for base, flags in members.items():
        params[base] = [m for m, on in flags.items() if on]
    patch: dict[str, Any] = {"params": {strategy: params}}
    if overrides:
        patch["risk_overrides"] = {strategy: overrides}
    return patch


def apply_patch(raw_config: dict[str, Any], patch: dict[str, Any], only: str | None = None) -> dict[str, Any]:
    """A deep copy of ``raw_config`` with ``patch`` (:func:`config_patch`) written in; with
    ``only``, ``algos`` becomes ``{only: True}`` (the searched strategy alone)."""
    out = copy.deepcopy(raw_config)
    for section in ("params", "risk_overrides"):
        for name, values in (patch.get(section) or {}).items():
            out.setdefault(section, {})[name] = copy.deepcopy(values)
    if only is not None:
        out["algos"] = {only: True}
    return out
