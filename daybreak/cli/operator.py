"""The operator-safety subcommands of ``bot.py`` (registered by :mod:`daybreak.cli`):
``notify-test``, ``dashboard-password``, ``config versions|show N|rollback N`` and ``doctor``.

Exit codes as everywhere: 0 ok, 1 runtime failure (a target or check failed), 2 bad input.
"""

from __future__ import annotations

import argparse
import getpass
import io
import json
import logging
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from daybreak.core.config import Config, ConfigError
from daybreak.core.domain import BotState
from daybreak.exchange.secrets import live_trading_allowed
from daybreak.ops import config_versions
from daybreak.ops.notify import ENV_VAR as ENV_NOTIFY_URLS
from daybreak.ops.notify import send_test
from daybreak.ops.operator_secrets import ENV_PASSWORD_HASH, SECRET_NOTIFY_URLS, OperatorSecretError, notify_urls
from daybreak.ops.passwords import hash_password
from storage import StorageError, open_store
from storage.base import Store
from storage.records import StatusRecord

if TYPE_CHECKING:  # the alerts module loads the engine and apprise; the commands here need neither
    from daybreak.drivers.alerts import Alerts

MIN_PASSWORD_LENGTH = 12


def add_parsers(cmd: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """Add the subcommands; ``cmd(name, help)`` makes a subparser with ``--config``."""
    cmd("notify-test", "send a test alert to every configured notification URL and say which worked")
    cmd("dashboard-password", f"read a password on standard input and print its argon2 hash for {ENV_PASSWORD_HASH}")
    cv = cmd("config", "stored config versions: list them, show one (or its diff), roll back to one")
    cv.add_argument("action", choices=["versions", "show", "rollback"])
    cv.add_argument("number", nargs="?", type=int, help="version number (show, rollback)")
    cv.add_argument("--diff", action="store_true", help="show: the diff to the version before instead")
    doc = cmd(
        "doctor",
        "check exchange, keys, permissions, balance, storage, lock, alerts and config before "
        "going live; one line per check with the fix",
    )
    doc.add_argument("--send-test", action="store_true", help="also send a test alert to every notification URL")


def cmd_notify_test(args: argparse.Namespace, config: Config) -> int:
    try:
        urls = notify_urls()
    except OperatorSecretError as err:
        print(f"error: notification URLs: {err}", file=sys.stderr)
        return 1
    if not urls:
        print(
            f"error: no notification URLs: set {ENV_NOTIFY_URLS} (apprise URLs, space or comma separated) "
            f"or the secret key {SECRET_NOTIFY_URLS!r}",
            file=sys.stderr,
        )
        return 2
    results = send_test(urls)
    for shown, ok, error in results:
        print(f"{'OK  ' if ok else 'FAIL'} {shown}" + ("" if ok else f": {error}"))
    failed = sum(not ok for _, ok, _ in results)
    print(f"{len(results) - failed} of {len(results)} notification target(s) worked")
    if not config.notify.enabled:
        print("note: notify.enabled is false in the config; the bot sends no alerts until it is true")
    return 1 if failed else 0


def cmd_dashboard_password(args: argparse.Namespace, config: Config) -> int:
    """Print the argon2id hash of the password read on stdin (asked twice on a terminal)."""
    if sys.stdin.isatty():
        password = getpass.getpass("Dashboard password: ")
        if getpass.getpass("Again: ") != password:
            print("error: the two passwords differ", file=sys.stderr)
            return 2
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < MIN_PASSWORD_LENGTH:
        print(f"error: password: {len(password)} characters; use at least {MIN_PASSWORD_LENGTH}", file=sys.stderr)
        return 2
    print(hash_password(password))
    print(
        f"put it in {ENV_PASSWORD_HASH} (single-quoted in a shell: it contains $), or the secret's "
        "'dashboard_password_hash' key",
        file=sys.stderr,
    )
    return 0


def cmd_config(args: argparse.Namespace, config: Config) -> int:
    if args.action != "versions" and args.number is None:
        print(f"error: config {args.action}: give a version number", file=sys.stderr)
        return 2
    store = open_store(config.storage)
    try:
        return _config_action(args, store)
    except StorageError as err:
        print(f"error: storage: {err}", file=sys.stderr)
        return 1
    finally:
        store.close()


def _config_action(args: argparse.Namespace, store: Store) -> int:
    if args.action == "versions":
        rows = store.list_config_versions(limit=1_000_000)
        try:
            on_disk = config_versions.canonical(config_versions.read_document(args.config))
        except ConfigError:
            on_disk = None
        status = store.get_status()
        running = (status.detail or {}).get("config_version") if status else None
        table = Table("version", "time (UTC)", "who", "note", "state")
        for r in rows:
            state = [
                s
                for s, on in (
                    ("in file", config_versions.canonical(r.document) == on_disk),
                    ("bot runs it", r.version == running),
                )
                if on
            ]
            table.add_row(
                str(r.version),
                time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(r.timestamp / 1000)),
                r.author,
                r.note,
                ", ".join(state),
            )
        out = io.StringIO()
        Console(file=out, width=160, color_system=None).print(table)
        print(out.getvalue() + f"{len(rows)} version(s)")
        return 0
    if args.action == "show":
        rec = store.get_config_version(args.number)
        if rec is None:
            print(f"error: config version {args.number} does not exist", file=sys.stderr)
            return 2
        if args.diff:
            before = store.get_config_version(args.number - 1)
            print(
                config_versions.diff(
                    before.document if before is not None else None,
                    rec.document,
                    f"version {args.number - 1}" if before else "(none)",
                    f"version {args.number}",
                )
                or "no change to the version before",
                end="",
            )
        else:
            print(json.dumps(rec.document, indent=2))
        return 0
    try:
        saved = config_versions.rollback(args.number, args.config, store, "cli", int(time.time() * 1000))
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if not saved.new:
        print(
            f"version {args.number} is already the config in force (version {saved.version.version}); nothing changed"
        )
        return 0
    print(f"rolled back to version {args.number}: {args.config} is now version {saved.version.version}")
    if saved.restart_keys:
        print(
            f"it changes {', '.join(saved.restart_keys)}: restart the bot to apply it (until then it keeps its "
            "whole previous config)"
        )
    else:
        print("the running bot applies it on its next cycle")
    return 0


def cmd_doctor(args: argparse.Namespace, config: Config) -> int:
    """Print one line per check and a summary; exit 1 when a check failed."""
    from daybreak.drivers import doctor  # lazy: loads ccxt, which the other commands here never need

    logging.getLogger("daybreak").addHandler(logging.NullHandler())  # retries are in the report, not on stderr
    checks = doctor.run_checks(config, send=args.send_test)
    for check in checks:
        print(check.line())
    failed = [c for c in checks if c.failed]
    print(f"{len(checks)} checks: {len(failed)} failed" + (f" ({', '.join(c.name for c in failed)})" if failed else ""))
    doctor.store_report(config, checks, int(time.time() * 1000))
    return 1 if failed else 0


def preflight(config: Config, alerts: Alerts) -> int | None:
    """``bot.py run`` in live mode: the doctor's checks (lock and send left out) before any order.
    None when every check passed (or live trading is not allowed at all: ``run_live`` refuses that
    with its own message, exit 2); else the exit code 1, with state ERROR stored, its reason naming
    the failing checks, and an alert."""
    from daybreak.drivers import doctor  # lazy: loads ccxt

    if not live_trading_allowed(config)[0]:
        return None
    log = logging.getLogger("daybreak")
    checks = doctor.run_checks(config, check_lock=False, check_skew=False)
    failed = [c for c in checks if c.failed]
    for check in checks:
        (log.error if check.failed else log.info)("DOCTOR %s", check.line())
    now = int(time.time() * 1000)
    doctor.store_report(config, checks, now)
    if not failed:
        return None
    reason = f"health check failed: {', '.join(c.name for c in failed)}; not trading"
    try:
        store = open_store(config.storage)
        try:
            store.put_status(
                StatusRecord(
                    now,
                    config.mode,
                    BotState.ERROR.value,
                    reason,
                    failed[0].line(),
                    now,
                    {"doctor": [c.line() for c in checks]},
                )
            )
        finally:
            store.close()
    except StorageError as err:
        log.error("ERROR state not stored: %s", err)
    alerts.state_error(reason + "\n" + "\n".join(c.line() for c in failed), now)
    print(f"error: {reason}", file=sys.stderr)
    for check in failed:
        print(f"  {check.line()}", file=sys.stderr)
    return 1


COMMANDS = {
    "notify-test": cmd_notify_test,
    "doctor": cmd_doctor,
    "dashboard-password": cmd_dashboard_password,
    "config": cmd_config,
}
