"""The one codec between storage records and DynamoDB items (wire form, ``{"N": "0.1"}``).

Numbers: a float crosses as ``Decimal(str(x))`` (Python's shortest repr, so ``0.1 + 0.2`` is stored
as ``0.30000000000000004`` and reads back as the same float; ``1e-8`` as ``1E-8``), an int as its
digits. NaN and infinities have no DynamoDB form and are refused, naming the field.
Reading, each attribute becomes the type of its record field (``int`` fields via ``int``, ``float``
fields via ``float`` of the stored digits, which is exact for every value we wrote).

A value that cannot be stored raises :class:`UnstorableValue`, an item that cannot become its
record raises :class:`UnreadableItem`; both are a ``ValueError`` and a ``StorageError`` (so the
bot's storage-error handling covers them) and name the field and the value.

``None`` attributes are omitted (the record default comes back). Empty strings are stored, except
in secondary-index key attributes, where DynamoDB rejects them (the item is then simply not in that
index). The dict fields (``data``, ``extra``, ``detail``) are stored as JSON strings, so nested
numbers keep their exact JSON form; a map written by another system is accepted on read.
"""

from __future__ import annotations

import json
import math
import typing
from dataclasses import MISSING, fields
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

from storage.base import StorageError
from storage.records import JSON_FIELDS, to_row

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

R = TypeVar("R", bound="DataclassInstance")


class UnstorableValue(StorageError, ValueError):
    """A record field holds a value DynamoDB cannot store (NaN, infinity, an unknown type)."""


class UnreadableItem(StorageError, ValueError):
    """A stored item cannot become its record (a missing or mistyped attribute)."""


def to_decimal(value: float | int, name: str = "value") -> Decimal:
    """``value`` as the Decimal of its shortest repr. Raises UnstorableValue for NaN and infinities."""
    if isinstance(value, bool):
        raise UnstorableValue(f"{name}={value!r} is a bool, not a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise UnstorableValue(f"{name}={value!r} cannot be stored in DynamoDB (not a finite number)")
    return Decimal(str(value))


def encode_value(value: Any, name: str = "value") -> dict[str, Any]:
    """One Python value as a wire AttributeValue (``{"S": ..}``, ``{"N": ..}``, ``{"BOOL": ..}``,
    ``{"SS": [..]}``). Dicts and lists become JSON strings."""
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, (int, float)):
        return {"N": str(to_decimal(value, name))}
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise UnstorableValue(f"{name}={value!r} cannot be stored in DynamoDB (not a finite number)")
        return {"N": str(value)}
    if isinstance(value, (set, frozenset)):
        return {"SS": sorted(str(v) for v in value)}
    if isinstance(value, (dict, list, tuple)):
        try:  # NaN stays as JSON's NaN token, as in the SQLite store
            return {"S": json.dumps(value, sort_keys=True)}
        except (TypeError, ValueError) as err:
            raise UnstorableValue(f"{name}={value!r} cannot be stored as JSON: {err}") from None
    raise UnstorableValue(f"{name}={value!r}: type {type(value).__name__} cannot be stored in DynamoDB")


def encode_item(values: dict[str, Any], index_keys: frozenset[str] = frozenset()) -> dict[str, dict]:
    """A mapping as a wire item: None omitted, empty strings omitted for ``index_keys``."""
    item = {}
    for name, value in values.items():
        if value is None or (value == "" and name in index_keys):
            continue
        item[name] = encode_value(value, name)
    return item


def record_item(
    record: DataclassInstance, extra: dict[str, Any] | None = None, index_keys: frozenset[str] = frozenset()
) -> dict[str, dict]:
    """A record dataclass (plus ``extra`` attributes such as index buckets) as a wire item."""
    values = to_row(record)
    return encode_item({**values, **(extra or {})}, index_keys)


def plain(av: dict[str, Any]) -> Any:
    """A wire AttributeValue as a plain Python value (N as int when integral digits, else float)."""
    ((kind, raw),) = av.items()
    if kind == "S":
        return raw
    if kind == "N":
        return _number(raw)
    if kind == "BOOL":
        return bool(raw)
    if kind == "NULL":
        return None
    if kind == "M":
        return {k: plain(v) for k, v in raw.items()}
    if kind == "L":
        return [plain(v) for v in raw]
    if kind in ("SS", "NS"):
        return {_number(v) if kind == "NS" else v for v in raw}
    raise UnreadableItem(f"unsupported DynamoDB attribute type {kind!r}")


def raw_value(av: dict[str, Any]) -> Any:
    """A wire AttributeValue as a plain value that loses nothing: N as int when integral digits,
    else the exact Decimal; B as bytes; any type as something (never raises). For rows written
    by other systems (the Signals inbox), which are validated after reading."""
    try:
        ((kind, raw),) = av.items()
    except (AttributeError, ValueError):
        return repr(av)
    if kind == "N":
        try:
            return int(raw) if raw.lstrip("-").isdigit() else Decimal(raw)
        except (ArithmeticError, ValueError, AttributeError):
            return raw
    if kind in ("B", "S", "BOOL"):
        return raw
    if kind == "NULL":
        return None
    if kind == "M" and isinstance(raw, dict):
        return {k: raw_value(v) for k, v in raw.items()}
    if kind == "L" and isinstance(raw, list):
        return [raw_value(v) for v in raw]
    if kind in ("SS", "NS", "BS") and isinstance(raw, list):
        return [raw_value({kind[0]: v}) for v in raw]
    return repr(raw)


def _number(raw: str) -> int | float:
    if raw.lstrip("-").isdigit():
        return int(raw)
    return float(raw)


def _as_int(av: dict[str, Any], name: str) -> int:
    raw = _digits(av, name)
    try:
        return int(raw)
    except ValueError:
        try:
            return int(Decimal(raw))
        except ArithmeticError:
            raise UnreadableItem(f"{name}={raw!r} is not an integer") from None


def _as_float(av: dict[str, Any], name: str) -> float:
    raw = _digits(av, name)
    try:
        return float(raw)
    except ValueError:
        raise UnreadableItem(f"{name}={raw!r} is not a number") from None


def _digits(av: dict[str, Any], name: str) -> str:
    if "N" in av:
        return av["N"]
    if "S" in av:
        return av["S"]
    raise UnreadableItem(f"{name}={plain(av)!r} is not a number")


def _as_bool(av: dict[str, Any], name: str) -> bool:
    if "BOOL" in av:
        return bool(av["BOOL"])
    if "N" in av:
        return av["N"] not in ("0", "0.0")
    raise UnreadableItem(f"{name}={plain(av)!r} is not a boolean")


def _as_str(av: dict[str, Any], name: str) -> str:
    if "S" in av:
        return av["S"]
    if "N" in av:
        return av["N"]
    raise UnreadableItem(f"{name}={plain(av)!r} is not a string")


def _json_object(raw: str) -> dict:
    return json.loads(raw or "{}")


@cache
def _decoders(cls) -> dict[str, tuple[str, Any, Any]]:
    """Per record field: (the wire type we write, a fast cast of its raw value, the general
    ``(AttributeValue, name) -> value`` decoder used for anything else or when the cast fails)."""
    hints = typing.get_type_hints(cls)
    out: dict[str, tuple[str, Any, Any]] = {}
    for f in fields(cls):
        kinds = set(typing.get_args(hints[f.name])) or {hints[f.name]}
        kinds.discard(type(None))
        enums = [k for k in kinds if isinstance(k, type) and issubclass(k, Enum)]
        if enums:
            out[f.name] = ("S", enums[0], _enum_decoder(enums[0]))
        elif f.name in JSON_FIELDS:
            out[f.name] = ("S", _json_object, _decode_json)
        elif kinds == {bool}:
            out[f.name] = ("BOOL", bool, _as_bool)
        elif kinds == {int}:
            out[f.name] = ("N", int, _as_int)
        elif kinds == {float}:
            out[f.name] = ("N", float, _as_float)
        else:
            out[f.name] = ("S", str, _as_str)
    return out


def _enum_decoder(enum: type[Enum]):
    def decode(av: dict[str, Any], name: str):
        raw = _as_str(av, name)
        try:
            return enum(raw)
        except ValueError:
            raise UnreadableItem(f"{name}={raw!r} is not one of {[e.value for e in enum]}") from None

    return decode


def _decode_json(av: dict[str, Any], name: str) -> dict:
    if "M" in av:
        return plain(av)
    try:
        return json.loads(av.get("S") or "{}")
    except ValueError:
        raise UnreadableItem(f"{name}={av.get('S')!r} is not a JSON object") from None


def decode_item(cls: type[R], item: dict[str, dict], index_keys: frozenset[str] = frozenset()) -> R:
    """Build record ``cls`` from a wire item; unknown attributes (index buckets) are ignored and
    a missing ``index_keys`` string attribute is the empty string it was written as.

    Raises UnreadableItem naming the field and value when an attribute cannot become its field type.
    """
    decoders = _decoders(cls)
    kwargs = {}
    for name, av in item.items():
        plan = decoders.get(name)
        if plan is None:
            continue
        raw = av.get(plan[0])
        if raw is not None:
            try:
                kwargs[name] = plan[1](raw)
                continue
            except ValueError:
                pass
        if "NULL" not in av:
            kwargs[name] = plan[2](av, name)
    for name in index_keys:
        if name not in kwargs and name in decoders and decoders[name][2] is _as_str:
            kwargs[name] = ""
    try:
        return cls(**kwargs)
    except TypeError:
        missing = [
            f.name
            for f in fields(cls)
            if f.name not in kwargs and f.default is MISSING and f.default_factory is MISSING
        ]
        raise UnreadableItem(f"{cls.__name__} item lacks required attribute(s) {missing}: {item}") from None
