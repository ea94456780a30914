"""Dashboard login: nothing is shown until the trader logs in, whenever a password hash is set.

* The password is stored only as an argon2id hash (argon2-cffi, RFC 9106 parameters):
  ``bot.py dashboard-password`` prints one; it goes into ``DAYBREAK_DASHBOARD_PASSWORD_HASH`` or
  the Secrets Manager secret's ``dashboard_password_hash`` key
  (:func:`daybreak.ops.operator_secrets.dashboard_password_hash`). The user name is
  ``DAYBREAK_DASHBOARD_USER`` (default ``trader``).
* Without a hash the dashboard serves only a loopback address (``server.address`` 127.0.0.1,
  ::1 or localhost); on any other address, Streamlit's default of every interface included, it
  shows a refusal and nothing else.
* Failed logins are logged (user name tried, client address) and rate limited per client address:
  :data:`MAX_FAILURES` within :data:`WINDOW_SECONDS` lock that client out for
  :data:`LOCKOUT_SECONDS`, the right password included. The counter is one per dashboard process,
  shared by every browser session.
* The login lives in Streamlit's own per-connection session state: closing or reloading the tab
  logs out. ``Log out`` in the sidebar does it at once.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping

import streamlit as st

from daybreak.ops.operator_secrets import OperatorSecretError, dashboard_password_hash
from daybreak.ops.passwords import verify

log = logging.getLogger("daybreak.dashboard")

ENV_USER = "DAYBREAK_DASHBOARD_USER"
DEFAULT_USER = "trader"
LOCAL_USER = "local"
"""Who the audit names when no password is configured (loopback only)."""
MAX_FAILURES = 5
WINDOW_SECONDS = 300.0
LOCKOUT_SECONDS = 300.0
SESSION_KEY = "auth.user"


def is_loopback(address: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``; False for an empty address (every interface)."""
    if not address:
        return False
    if address.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip().strip("[]")).is_loopback
    except ValueError:
        return False


class LoginThrottle:
    """Failed logins per client: ``max_failures`` within ``window`` seconds lock the client out for
    ``lockout`` seconds. Thread-safe (one per dashboard process, every session uses it)."""

    def __init__(
        self,
        max_failures: int = MAX_FAILURES,
        window: float = WINDOW_SECONDS,
        lockout: float = LOCKOUT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.max_failures, self.window, self.lockout, self._clock = max_failures, window, lockout, clock
        self._lock = threading.Lock()
        self._failures: dict[str, list[float]] = {}
        self._locked_until: dict[str, float] = {}

    def locked_for(self, client: str) -> float:
        """Seconds ``client`` must still wait (0 when it may try)."""
        with self._lock:
            return max(0.0, self._locked_until.get(client, 0.0) - self._clock())

    def failed(self, client: str) -> bool:
        """Count a failure; True when it locked ``client`` out."""
        now = self._clock()
        with self._lock:
            recent = [t for t in self._failures.get(client, []) if now - t < self.window] + [now]
            self._failures[client] = recent
            if len(recent) >= self.max_failures:
                self._locked_until[client] = now + self.lockout
                self._failures[client] = []
                return True
            return False

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)


@st.cache_resource(show_spinner=False)
def _throttle() -> LoginThrottle:
    return LoginThrottle()


def require_login(environ: Mapping[str, str] | None = None) -> str:
    """The logged-in user name, or stop the page (``st.stop``) after drawing the login form or the
    refusal. Call it first, before anything reads storage. Returns :data:`LOCAL_USER` when no
    hash is configured and the dashboard serves a loopback address only."""
    env = os.environ if environ is None else environ
    address = st.get_option("server.address")
    try:
        password_hash = dashboard_password_hash(env)
    except OperatorSecretError as err:
        st.error(f"Dashboard password hash unavailable: {err}. Nothing is shown until it can be read.")
        st.stop()
    if not password_hash:
        if is_loopback(address):
            return LOCAL_USER
        shown = address or "every interface"
        st.error(
            f"This dashboard serves {shown} but no password is set, so it shows nothing. Set "
            "DAYBREAK_DASHBOARD_PASSWORD_HASH (make one with `bot.py dashboard-password`), or serve "
            "127.0.0.1 only (`make dashboard` does by default)."
        )
        log.error("dashboard refused: server.address %s is not loopback and no password hash is set", shown)
        st.stop()
    user = st.session_state.get(SESSION_KEY)
    if user:
        st.sidebar.caption(f"Logged in as **{user}**")
        if st.sidebar.button("Log out", key="auth_logout"):
            del st.session_state[SESSION_KEY]
            st.rerun()
        return user
    _login_form(password_hash, (env.get(ENV_USER) or DEFAULT_USER).strip())
    st.stop()


def _login_form(password_hash: str, expected_user: str) -> None:
    st.subheader("Log in")
    with st.form("auth_login"):
        name = st.text_input("User name", key="auth_user_input")
        password = st.text_input("Password", type="password", key="auth_password_input")
        submitted = st.form_submit_button("Log in", type="primary")
    if not submitted:
        return
    address = st.context.ip_address  # the browser's address (a reverse proxy's, behind one)
    client = address if isinstance(address, str) and address else "unknown"
    throttle = _throttle()
    wait = throttle.locked_for(client)
    if wait:
        log.warning("dashboard login refused for %r from %s: locked out for %.0f s more", name, client, wait)
        st.error(f"Too many failed logins from this address; try again in {wait:.0f} s.")
        return
    try:
        ok = verify(password_hash, password)
    except ValueError as err:
        st.error(str(err))
        return
    if ok and hmac.compare_digest(name.strip().encode(), expected_user.encode()):
        throttle.succeeded(client)
        log.info("dashboard login of %r from %s", expected_user, client)
        st.session_state[SESSION_KEY] = expected_user
        st.rerun()
    locked = throttle.failed(client)
    log.warning("dashboard login failed for %r from %s%s", name, client, "; locked out" if locked else "")
    st.error(
        "Wrong user name or password."
        + (f" Too many failures: this address is locked out for {throttle.lockout:.0f} s." if locked else "")
    )
