"""Streamlit inputs generated from a pydantic model's JSON schema (``model_json_schema()``).

Used for every strategy's params model and for :class:`daybreak.risk_settings.RiskSettings`, so a
new strategy or a new risk key appears in the dashboard with no dashboard change.

Mapping (JSON schema -> widget): ``enum``/``const`` (a ``Literal``) -> selectbox; ``boolean`` ->
checkbox; ``integer``/``number`` -> number input with the schema's inclusive bounds
(``minimum``/``maximum``; exclusive bounds are left to the model's validation, whose message the
form shows); ``array`` of an ``enum`` -> multiselect; ``string`` -> text input; anything else ->
a JSON text input. A nullable field (``X | None``) may be left empty, which means "off" (or
"inherit" for an override); the widget then returns ``None``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import streamlit as st
from pydantic import BaseModel

OFF = "(off)"


@dataclass(frozen=True)
class FieldSpec:
    """One model field as the form needs it. ``kind`` is one of
    ``int``, ``float``, ``bool``, ``choice``, ``multi``, ``text``, ``json``."""

    name: str
    kind: str
    description: str = ""
    default: Any = None
    nullable: bool = False
    minimum: float | None = None
    maximum: float | None = None
    options: tuple = ()

    @property
    def label(self) -> str:
        return self.name


def _resolve(prop: dict, defs: dict) -> dict:
    ref = prop.get("$ref")
    if ref:
        target = defs.get(ref.rsplit("/", 1)[-1], {})
        return {**_resolve(target, defs), **{k: v for k, v in prop.items() if k != "$ref"}}
    if "allOf" in prop and len(prop["allOf"]) == 1:
        return {**_resolve(prop["allOf"][0], defs), **{k: v for k, v in prop.items() if k != "allOf"}}
    return prop


def field_specs(model: type[BaseModel]) -> list[FieldSpec]:
    """The fields of pydantic ``model``, in declaration order: kind, bounds, options and
    description from its JSON schema; the default from the model (default factories included,
    None for a required field)."""
    schema = model.model_json_schema()
    defs = schema.get("$defs", {})
    specs = []
    for name, raw in schema.get("properties", {}).items():
        prop = _resolve(raw, defs)
        nullable = False
        if "anyOf" in prop:
            members = [_resolve(m, defs) for m in prop["anyOf"]]
            nullable = any(m.get("type") == "null" for m in members)
            concrete = [m for m in members if m.get("type") != "null"]
            outer = {k: v for k, v in prop.items() if k != "anyOf"}
            prop = {**concrete[0], **outer} if len(concrete) == 1 else {**outer, "type": "json"}
        kind, options = _kind(prop, defs)
        info = model.model_fields.get(name)
        default = None if info is None or info.is_required() else info.get_default(call_default_factory=True)
        specs.append(
            FieldSpec(
                name=name,
                kind=kind,
                description=prop.get("description", ""),
                default=default,
                nullable=nullable,
                minimum=prop.get("minimum"),
                maximum=prop.get("maximum"),
                options=options,
            )
        )
    return specs


def _kind(prop: dict, defs: dict) -> tuple[str, tuple]:
    if "enum" in prop:
        return "choice", tuple(prop["enum"])
    if "const" in prop:
        return "choice", (prop["const"],)
    kind = prop.get("type")
    if kind == "boolean":
        return "bool", ()
    if kind == "integer":
        return "int", ()
    if kind == "number":
        return "float", ()
    if kind == "string":
        return "text", ()
    if kind == "array":
        items = _resolve(prop.get("items", {}), defs)
        if "enum" in items:
            return "multi", tuple(items["enum"])
    return "json", ()


def _float_step(spec: FieldSpec, value: float | None) -> float:
    """The +/- step: a tenth of the shown value's order of magnitude (0.001 for small ratios)."""
    ref = next((abs(v) for v in (value, spec.default) if v), None)
    if ref is None:
        ref = 0.01 if spec.maximum is not None and spec.maximum <= 1 else 1.0
    return 10.0 ** (math.floor(math.log10(ref)) - 1)


def render_field(spec: FieldSpec, value: Any, key: str, empty_hint: str = "off") -> Any:
    """Draw the widget for ``spec`` showing ``value``; return what the user entered.

    Returns ``None`` when a nullable field is left empty. ``empty_hint`` is the placeholder shown
    in an empty input (``"off"`` for the risk defaults, ``"inherit"`` for an override).
    """
    help_ = spec.description or None
    if spec.kind in ("int", "float"):
        cast = int if spec.kind == "int" else float
        bounds = {}
        if spec.minimum is not None:
            bounds["min_value"] = cast(spec.minimum)
        if spec.maximum is not None:
            bounds["max_value"] = cast(spec.maximum)
        shown = None if value is None else cast(value)
        extra = {"step": 1, "format": "%d"} if cast is int else {"step": _float_step(spec, shown), "format": "%g"}
        if spec.nullable:
            # Streamlit maps an emptied input back to ``value=``; with ``value=None`` and the shown
            # value seeded into the session, emptying really returns None ("off").
            if key not in st.session_state:
                st.session_state[key] = shown
            shown = None
        # bounds and step are ints or floats by spec.kind: streamlit's overloads (int / float) cannot
        # be matched through the ** dicts
        return st.number_input(  # type: ignore[call-overload]
            spec.label, value=shown, help=help_, key=key, placeholder=empty_hint, **bounds, **extra
        )
    if spec.kind == "bool":
        return st.checkbox(spec.label, value=bool(value), help=help_, key=key)
    if spec.kind == "choice":
        options = ([None] if spec.nullable else []) + list(spec.options)
        index = options.index(value) if value in options else 0
        return st.selectbox(
            spec.label,
            options,
            index=index,
            help=help_,
            key=key,
            format_func=lambda o: f"({empty_hint})" if o is None else str(o),
        )
    if spec.kind == "multi":
        chosen = [v for v in (value or []) if v in spec.options]
        return st.multiselect(spec.label, list(spec.options), default=chosen, help=help_, key=key)
    if spec.kind == "text":
        text = st.text_input(
            spec.label,
            value="" if value is None else str(value),
            help=help_,
            key=key,
            placeholder=empty_hint if spec.default is None else f"default: {spec.default}",
        )
        return text.strip() or None
    text = st.text_input(
        spec.label,
        value="" if value is None else json.dumps(value),
        help=help_,
        key=key,
        placeholder=f"JSON ({empty_hint})",
    )
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text  # the model's validation names the field and the value


def merge_changes(current: dict, shown: dict, submitted: dict) -> dict:
    """A copy of ``current`` (a section of the file) with only the fields the user changed.

    ``shown`` holds what each widget displayed, ``submitted`` what it returned. An unchanged field
    keeps its bytes in the file (even an explicit ``null``); a changed one is set, or removed when
    emptied (``None``), which turns the rule off or back to its default.
    """
    out = dict(current)
    for name, value in submitted.items():
        if value == shown.get(name):
            continue
        if value is None:
            out.pop(name, None)
        else:
            out[name] = value
    return out
