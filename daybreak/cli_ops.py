"""The operator-safety subcommands of ``bot.py`` (registered by :mod:`daybreak.cli`): ``notify-test``.

Exit codes as everywhere: 0 ok, 1 runtime failure (a target or check failed), 2 bad input.
"""
from __future__ import annotations

import sys

from daybreak.core.config import Config
from daybreak.ops.notify import ENV_VAR as ENV_NOTIFY_URLS
from daybreak.ops.notify import send_test
from daybreak.ops.operator_secrets import SECRET_NOTIFY_URLS, OperatorSecretError, notify_urls


def add_parsers(cmd) -> None:
    """Add the subcommands; ``cmd(name, help)`` makes a subparser with ``--config``."""
    cmd("notify-test", "send a test alert to every configured notification URL and say which worked")


def cmd_notify_test(args, config: Config) -> int:
    try:
        urls = notify_urls()
    except OperatorSecretError as err:
        print(f"error: notification URLs: {err}", file=sys.stderr)
        return 1
    if not urls:
        print(f"error: no notification URLs: set {ENV_NOTIFY_URLS} (apprise URLs, space or comma separated) "
              f"or the secret key {SECRET_NOTIFY_URLS!r}", file=sys.stderr)
        return 2
    results = send_test(urls)
    for shown, ok, error in results:
        print(f"{'OK  ' if ok else 'FAIL'} {shown}" + ("" if ok else f": {error}"))
    failed = sum(not ok for _, ok, _ in results)
    print(f"{len(results) - failed} of {len(results)} notification target(s) worked")
    if not config.notify.enabled:
        print("note: notify.enabled is false in the config; the bot sends no alerts until it is true")
    return 1 if failed else 0


COMMANDS = {"notify-test": cmd_notify_test}
