"""``bot.py doctor``: every check a trader needs before going live, one line each with the fix.

Checks, in order: the config and each enabled strategy's merged risk; live trading allowed (live
mode); the exchange reachable and the clock skew; a market for every configured symbol, with its
filters; the API key valid; the key's trading permission on and withdrawal permission off (where
the exchange reports it, :mod:`daybreak.exchange.permissions`); the balance enough for the
configured order sizes; storage reachable, writable, every table present; the run lock free or
held by a live bot; the notification URLs (sent to only with ``send_test``).

``bot.py run`` in live mode runs the same checks (without the lock and the send) and refuses to
trade when one fails. The last report is stored in the State table (``doctor:last``, JSON).
"""

from __future__ import annotations

import fcntl
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass

from daybreak.core.config import Config
from daybreak.core.markets import MarketLimits
from daybreak.drivers.replay import strategies_for
from daybreak.exchange.client import Exchange, ExchangeError, urls_from_env
from daybreak.exchange.permissions import key_permissions
from daybreak.exchange.secrets import ApiKeys, SecretsError, live_trading_allowed, load_api_keys
from daybreak.ops.notify import Notifier, send_test
from daybreak.ops.operator_secrets import OperatorSecretError, notify_urls
from daybreak.ops.run_lock import lock_path
from storage import StorageError, open_store
from storage.init_db import missing_tables

MAX_CLOCK_SKEW_MS = 1000
"""Binance refuses a signed request stamped more than 1000 ms ahead of its clock (error -1021)."""
REPORT_STATE_KEY = "doctor:last"


@dataclass(frozen=True)
class Check:
    """One result: ``status`` PASS, FAIL or SKIP (not applicable here), what was found, the fix."""

    name: str
    status: str
    detail: str
    fix: str = ""

    @property
    def failed(self) -> bool:
        return self.status == "FAIL"

    def line(self) -> str:
        return f"{self.status:<4} {self.name}: {self.detail}" + (f" (fix: {self.fix})" if self.fix else "")


def _pass(name: str, detail: str) -> Check:
    return Check(name, "PASS", detail)


def _fail(name: str, detail: str, fix: str) -> Check:
    return Check(name, "FAIL", detail, fix)


def connect(config: Config, keys: ApiKeys | None) -> Exchange:
    """The ccxt client the checks use (signed when keys are configured), at the API host the bot
    itself uses (``DAYBREAK_EXCHANGE_URL``, :func:`~daybreak.exchange.client.urls_from_env`)."""
    urls = urls_from_env()
    if keys is None:
        return Exchange(config.exchange, retries=2, urls=urls)
    return Exchange(config.exchange, keys.api_key, keys.secret, password=keys.password, retries=2, urls=urls)


def run_checks(
    config: Config,
    *,
    env: Mapping[str, str] | None = None,
    exchange: Exchange | None = None,
    send: bool = False,
    check_lock: bool = True,
    check_skew: bool = True,
    clock: Callable[[], float] = time.time,
) -> list[Check]:
    """Every check for ``config``. ``exchange`` overrides the client built from the configured keys;
    ``send`` sends a test alert to each notification URL; ``check_lock`` off when the caller holds
    the run lock itself (``bot.py run``); ``check_skew`` off to report the clock skew without
    failing on it (``bot.py run``: the exchange refuses a request signed too far off, -1021, and the
    bot reports that). Never raises for a failing check."""
    checks = _config_checks(config)
    live = config.mode == "live"
    if live:
        allowed, reason = live_trading_allowed(config, env)
        checks.append(
            _pass("live trading", reason) if allowed else _fail("live trading", reason, "see README 'Live trading'")
        )
    keys, key_error = None, None
    try:
        keys = load_api_keys(config.exchange, env)
    except SecretsError as err:
        key_error = str(err)
    try:
        ex = exchange or connect(config, keys)
    except ExchangeError as err:
        ex = None
        checks.append(_fail("exchange", str(err), "set 'exchange' to a ccxt exchange id"))
    if ex is not None:
        reachable, markets = _exchange_checks(ex, config, checks, check_skew)
        if reachable:
            signed = keys is not None or (exchange is not None and bool(exchange.client.apiKey))
            _key_checks(ex, config, checks, signed, key_error, markets)
    checks += _storage_checks(config, clock)
    if check_lock:
        checks.append(_lock_check(config, clock))
    checks.append(_notify_check(config, env, send))
    return checks


# -- config --------------------------------------------------------------------------------------
def _config_checks(config: Config) -> list[Check]:
    out = []
    try:
        strategies = strategies_for(config)
    except Exception as err:
        return [_fail("config", f"a strategy cannot be built: {err}", "fix its params in config.json")]
    names = [s.name for s in strategies]
    out.append(
        _pass(
            "config",
            f"valid: {config.mode} mode on {config.exchange}, {len(config.symbols)} symbol(s), "
            f"strategies {', '.join(names) or 'none enabled'}",
        )
        if names or config.external_signals
        else _fail(
            "config",
            "no strategy is enabled and external_signals is off: nothing would trade",
            "enable one under 'algos' (or external_signals)",
        )
    )
    for name in names:
        risk = config.risk_for(name).model_dump(exclude_none=True)
        out.append(_pass(f"risk {name}", ", ".join(f"{k}={v}" for k, v in risk.items()) or "no rule set"))
    return out


# -- exchange ------------------------------------------------------------------------------------
def _exchange_checks(
    ex: Exchange, config: Config, checks: list[Check], check_skew: bool = True
) -> tuple[bool, dict[str, MarketLimits]]:
    started = time.monotonic()
    try:
        skew = ex.sync_clock(attempts=2)
    except ExchangeError as err:
        checks.append(
            _fail(
                "exchange",
                f"{config.exchange} unreachable: {err}",
                "check the network / the exchange's status page; the bot retries by itself",
            )
        )
        return False, {}
    took = (time.monotonic() - started) * 1000
    checks.append(
        _pass("exchange", f"{config.exchange} answers in {took:.0f} ms; clock skew {skew:+d} ms")
        if abs(skew) <= MAX_CLOCK_SKEW_MS or not check_skew
        else _fail(
            "exchange",
            f"clock skew {skew:+d} ms against {config.exchange} (more than "
            f"{MAX_CLOCK_SKEW_MS} ms: signed requests are refused)",
            "sync the machine clock: timedatectl set-ntp true (chrony)",
        )
    )
    try:
        markets = ex.load_markets()
    except ExchangeError as err:
        checks.append(_fail("markets", f"cannot load markets: {err}", "retry; check the exchange id"))
        return True, {}
    for symbol in config.symbols:
        lim = markets.get(symbol)
        checks.append(
            _fail(
                f"market {symbol}",
                f"not listed on {config.exchange}",
                f"remove {symbol} from 'symbols' or use a symbol {config.exchange} lists",
            )
            if lim is None
            else _pass(
                f"market {symbol}",
                f"min amount {lim.min_amount:g}, step {lim.amount_step:g}, "
                f"min notional {lim.min_notional:g}, price tick {lim.price_tick:g}",
            )
        )
    return True, markets


def _key_checks(
    ex: Exchange,
    config: Config,
    checks: list[Check],
    signed: bool,
    key_error: str | None,
    markets: dict[str, MarketLimits],
) -> None:
    live = config.mode == "live"
    if key_error is not None:
        checks.append(_fail("api key", key_error, "see deploy/README.md step 2"))
        return
    if not signed:
        checks.append(
            Check(
                "api key",
                "FAIL" if live else "SKIP",
                "no API keys configured" + ("" if live else " (paper mode needs none)"),
                "set DAYBREAK_API_KEY/DAYBREAK_API_SECRET or DAYBREAK_SECRET_ID" if live else "",
            )
        )
        checks.append(_balance_check(config, ex, markets, None))
        return
    quotes = sorted({s.partition("/")[2] for s in config.symbols})
    try:
        free = {q: ex.fetch_balance_free(q) for q in quotes}
    except ExchangeError as err:
        checks.append(_fail("api key", f"refused: {err}", "check key, secret and the key's IP restriction"))
        return
    checks.append(_pass("api key", f"valid (balance read: {', '.join(f'{v:,.2f} {q}' for q, v in free.items())})"))
    try:
        perms = key_permissions(ex)
    except ExchangeError as err:
        checks.append(_fail("key permissions", f"cannot read them: {err}", "retry"))
    else:
        checks += _permission_checks(perms, config.exchange)
    checks.append(_balance_check(config, ex, markets, free if live else None))


def _permission_checks(perms, exchange_id: str) -> list[Check]:
    page = f"the API management page of {exchange_id}"
    if perms.trading is None and perms.withdrawals is None:
        return [Check("key permissions", "SKIP", perms.source, f"check on {page}: trading on, withdrawals off")]
    trading = (
        _pass("trading permission", f"on ({perms.source})")
        if perms.trading
        else _fail(
            "trading permission",
            f"off ({perms.source}): orders will be refused",
            f"enable spot trading for this key on {page}",
        )
    )
    withdrawals = (
        _pass("withdrawal permission", f"off ({perms.source})")
        if not perms.withdrawals
        else _fail(
            "withdrawal permission",
            f"ON ({perms.source}): a leaked key could empty the account",
            f"disable withdrawals for this key on {page} (a bot never needs them)",
        )
    )
    return [trading, withdrawals]


def _balance_check(
    config: Config, ex: Exchange, markets: dict[str, MarketLimits], free: dict[str, float] | None
) -> Check:
    """Enough quote currency for the orders the config can have open at once: each strategy on
    each symbol one order of its configured size (``order_size``), at most ``max_open_positions``,
    plus the paper fee rate; with equity-based sizing, at least the largest minimum notional."""
    source = "exchange balance" if free is not None else "paper.starting_balance"
    need: dict[str, list[float]] = {}
    for symbol in config.symbols:
        quote = symbol.partition("/")[2]
        for algo in config.enabled_algos():
            risk = config.risk_for(algo)
            lim = markets.get(symbol)
            if risk.sizing in ("equity_fraction", "risk"):
                need.setdefault(quote, []).append(lim.min_notional if lim else 0.0)
                continue
            size = config.size_for(symbol)
            if size.stake is not None:
                cost = size.stake
            else:
                assert size.amount is not None  # OrderSize._one_of: exactly one of amount and stake is set
                try:
                    cost = size.amount * ex.fetch_last_price(symbol)
                except ExchangeError as err:
                    return _fail("balance", f"no price for {symbol}: {err}", "retry")
            need.setdefault(quote, []).append(cost * (1 + config.paper.fee_rate))
    cap = config.risk.max_open_positions
    short = []
    detail = []
    for quote, costs in need.items():
        needed = sum(sorted(costs, reverse=True)[:cap] if cap else costs)
        have = free.get(quote, 0.0) if free is not None else config.paper.starting_balance
        detail.append(f"{quote}: need {needed:,.2f}, have {have:,.2f}")
        if have < needed:
            short.append(quote)
    text = f"{'; '.join(detail) or 'no order configured'} ({source})"
    return (
        _fail("balance", text, f"deposit {', '.join(short)} or lower order_size / max_open_positions")
        if short
        else _pass("balance", text)
    )


# -- storage, lock, alerts -----------------------------------------------------------------------
def _storage_checks(config: Config, clock: Callable[[], float]) -> list[Check]:
    where = (
        config.storage.path
        if config.storage.backend == "sqlite"
        else f"{config.storage.table_prefix}* in {config.storage.region}"
    )
    try:
        missing = missing_tables(config.storage)
    except StorageError as err:
        return [
            _fail(
                "storage",
                f"{config.storage.backend} {where} unreachable: {err}",
                "check storage.* in config.json and the credentials / IAM role",
            )
        ]
    if missing:
        return [_fail("storage", f"tables missing: {', '.join(missing)}", "run: bot.py init-db")]
    try:
        store = open_store(config.storage)
        try:
            probe = str(int(clock() * 1000))
            store.set_state("doctor:probe", probe)
            store.flush()
            if store.get_state("doctor:probe") != probe:
                return [_fail("storage", f"{where}: a write did not read back", "check the store")]
        finally:
            store.close()
    except StorageError as err:
        return [
            _fail(
                "storage",
                f"{config.storage.backend} {where} not writable: {err}",
                "check permissions (file mode / IAM role)",
            )
        ]
    return [_pass("storage", f"{config.storage.backend} {where} reachable and writable, every table present")]


def _lock_check(config: Config, clock: Callable[[], float]) -> Check:
    path = lock_path(config.storage)
    if not path.exists():
        return _pass("run lock", f"free ({path}): no bot runs on this store")
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            pid = fh.read().strip() or "?"
        else:
            fcntl.flock(fh, fcntl.LOCK_UN)
            return _pass("run lock", f"free ({path}): no bot runs on this store")
    try:
        store = open_store(config.storage)
        try:
            status = store.get_status()
        finally:
            store.close()
    except StorageError:
        status = None
    age = None if status is None else clock() - status.timestamp / 1000
    if age is not None and age <= 3 * config.poll_seconds + 10:
        return _pass("run lock", f"held by the running bot (pid {pid}), heartbeat {age:.0f} s ago")
    shown = "none stored" if age is None else f"{age:.0f} s ago"
    return _fail(
        "run lock",
        f"held by pid {pid} but its heartbeat is {shown}: stuck?",
        f"look at that process; restart it (systemctl restart daybreak-bot) or kill {pid}",
    )


def _notify_check(config: Config, env: Mapping[str, str] | None, send: bool) -> Check:
    try:
        urls = notify_urls(env)
    except OperatorSecretError as err:
        return _fail("alerts", str(err), "check the secret")
    if not urls:
        return Check(
            "alerts",
            "SKIP",
            "no notification URLs: you will not hear of fills, stops or faults "
            "(trading goes on; set them before you rely on it)",
            "set DAYBREAK_NOTIFY_URLS (apprise URLs) or the secret's 'notify_urls'",
        )
    try:
        Notifier(urls, config.notify.model_copy(update={"enabled": False}))
    except ValueError as err:
        return _fail("alerts", str(err), "fix the URL (see https://github.com/caronc/apprise/wiki)")
    if not config.notify.enabled:
        return _fail("alerts", "notify.enabled is false in config.json", "set notify.enabled to true")
    if not send:
        return _pass("alerts", f"{len(urls)} notification URL(s) valid (not sent to; --send-test sends one)")
    results = send_test(urls)
    bad = [f"{shown}: {error}" for shown, ok, error in results if not ok]
    return (
        _fail("alerts", f"{len(bad)} of {len(results)} target(s) failed: {'; '.join(bad)}", "fix those URLs")
        if bad
        else _pass("alerts", f"test alert delivered to {len(results)} target(s)")
    )


def store_report(config: Config, checks: list[Check], now_ms: int) -> None:
    """Keep the report in the State table for the dashboard (best effort)."""
    try:
        store = open_store(config.storage)
        try:
            store.set_state(REPORT_STATE_KEY, json.dumps({"at": now_ms, "checks": [asdict(c) for c in checks]}))
        finally:
            store.close()
    except StorageError:
        pass
