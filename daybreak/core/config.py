"""``config.json``: one pydantic model parses and validates the whole file.

Unknown keys are rejected everywhere (``extra="forbid"``); each strategy's ``params`` are validated
by that strategy's own params model from the registry. Errors surface as :class:`ConfigError` with
one message naming the field and the offending value. API keys never live here (see
:mod:`daybreak.exchange.secrets`).
"""
from __future__ import annotations

import json
from typing import Any, Literal, Protocol

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from daybreak.core.execution_settings import ExecutionSettings, SettingError
from daybreak.core.risk_settings import RiskSettings

DEFAULT_CONFIG_PATH = "config.json"


class StrategyCatalog(Protocol):
    """What the config model needs of the strategy registry: its names and each strategy's
    params model (``strategies.registry`` is one)."""

    def names(self) -> list[str]: ...
    def params_model(self, name: str) -> type[BaseModel]: ...


CATALOG = "strategies"
"""Validation-context key under which :func:`parse_config` hands the catalog to the model."""


class ConfigError(ValueError):
    """A config that cannot be used. ``str(err)`` is one line naming the field and the value."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class OrderSize(_Strict):
    """Size of one market order: either a base ``amount`` (e.g. 0.001 BTC) or a quote ``stake``."""

    amount: float | None = Field(None, gt=0, le=1e9, description="Base-currency amount per order")
    stake: float | None = Field(None, gt=0, le=1e9, description="Quote-currency stake per order")

    @model_validator(mode="after")
    def _one_of(self) -> "OrderSize":
        if (self.amount is None) == (self.stake is None):
            raise ValueError("set exactly one of 'amount' (base) or 'stake' (quote)")
        return self


class PaperSettings(_Strict):
    """Simulated fills. Defaults: Binance.US spot taker fee 0.1 % (ccxt ``binanceus`` fee table)."""

    fee_rate: float = Field(0.001, ge=0, le=0.05, description="Taker fee (market orders) as a fraction of notional")
    maker_fee_rate: float | None = Field(None, ge=0, le=0.05, description=(
        "Maker fee (resting limit fills) as a fraction of notional; null: the market's maker rate "
        "(ccxt market 'maker') when markets come from the exchange, else fee_rate"))
    slippage_bps: float = Field(5.0, ge=0, le=1000, description="Adverse price move per fill, basis points")
    starting_balance: float = Field(10_000.0, gt=0, le=1e12, description="Paper account, quote currency")


class StorageSettings(_Strict):
    """Where trades, stats, prices and signals live."""

    backend: Literal["sqlite", "dynamodb"] = "sqlite"
    path: str = Field("data/daybreak.db", min_length=1, description="SQLite file (sqlite backend)")
    region: str = Field("us-east-1", min_length=1, description="AWS region (dynamodb backend)")
    table_prefix: str = Field("Daybreak", pattern=r"^[A-Za-z0-9_.-]{0,200}$", description="DynamoDB table name prefix")
    endpoint_url: str | None = Field(None, description="Local DynamoDB-compatible server, e.g. http://localhost:8000")
    price_retention_days: float = Field(30.0, gt=0, le=3650, description="HistoricalPrices TTL, days")


class LogSettings(_Strict):
    path: str = Field("logs/daybreak.log", min_length=1, description="Rotating log file")
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class Config(_Strict):
    """The whole ``config.json``. See README "Configuration" for every key."""

    mode: Literal["paper", "live"] = "paper"
    exchange: str = Field("binanceus", min_length=2, description="ccxt exchange id")
    symbols: list[str] = Field(default_factory=lambda: ["BTC/USDT", "ETH/USDT"], min_length=1)
    algos: dict[str, bool] = Field(default_factory=lambda: {"MA_Crossover": True})
    params: dict[str, dict[str, Any]] = Field(default_factory=dict)
    external_signals: bool = False
    external_signal_max_age_seconds: float = Field(300.0, gt=0, le=86_400, description="Older signals are stale")
    poll_seconds: float = Field(5.0, ge=0.5, le=3600, description="Seconds between polls (live)")
    price_save_seconds: float = Field(60.0, ge=1, le=86_400, description="Seconds between stored prices (live)")
    account_sync_seconds: float = Field(60.0, ge=5, le=3600,
                                        description="Live: seconds between reads of the exchange balance (also at start and after every fill)")
    control_max_age_seconds: float = Field(300.0, gt=0, le=86_400,
                                           description="A control older than this when a bot starts is expired, not executed")
    order_size: dict[str, OrderSize] = Field(
        default_factory=lambda: {"default": OrderSize(stake=100.0)},
        description="Per symbol, plus 'default' for the rest",
    )
    paper: PaperSettings = Field(default_factory=PaperSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    log: LogSettings = Field(default_factory=LogSettings)
    risk: RiskSettings = Field(default_factory=RiskSettings)
    risk_overrides: dict[str, RiskSettings] = Field(default_factory=dict)
    execution: ExecutionSettings = Field(default_factory=ExecutionSettings)
    execution_overrides: dict[str, ExecutionSettings] = Field(default_factory=dict)

    @field_validator("symbols")
    @classmethod
    def _symbols(cls, value: list[str]) -> list[str]:
        for sym in value:
            base, _, quote = sym.partition("/")
            if not base or not quote or not sym.isupper() or " " in sym:
                raise ValueError(f"symbol {sym!r} is not in ccxt form BASE/QUOTE, e.g. 'BTC/USDT'")
        if len(set(value)) != len(value):
            raise ValueError("symbols are listed twice")
        return value

    @field_validator("algos")
    @classmethod
    def _algos(cls, value: dict[str, bool], info: ValidationInfo) -> dict[str, bool]:
        catalog = _catalog(info)
        for name in value:
            if catalog is not None and name not in catalog.names():
                raise ValueError(f"unknown strategy {name!r}; registered: {', '.join(catalog.names())}")
        return value

    @model_validator(mode="after")
    def _cross_checks(self, info: ValidationInfo) -> "Config":
        catalog = _catalog(info)
        if catalog is not None:
            known = catalog.names()
            for name, raw in self.params.items():
                if name not in known:
                    raise _FieldError(("params", name), name, f"unknown strategy; registered: {', '.join(known)}")
                try:
                    catalog.params_model(name).model_validate(raw)
                except ValidationError as err:
                    loc, value, msg = _first_error(err)
                    raise _FieldError(("params", name, *loc), value, msg) from None
            for section in ("risk_overrides", "execution_overrides"):
                for name in getattr(self, section):
                    if name not in known:
                        raise _FieldError((section, name), name, "unknown strategy")
        self._check_execution()
        for key in self.order_size:
            if key != "default" and key not in self.symbols:
                raise _FieldError(("order_size", key), key, "not one of 'symbols' (or 'default')")
        if self.storage.backend == "dynamodb" and not self.storage.table_prefix:
            raise _FieldError(("storage", "table_prefix"), "", "required for the dynamodb backend")
        return self

    # -- derived views -----------------------------------------------------------------------
    def enabled_algos(self) -> list[str]:
        """Names of the enabled strategies, in config order."""
        return [name for name, on in self.algos.items() if on]

    def size_for(self, symbol: str) -> OrderSize:
        """Order size for ``symbol``: its own entry, else ``default``."""
        return self.order_size.get(symbol) or self.order_size.get("default") or OrderSize(stake=100.0)

    def _check_execution(self) -> None:
        """Each strategy's execution settings against its risk rules (e.g. a resting take-profit
        needs a take-profit ratio); names the section the offending key was set in."""
        for algo in [None, *dict.fromkeys([*self.risk_overrides, *self.execution_overrides])]:
            try:
                execution = self.execution if algo is None else self.execution_for(algo)
            except ValidationError as err:  # the override and the base together are impossible
                loc, value, msg = _first_error(err)
                raise _FieldError(("execution_overrides", algo, *loc), value, f"{msg} (with execution)") from None
            problem = execution.risk_problem(self.risk if algo is None else self.risk_for(algo))
            if problem is None:
                continue
            key, msg = problem
            own = algo is not None and key in self.execution_overrides.get(algo, ExecutionSettings()).model_fields_set
            loc = ("execution_overrides", algo, key) if own else ("execution", key)
            if algo is not None and not own:
                msg = f"{msg} (strategy {algo})"
            raise _FieldError(loc, getattr(execution, key), msg)

    def execution_for(self, algo: str) -> ExecutionSettings:
        """Execution settings of ``algo``: ``execution`` with the keys set in
        ``execution_overrides[algo]`` on top."""
        override = self.execution_overrides.get(algo)
        if override is None:
            return self.execution
        merged = self.execution.model_dump()
        merged.update(override.model_dump(exclude_unset=True))
        return ExecutionSettings.model_validate(merged)

    def risk_for(self, algo: str) -> RiskSettings:
        """Risk settings of ``algo``: ``risk`` with the keys set in ``risk_overrides[algo]`` on top."""
        override = self.risk_overrides.get(algo)
        if override is None:
            return self.risk
        merged = self.risk.model_dump()
        merged.update(override.model_dump(exclude_unset=True))
        return RiskSettings.model_validate(merged)


def _catalog(info: ValidationInfo) -> StrategyCatalog | None:
    """The catalog :func:`parse_config` passed; ``None`` for a Config built in code, whose
    strategy names and params are then checked where the strategies are built."""
    return (info.context or {}).get(CATALOG)


class _FieldError(ValueError):
    def __init__(self, loc: tuple, value: Any, msg: str):
        super().__init__(msg)
        self.loc, self.value, self.msg = loc, value, msg


def _first_error(err: ValidationError) -> tuple[tuple, Any, str]:
    first = err.errors()[0]
    ctx_err = (first.get("ctx") or {}).get("error")
    if isinstance(ctx_err, _FieldError):
        return ctx_err.loc, ctx_err.value, ctx_err.msg
    if isinstance(ctx_err, SettingError):  # a combination of keys refused by a section's model
        return (*first["loc"], ctx_err.setting_key), ctx_err.value, str(ctx_err)
    msg = first["msg"].removeprefix("Value error, ")
    return tuple(first["loc"]), first.get("input"), msg


def describe_error(err: ValidationError, source: str = "config") -> str:
    """One line: ``<source>: <dotted.field> = <value>: <problem>``."""
    loc, value, msg = _first_error(err)
    field = ".".join(str(p) for p in loc) or "(root)"
    shown = json.dumps(value, default=str) if not isinstance(value, dict) else "{...}"
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return f"{source}: {field} = {shown}: {msg}"


def parse_config(data: Any, catalog: StrategyCatalog, source: str = "config") -> Config:
    """Validate a decoded JSON object, strategy names and params against ``catalog``.
    Raises :class:`ConfigError`."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: (root) = {type(data).__name__}: must be a JSON object")
    try:
        return Config.model_validate(data, context={CATALOG: catalog})
    except ValidationError as err:
        raise ConfigError(describe_error(err, source)) from None


def config_to_json(cfg: Config) -> dict:
    """The config as a JSON-ready dict, without keys left at ``None`` inside ``order_size``."""
    data = cfg.model_dump(mode="json", exclude_unset=False)
    data["order_size"] = {k: {kk: vv for kk, vv in v.items() if vv is not None} for k, v in data["order_size"].items()}
    data["risk"] = cfg.risk.model_dump(mode="json", exclude_unset=True) if cfg.risk.model_fields_set else data["risk"]
    data["risk_overrides"] = {k: v.model_dump(mode="json", exclude_unset=True) for k, v in cfg.risk_overrides.items()}
    data["execution"] = cfg.execution.model_dump(mode="json", exclude_unset=True)
    data["execution_overrides"] = {k: v.model_dump(mode="json", exclude_unset=True)
                                   for k, v in cfg.execution_overrides.items()}
    return data
