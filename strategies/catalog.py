"""The strategy catalog behind ``python bot.py strategies [--format table|json]``.

:func:`describe_all` lists every registered strategy with its effective settings from a config;
:func:`format_table` renders those rows for a terminal. JSON output is ``json.dumps(rows)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from strategies import registry

if TYPE_CHECKING:
    from daybreak.core.config import Config

TABLE_COLUMNS = ("name", "enabled", "timeframe", "context_timeframe", "warmup", "params")


def describe_all(config: Config) -> list[dict[str, Any]]:
    """One dict per registered strategy, sorted by name.

    Keys: ``name``, ``enabled`` (bool, from ``config.algos``), ``timeframe`` (``"1m"``),
    ``context_timeframe`` (``"5m"`` or None), ``warmup`` (candles of ``timeframe``), ``params``
    (effective values: the config's, defaults elsewhere), ``params_schema`` (the params model's
    JSON schema, as the dashboard reads it) and ``doc`` (first line of the docstring). JSON-ready.
    """
    rows = []
    for cls in registry.all_classes():
        params = registry.params_for(cls.name, config.params.get(cls.name))
        strategy = cls(params)
        row = strategy.describe()
        rows.append(
            {
                "name": cls.name,
                "enabled": bool(config.algos.get(cls.name, False)),
                "timeframe": row["timeframe"],
                "context_timeframe": row["context_timeframe"],
                "warmup": row["warmup"],
                "params": params.model_dump(mode="json"),
                "params_schema": row["params_schema"],
                "doc": row["doc"],
            }
        )
    return rows


def _cell(column: str, value: Any) -> str:
    if column == "params":
        return " ".join(f"{k}={_scalar(v)}" for k, v in value.items() if k != "timeframe")
    if column == "enabled":
        return "yes" if value else "no"
    return "-" if value is None else str(value)


def _scalar(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def format_table(rows: list[dict[str, Any]]) -> str:
    """A plain-text table of :func:`describe_all` rows: name, enabled, timeframe, context, warm-up, params.

    Columns are padded to their widest cell; the last column (params as ``key=value``) is not
    padded. Returns the text without a trailing newline.
    """
    header = {
        "name": "NAME",
        "enabled": "ENABLED",
        "timeframe": "TF",
        "context_timeframe": "CONTEXT",
        "warmup": "WARMUP",
        "params": "PARAMS",
    }
    cells = [[header[c] for c in TABLE_COLUMNS]]
    cells += [[_cell(c, row[c]) for c in TABLE_COLUMNS] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(TABLE_COLUMNS) - 1)]
    lines = []
    for line in cells:
        padded = [cell.ljust(width) for cell, width in zip(line[:-1], widths, strict=True)] + [line[-1]]
        lines.append("  ".join(padded).rstrip())
    return "\n".join(lines)
