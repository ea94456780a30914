"""Config editor: symbols, strategies on/off, each strategy's parameters, external signals, the
``risk`` defaults, the per-strategy ``risk_overrides``, the ``execution`` defaults (order types;
``execution_overrides`` are kept as they are in the file) and the ``dashboard`` checklist thresholds;
saved through
:func:`daybreak.settings.save_config_atomic` (the bot's own model, atomic replace).

Inputs are generated from each model's JSON schema (:mod:`daybreak.ui.schema_inputs`), so a new
registered strategy or risk key appears with no change here. Only fields the user changed are
written; every other key stays as it is in the file (including keys the form does not show). An
invalid value shows the :class:`~daybreak.settings.ConfigError` message and leaves the file
untouched. Removing a symbol also removes its own ``order_size`` entry (which would otherwise
name a symbol that is not configured).
"""

from __future__ import annotations

import copy
import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import streamlit as st

from daybreak.core.config import Config, ConfigError, DashboardSettings
from daybreak.core.execution_settings import ExecutionSettings
from daybreak.core.risk_settings import RiskSettings
from daybreak.ops import config_versions
from daybreak.ops.config_file import save_config_atomic
from daybreak.ui.schema_inputs import (
    FieldSpec,
    field_specs,
    merge_changes,
    render_field,
)
from storage import StorageError, Store
from strategies import registry

PREFIX = "cfg."
"""Session-state prefix of every widget of the form (reset when the file changes on disk)."""
CHOSEN = "config_strategy"
"""Session-state key of the strategy whose parameters and overrides the form shows."""


@dataclass
class FormValues:
    """What the form displayed (``shown_*``) and what the user submitted, per section."""

    symbols: list[str]
    added_symbols: str = ""
    external_signals: bool = False
    algos: dict[str, bool] = field(default_factory=dict)
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    risk: dict[str, Any] = field(default_factory=dict)
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    dashboard: dict[str, Any] = field(default_factory=dict)
    execution: dict[str, Any] = field(default_factory=dict)


def _default(name: str) -> Any:
    return Config.model_fields[name].get_default(call_default_factory=True)


def shown_values(raw: dict) -> FormValues:
    """What the form displays for the file content ``raw``: its values, or the model defaults."""
    algos_in_file = raw.get("algos", _default("algos"))
    risk_specs = field_specs(RiskSettings)
    return FormValues(
        symbols=list(raw.get("symbols", _default("symbols"))),
        external_signals=bool(raw.get("external_signals", _default("external_signals"))),
        algos={name: bool(algos_in_file.get(name, False)) for name in registry.names()},
        params={
            name: {s.name: raw.get("params", {}).get(name, {}).get(s.name, s.default) for s in _param_specs(name)}
            for name in registry.names()
        },
        risk={s.name: raw.get("risk", {}).get(s.name, s.default) for s in risk_specs},
        overrides={
            name: {s.name: raw.get("risk_overrides", {}).get(name, {}).get(s.name) for s in risk_specs}
            for name in registry.names()
        },
        dashboard={s.name: raw.get("dashboard", {}).get(s.name, s.default) for s in field_specs(DashboardSettings)},
        execution={s.name: raw.get("execution", {}).get(s.name, s.default) for s in field_specs(ExecutionSettings)},
    )


def _param_specs(name: str) -> list[FieldSpec]:
    return field_specs(registry.get(name).params_model)


def parse_added_symbols(text: str) -> list[str]:
    """Symbols typed in the "add" box: comma or space separated, upper-cased (``sol/usdt`` ->
    ``SOL/USDT``). The config model checks the BASE/QUOTE form."""
    return [s.strip().upper() for s in text.replace(",", " ").split() if s.strip()]


def apply_form(raw: dict, shown: FormValues, submitted: FormValues) -> tuple[dict, list[str]]:
    """The new file content: ``raw`` with the user's changes. Also returns notes for the user.

    Pure (no Streamlit): sections the user did not change are copied as they are.
    """
    data = copy.deepcopy(raw)
    notes: list[str] = []
    symbols = list(dict.fromkeys([*submitted.symbols, *parse_added_symbols(submitted.added_symbols)]))
    if symbols != shown.symbols:
        data["symbols"] = symbols
        sizes = data.get("order_size")
        if isinstance(sizes, dict):
            for gone in [k for k in sizes if k != "default" and k in shown.symbols and k not in symbols]:
                del sizes[gone]
                notes.append(f"order_size for {gone} removed with the symbol")
    if submitted.external_signals != shown.external_signals:
        data["external_signals"] = submitted.external_signals
    algos = merge_changes(raw.get("algos", _default("algos")), shown.algos, submitted.algos)
    if algos != raw.get("algos", _default("algos")):
        data["algos"] = algos
    for name, values in submitted.params.items():
        _merge_section(data, "params", name, raw, shown.params[name], values)
    for name, values in submitted.overrides.items():
        _merge_section(data, "risk_overrides", name, raw, shown.overrides[name], values)
    risk = merge_changes(raw.get("risk", {}), shown.risk, submitted.risk)
    if risk != raw.get("risk", {}):
        data["risk"] = risk
    if submitted.dashboard:
        board = merge_changes(raw.get("dashboard", {}), shown.dashboard, submitted.dashboard)
        if board != raw.get("dashboard", {}):
            data["dashboard"] = board
    if submitted.execution:
        execution = merge_changes(raw.get("execution", {}), shown.execution, submitted.execution)
        if execution != raw.get("execution", {}):
            data["execution"] = execution
    return data, notes


def _merge_section(data: dict, section: str, name: str, raw: dict, shown: dict, submitted: dict) -> None:
    current = raw.get(section, {}).get(name, {})
    merged = merge_changes(current, shown, submitted)
    if merged == current:
        return
    target = data.setdefault(section, {})
    if merged or section == "params":
        target[name] = merged
    else:
        target.pop(name, None)  # an override with nothing left inherits everything


def _override_names(raw: dict, shown: FormValues) -> list[str]:
    existing = raw.get("risk_overrides", {})
    return [n for n in registry.names() if shown.algos[n] or n in existing]


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _reset_if_file_changed(digest: str) -> None:
    """Forget the form's widget state when the file changed on disk (another save, an editor)."""
    if st.session_state.get(PREFIX + "digest") != digest:
        for key in [k for k in st.session_state if str(k).startswith(PREFIX)]:
            del st.session_state[key]
        st.session_state[PREFIX + "digest"] = digest


def render(
    path: Path, stored_symbols: Sequence[str] = (), author: str = "dashboard", store: Store | None = None
) -> None:
    """Draw the editor for the config file at ``path``. ``stored_symbols`` are offered too. A save
    is stored as a config version by ``author`` in ``store`` first (:func:`config_versions.save`);
    without a store (the config on disk is unreadable, so its store is unknown) only the file is written."""
    st.subheader("Configuration")
    try:
        text = path.read_text(encoding="utf-8")
        raw = json.loads(text)
        if not isinstance(raw, dict):
            raise ValueError("the file is not a JSON object")
    except (OSError, ValueError) as err:
        st.error(f"{path}: cannot edit: {err}. Fix the file by hand; the bot keeps its last good config.")
        return
    _reset_if_file_changed(_digest(text))
    shown = shown_values(raw)
    risk_specs = field_specs(RiskSettings)
    st.caption(
        f"Editing `{path}`. Saving validates with the bot's own model; the bot applies a "
        "valid change on its next cycle."
    )
    names = registry.names()
    order = [n for n in names if shown.algos[n]] + [n for n in names if not shown.algos[n]]
    chosen = st.selectbox(
        "Strategy to edit (parameters and risk overrides)",
        order,
        key=CHOSEN,
        format_func=lambda n: f"{n} (enabled)" if shown.algos[n] else n,
        help="One strategy's inputs at a time keeps the page light; save, then pick another.",
    )
    with st.form("config_form"):
        options = list(dict.fromkeys([*shown.symbols, *stored_symbols]))
        symbols = st.multiselect("Symbols", options, default=shown.symbols, key=PREFIX + "symbols")
        added = st.text_input(
            "Add symbols (BASE/QUOTE, comma separated)",
            key=PREFIX + "add_symbols",
            placeholder="e.g. SOL/USDT, XRP/USDT",
        )
        external = st.checkbox(
            "External signals (execute rows of the Signals table)",
            value=shown.external_signals,
            key=PREFIX + "external_signals",
        )
        st.markdown("**Strategies enabled**")
        algos, overrides = {}, {}
        cols = st.columns(4)
        for i, name in enumerate(names):
            with cols[i % 4]:
                algos[name] = st.checkbox(name, value=shown.algos[name], key=f"{PREFIX}algos.{name}")
        st.markdown(f"**{chosen} parameters**")
        params = {chosen: _field_grid(_param_specs(chosen), shown.params[chosen], f"{PREFIX}params.{chosen}", "off")}
        with st.expander("Risk defaults (empty = rule off)", expanded=False):
            risk = _field_grid(risk_specs, shown.risk, f"{PREFIX}risk", "off")
        if chosen in _override_names(raw, shown):
            with st.expander(f"Risk overrides for {chosen} (empty = use the default)", expanded=False):
                overrides[chosen] = _field_grid(
                    risk_specs, shown.overrides[chosen], f"{PREFIX}override.{chosen}", "inherit"
                )
        else:
            st.caption(
                f"Risk overrides are offered for enabled strategies and those that have some already; "
                f"{chosen} has neither."
            )
        with st.expander("Execution: order types (defaults for every strategy)", expanded=False):
            execution = _field_grid(field_specs(ExecutionSettings), shown.execution, f"{PREFIX}execution", "off")
        with st.expander("Dashboard checklist thresholds", expanded=False):
            board = _field_grid(field_specs(DashboardSettings), shown.dashboard, f"{PREFIX}dashboard", "default")
        submitted = st.form_submit_button("Save config", type="primary")
    if not submitted:
        return
    values = FormValues(
        symbols=list(symbols),
        added_symbols=added,
        external_signals=external,
        algos=algos,
        params=params,
        risk=risk,
        overrides=overrides,
        dashboard=board,
        execution=execution,
    )
    data, notes = apply_form(raw, shown, values)
    if data == raw:
        st.info("Nothing changed; the file was not written.")
        return
    try:
        saved = None if store is None else config_versions.save(data, path, store, author, int(time.time() * 1000))
        if store is None:
            save_config_atomic(data, path)
    except ConfigError as err:
        st.error(f"Not saved: {err}")
        return
    except StorageError as err:
        st.error(f"Not saved: the config version could not be stored ({err}); the file is unchanged.")
        return
    extra = f" ({'; '.join(notes)})" if notes else ""
    show_saved(saved, f"Saved {path}{extra}")


def show_saved(saved: config_versions.Saved | None, what: str) -> None:
    """Tell the trader what a save or rollback did, and whether the bot applies it now."""
    if saved is not None:
        what += f" as config version {saved.version.version}"
    if saved is not None and saved.restart_keys:
        st.warning(
            f"{what}. It changes {', '.join(saved.restart_keys)}, which the running bot applies only "
            "at a restart: until you restart it, the bot keeps its whole previous config (none of this "
            "change is applied)."
        )
    else:
        st.success(f"{what}. The bot applies it on its next cycle.")


def _field_grid(specs: list[FieldSpec], shown: dict, key: str, hint: str) -> dict:
    cols = st.columns(3)
    out = {}
    for i, spec in enumerate(specs):
        with cols[i % 3]:
            out[spec.name] = render_field(spec, shown[spec.name], f"{key}.{spec.name}", hint)
    return out
