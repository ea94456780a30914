"""``config.json``: one pydantic model parses and validates the whole file.

Unknown keys are rejected everywhere (``extra="forbid"``) and types are strict (a JSON boolean is
not a number, ``"5"`` is not a number, ``10.0`` is not an integer); each strategy's ``params`` are
validated by that strategy's own params model from the registry, and each strategy's ``risk``
merged with its ``risk_overrides`` entry must satisfy the rules that tie keys together. Symbols
are ccxt ``BASE/QUOTE`` of upper-case ASCII letters and digits; ``exchange`` must be one of the
ccxt exchange ids the caller passes (``ccxt.exchanges``). Errors surface as :class:`ConfigError`
with one message naming the field and the offending value. API keys never live here (see
:mod:`daybreak.exchange.secrets`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Container
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

from daybreak.core.alert_settings import NotifySettings
from daybreak.core.execution_settings import ExecutionSettings, SettingError
from daybreak.core.risk_settings import RiskOverride, RiskSettings

DEFAULT_CONFIG_PATH = "config.json"
_SYMBOL = re.compile(r"[A-Z0-9]{1,20}/[A-Z0-9]{1,20}", re.ASCII)
_URL = re.compile(r"https?://[A-Za-z0-9.\-\[\]:]{1,255}(/[!-~]*)?", re.ASCII)


def symbol_problem(symbol: str) -> str | None:
    """Why ``symbol`` is not a ccxt spot symbol ``BASE/QUOTE`` of upper-case ASCII letters and
    digits (1-20 each, e.g. ``BTC/USDT``), or None when it is one."""
    if _SYMBOL.fullmatch(symbol):
        return None
    return "not in ccxt form BASE/QUOTE of upper-case ASCII letters and digits, e.g. 'BTC/USDT'"


class StrategyCatalog(Protocol):
    """What the config model needs of the strategy registry: its names and each strategy's
    params model (``strategies.registry`` is one)."""

    def names(self) -> list[str]: ...
    def params_model(self, name: str) -> type[BaseModel]: ...


CATALOG = "strategies"
"""Validation-context key under which :func:`parse_config` hands the catalog to the model."""
EXCHANGES = "exchanges"
"""Validation-context key of the known exchange ids (a container of str, e.g. ``ccxt.exchanges``)."""


class ConfigError(ValueError):
    """A config that cannot be used. ``str(err)`` is one line naming the field and the value."""


def _file_path(value: str) -> str:
    if not value.isprintable():
        raise ValueError("a file path must not contain control characters")
    if value.endswith(("/", "\\")):
        raise ValueError("names a directory; give a file path")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, strict=True)


class OrderSize(_Strict):
    """Size of one market order: either a base ``amount`` (e.g. 0.001 BTC) or a quote ``stake``."""

    amount: float | None = Field(None, gt=0, le=1e9, description="Base-currency amount per order")
    stake: float | None = Field(None, gt=0, le=1e9, description="Quote-currency stake per order")

    @model_validator(mode="after")
    def _one_of(self) -> OrderSize:
        if (self.amount is None) == (self.stake is None):
            raise ValueError("set exactly one of 'amount' (base) or 'stake' (quote)")
        return self


class PaperSettings(_Strict):
    """Simulated fills. Defaults: Binance.US spot taker fee 0.1 % (ccxt ``binanceus`` fee table)."""

    fee_rate: float = Field(0.001, ge=0, le=0.05, description="Taker fee (market orders) as a fraction of notional")
    maker_fee_rate: float | None = Field(
        None,
        ge=0,
        le=0.05,
        description=(
            "Maker fee (resting limit fills) as a fraction of notional; null: the market's maker rate "
            "(ccxt market 'maker') when markets come from the exchange, else fee_rate"
        ),
    )
    slippage_bps: float = Field(5.0, ge=0, le=1000, description="Adverse price move per fill, basis points")
    starting_balance: float = Field(10_000.0, gt=0, le=1e12, description="Paper account, quote currency")


class StorageSettings(_Strict):
    """Where trades, stats, prices and signals live."""

    backend: Literal["sqlite", "dynamodb"] = "sqlite"
    path: str = Field("data/daybreak.db", min_length=1, max_length=4096, description="SQLite file (sqlite backend)")
    region: str = Field("us-east-1", pattern=r"^[a-z0-9-]{1,50}$", description="AWS region (dynamodb backend)")
    table_prefix: str = Field("Daybreak", pattern=r"^[A-Za-z0-9_.-]{0,200}$", description="DynamoDB table name prefix")
    endpoint_url: str | None = Field(None, description="Local DynamoDB-compatible server, e.g. http://localhost:8000")
    price_retention_days: float = Field(30.0, gt=0, le=3650, description="HistoricalPrices TTL, days")
    signal_retention_days: float = Field(
        7.0, gt=0, le=3650, description="Signals rows expire this long after the bot finished them (DynamoDB TTL)"
    )

    _path = field_validator("path")(classmethod(lambda cls, v: _file_path(v)))

    @field_validator("endpoint_url")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is not None and not _URL.fullmatch(value):
            raise ValueError("must be an http(s) URL such as http://127.0.0.1:4567")
        return value


class LogSettings(_Strict):
    path: str = Field("logs/daybreak.log", min_length=1, max_length=4096, description="Rotating log file")
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    _path = field_validator("path")(classmethod(lambda cls, v: _file_path(v)))


class DashboardSettings(_Strict):
    """The dashboard's daily checklist thresholds and refresh period (the bot ignores them)."""

    daily_pnl_min_ratio: float = Field(
        -0.01,
        ge=-1,
        le=0,
        description=(
            "Checklist: today's P&L (realized plus open) below this fraction of the day's starting equity is red"
        ),
    )
    daily_pnl_max_ratio: float = Field(
        0.03,
        ge=0,
        le=10,
        description=("Checklist: today's P&L above this fraction is red too (check a windfall before trusting it)"),
    )
    repeated_errors: int = Field(
        3, ge=1, le=1000, description=("Checklist: this many log errors with the same message in the last hour are red")
    )
    min_win_rate_ratio: float | None = Field(
        None,
        ge=0,
        le=1,
        description=("Checklist: a 24 h win rate below this (with 5 or more closed trades) is red; empty = off"),
    )
    refresh_seconds: float = Field(
        5.0, ge=1, le=3600, description=("Auto-refresh period of the Operations page, seconds (at least poll_seconds)")
    )

    @model_validator(mode="after")
    def _band(self) -> DashboardSettings:
        if self.daily_pnl_min_ratio >= self.daily_pnl_max_ratio:
            raise ValueError("daily_pnl_min_ratio must be below daily_pnl_max_ratio")
        return self


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
    account_sync_seconds: float = Field(
        60.0,
        ge=5,
        le=3600,
        description="Live: seconds between reads of the exchange balance (also at start and after every fill)",
    )
    control_max_age_seconds: float = Field(
        300.0, gt=0, le=86_400, description="A control older than this when a bot starts is expired, not executed"
    )
    order_size: dict[str, OrderSize] = Field(
        default_factory=lambda: {"default": OrderSize(stake=100.0)},
        description="Per symbol, plus 'default' for the rest",
    )
    paper: PaperSettings = Field(default_factory=PaperSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    log: LogSettings = Field(default_factory=LogSettings)
    risk: RiskSettings = Field(default_factory=RiskSettings)
    risk_overrides: dict[str, RiskOverride] = Field(default_factory=dict)
    execution: ExecutionSettings = Field(default_factory=ExecutionSettings)
    execution_overrides: dict[str, ExecutionSettings] = Field(default_factory=dict)
    notify: NotifySettings = Field(default_factory=NotifySettings)
    dashboard: DashboardSettings = Field(default_factory=DashboardSettings)

    @field_validator("symbols")
    @classmethod
    def _symbols(cls, value: list[str]) -> list[str]:
        for i, sym in enumerate(value):
            problem = symbol_problem(sym)
            if problem:
                raise _FieldError(("symbols", i), sym, problem)
            if sym in value[:i]:
                raise _FieldError(("symbols", i), sym, "listed twice")
        return value

    @field_validator("exchange")
    @classmethod
    def _exchange(cls, value: str, info: ValidationInfo) -> str:
        known = (info.context or {}).get(EXCHANGES)
        if known is not None and value not in known:
            raise ValueError("not a ccxt exchange id (lower case, e.g. 'binanceus', 'binance', 'kraken')")
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
    def _cross_checks(self, info: ValidationInfo) -> Config:
        catalog = _catalog(info)
        if catalog is not None:
            known = catalog.names()
            for name, raw in self.params.items():
                if name not in known:
                    raise _FieldError(("params", name), name, f"unknown strategy; registered: {', '.join(known)}")
                try:
                    catalog.params_model(name).model_validate(raw, strict=True)
                except ValidationError as err:
                    loc, value, msg = _first_error(err)
                    raise _FieldError(("params", name, *loc), value, msg) from None
            for section in ("risk_overrides", "execution_overrides"):
                for name in getattr(self, section):
                    if name not in known:
                        raise _FieldError((section, name), name, "unknown strategy")
        for name, override in self.risk_overrides.items():
            if "day_timezone" in override.model_fields_set and override.day_timezone != self.risk.day_timezone:
                raise _FieldError(
                    ("risk_overrides", name, "day_timezone"),
                    override.day_timezone,
                    "the trading day is account-wide (its counters are shared by every "
                    f"strategy): set it in risk.day_timezone (now {self.risk.day_timezone!r})",
                )
            try:
                self.risk_for(name)
            except ValidationError as err:
                _, _, msg = _first_error(err)
                raise _FieldError(
                    ("risk_overrides", name),
                    override.model_dump(exclude_unset=True),
                    f"merged with 'risk' this breaks a rule: {msg}",
                ) from None
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
    if isinstance(first.get("input"), bool) and first["type"] in ("float_type", "int_type"):
        msg += " (true/false is not a number)"
    return tuple(first["loc"]), first.get("input"), msg


def describe_error(err: ValidationError, source: str = "config") -> str:
    """One line: ``<source>: <dotted.field> = <value>: <problem>``."""
    loc, value, msg = _first_error(err)
    field = (
        ".".join(str(p) if re.fullmatch(r"[\w/-]+", str(p), re.ASCII) else json.dumps(str(p)) for p in loc) or "(root)"
    )
    try:
        shown = json.dumps(value, default=str, ensure_ascii=True)
    except (ValueError, RecursionError):
        shown = "{...}"
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return f"{source}: {field} = {shown}: {msg}"


def parse_config(
    data: Any, catalog: StrategyCatalog, source: str = "config", exchanges: Container[str] | None = None
) -> Config:
    """Validate a decoded JSON object, strategy names and params against ``catalog`` and the
    exchange id against ``exchanges`` (None: not checked). Raises :class:`ConfigError`."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: (root) = {type(data).__name__}: must be a JSON object")
    try:
        return Config.model_validate(data, context={CATALOG: catalog, EXCHANGES: exchanges})
    except ValidationError as err:
        raise ConfigError(describe_error(err, source)) from None


def config_to_json(cfg: Config) -> dict:
    """The config as a JSON-ready dict, without keys left at ``None`` inside ``order_size``."""
    data = cfg.model_dump(mode="json", exclude_unset=False)
    data["order_size"] = {k: {kk: vv for kk, vv in v.items() if vv is not None} for k, v in data["order_size"].items()}
    data["risk"] = cfg.risk.model_dump(mode="json", exclude_unset=True) if cfg.risk.model_fields_set else data["risk"]
    data["risk_overrides"] = {k: v.model_dump(mode="json", exclude_unset=True) for k, v in cfg.risk_overrides.items()}
    data["execution"] = cfg.execution.model_dump(mode="json", exclude_unset=True)
    data["execution_overrides"] = {
        k: v.model_dump(mode="json", exclude_unset=True) for k, v in cfg.execution_overrides.items()
    }
    return data
