"""The dashboard login (AppTest over a real store): on a non-loopback address nothing is shown
without the right password; no password hash there means a refusal; failures are rate limited and
logged; controls record who pressed them."""

from __future__ import annotations

import logging

import pytest
from streamlit import config as st_config

from daybreak.ops.operator_secrets import ENV_PASSWORD_HASH
from daybreak.ops.passwords import hash_password
from daybreak.ui import auth
from tests.dashboard.helpers import dashboard_app

PASSWORD = "correct horse battery staple"


@pytest.fixture
def served_on():
    """Set Streamlit's ``server.address`` for the test (as ``--server.address`` would)."""
    before = st_config.get_option("server.address")
    auth._throttle.clear()
    yield lambda address: st_config.set_option("server.address", address)
    st_config.set_option("server.address", before)
    auth._throttle.clear()


@pytest.fixture(scope="module")
def password_hash() -> str:
    return hash_password(PASSWORD)


def _log_in(at, user: str, password: str):
    at.text_input(key="auth_user_input").input(user)
    at.text_input(key="auth_password_input").input(password)
    next(b for b in at.button if b.label == "Log in").click().run()
    assert not at.exception
    return at


def _shows_nothing(at) -> None:
    assert not at.dataframe and not at.metric and not at.tabs and not at.header, "no trade, status or P&L before login"
    assert not any(b.key == "control_pause" for b in at.button)


def test_network_address_shows_a_login_and_no_trades_until_the_right_password(
    deployment, monkeypatch, served_on, password_hash
):
    served_on("0.0.0.0")
    monkeypatch.setenv(ENV_PASSWORD_HASH, password_hash)
    at = dashboard_app(deployment.config_path, monkeypatch).run()
    assert any(s.value == "Log in" for s in at.subheader)
    _shows_nothing(at)
    _log_in(at, "trader", "wrong password here")
    assert any("Wrong user name or password" in e.value for e in at.error)
    _shows_nothing(at)
    _log_in(at, "someone", PASSWORD)  # the right password with another user name
    _shows_nothing(at)
    _log_in(at, "trader", PASSWORD)
    assert any(h.value == "Operations" for h in at.header) and at.metric, "logged in: the Operations page"
    at.button(key="control_pause").click().run()
    (pause,) = deployment.store.list_controls()
    assert pause.source == "dashboard:trader", "the control records who pressed it"


def test_network_address_without_a_password_hash_is_refused(deployment, monkeypatch, served_on):
    served_on("0.0.0.0")
    monkeypatch.delenv(ENV_PASSWORD_HASH, raising=False)
    monkeypatch.delenv("DAYBREAK_SECRET_ID", raising=False)
    at = dashboard_app(deployment.config_path, monkeypatch).run()
    assert any("no password is set" in e.value for e in at.error)
    _shows_nothing(at)
    assert not at.text_input, "not even a login form: there is nothing to log in with"


@pytest.mark.parametrize(
    "address, local",
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("localhost", True),
        ("127.3.2.1", True),
        ("", False),
        ("0.0.0.0", False),
        ("10.0.0.5", False),
        ("example.com", False),
    ],
)
def test_loopback_addresses(address, local):
    assert auth.is_loopback(address) is local


def test_failed_logins_lock_the_address_out_and_are_logged(deployment, monkeypatch, served_on, password_hash, caplog):
    served_on("0.0.0.0")
    monkeypatch.setenv(ENV_PASSWORD_HASH, password_hash)
    caplog.set_level(logging.WARNING, logger="daybreak.dashboard")
    at = dashboard_app(deployment.config_path, monkeypatch).run()
    for n in range(auth.MAX_FAILURES):
        _log_in(at, "trader", f"guess {n}")
    assert any("locked out" in e.value for e in at.error)
    _log_in(at, "trader", PASSWORD)
    assert any("Too many failed logins" in e.value for e in at.error)
    _shows_nothing(at)
    failures = [r for r in caplog.records if "dashboard login failed for 'trader'" in r.getMessage()]
    assert len(failures) == auth.MAX_FAILURES
    assert any("login refused" in r.getMessage() for r in caplog.records)


def test_throttle_forgets_old_failures_and_unlocks_after_the_lockout():
    now = {"t": 0.0}
    throttle = auth.LoginThrottle(max_failures=3, window=60, lockout=300, clock=lambda: now["t"])
    assert not throttle.failed("a") and not throttle.failed("a")
    now["t"] = 61  # the first two left the window
    assert not throttle.failed("a") and throttle.locked_for("a") == 0
    assert not throttle.failed("a") and throttle.failed("a"), "three within 60 s lock out"
    assert throttle.locked_for("a") == 300 and throttle.locked_for("b") == 0, "per client"
    now["t"] += 300
    assert throttle.locked_for("a") == 0


def test_a_wrong_hash_format_is_named(deployment, monkeypatch, served_on):
    served_on("0.0.0.0")
    monkeypatch.setenv(ENV_PASSWORD_HASH, "plaintext-password")
    at = dashboard_app(deployment.config_path, monkeypatch).run()
    _log_in(at, "trader", "plaintext-password")
    assert any("not an argon2 hash" in e.value for e in at.error)
    _shows_nothing(at)
