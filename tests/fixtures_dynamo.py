"""pytest fixtures for the storage backends: a real dynalite server, moto, SQLite.

``dynalite_server`` starts ``node -r tests/dynalite_guard.js .tools/node_modules/.bin/dynalite --port <free port> --path <tmp dir>``
(``make tools`` installs it), waits until it accepts connections and kills it afterwards; it can
be killed (SIGKILL) and restarted on the same port and path mid-test. ``store_factory`` is
parametrised over ``sqlite``, ``moto`` and ``dynalite``: calling it returns a fresh, empty store
(with the tables created by ``init_db``) of that backend.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from daybreak.core.config import StorageSettings
from tests.conftest import require_tool

ROOT = Path(__file__).resolve().parent.parent
DYNALITE = ROOT / ".tools" / "node_modules" / ".bin" / "dynalite"
GUARD = ROOT / "tests" / "dynalite_guard.js"
"""Preloaded into dynalite: it survives a client that disconnects mid-request (the file says why)."""
DUMMY_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}
BACKENDS = ("sqlite", "moto", "dynalite")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DynaliteServer:
    """A dynalite process on ``port`` storing its LevelDB files in ``path``."""

    def __init__(self, path: Path, port: int | None = None):
        require_tool(DYNALITE, "run `make tools` (npm install of dynalite)")
        self.path, self.port = Path(path), port or free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def _log(self) -> Path:
        return self.path.parent / f"{self.path.name}.stderr.log"

    def stderr(self) -> str:
        """What dynalite wrote to stderr (its crash message, if it died)."""
        return self._log.read_text(errors="replace")[-3000:] if self._log.exists() else ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> DynaliteServer:
        self.path.mkdir(parents=True, exist_ok=True)
        log = self._log.open("ab")  # a file, not a pipe: a pipe nobody reads fills up and blocks dynalite
        self.proc = subprocess.Popen(
            [
                "node",
                "-r",
                str(GUARD),
                str(DYNALITE),
                "--port",
                str(self.port),
                "--host",
                "127.0.0.1",
                "--path",
                str(self.path),
                "--createTableMs",
                "20",
                "--deleteTableMs",
                "20",
                "--updateTableMs",
                "20",
            ],
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dynalite exited with {self.proc.returncode}: {self.stderr()!r}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"dynalite did not listen on port {self.port} within {timeout} s")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=10)
        self.proc = None

    def restart(self) -> DynaliteServer:
        self.kill()
        return self.start()


@pytest.fixture
def aws_env(monkeypatch):
    """Dummy credentials so boto3 never looks for real ones (tests never reach AWS)."""
    for key, value in DUMMY_AWS_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def dynalite_server(tmp_path, aws_env):
    """A dynalite server of this test (restartable on the same port and path)."""
    server = DynaliteServer(tmp_path / "dynalite").start()
    yield server
    server.kill()


@pytest.fixture(scope="session")
def dynalite_shared(tmp_path_factory):
    """One dynalite server for the whole session; tests isolate by table prefix."""
    server = DynaliteServer(tmp_path_factory.mktemp("dynalite-shared")).start()
    yield server
    server.kill()


def dynamo_settings(endpoint_url: str | None, prefix: str | None = None, **kw) -> StorageSettings:
    """StorageSettings for the dynamodb backend with a unique table prefix."""
    return StorageSettings(
        backend="dynamodb",
        region="us-east-1",
        endpoint_url=endpoint_url,
        table_prefix=prefix or f"t{uuid.uuid4().hex[:10]}_",
        **kw,
    )


def open_dynamo(settings: StorageSettings, **store_kwargs):
    """init-db then a DynamoStore on ``settings``."""
    from storage.dynamodb import DynamoStore
    from storage.init_db import init_db

    init_db(settings)
    return DynamoStore.from_settings(settings, **store_kwargs)


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def store_factory(backend, request, tmp_path, aws_env):
    """``store_factory(**settings_overrides)`` -> a new empty store of the parametrised backend.

    The function has ``.backend`` (``sqlite``, ``moto``, ``dynalite``), ``.settings`` (the
    StorageSettings of the last store) and ``.reopen()`` (a second store on those settings).
    Every store is closed at teardown.
    """
    stores = []
    mock = None
    if backend == "moto":
        from moto import mock_aws

        mock = mock_aws()
        mock.start()
    server = request.getfixturevalue("dynalite_shared") if backend == "dynalite" else None

    def factory(**overrides):
        if backend == "sqlite":
            from storage.sqlite import SQLiteStore

            factory.settings = StorageSettings(path=str(tmp_path / f"db{len(stores)}.sqlite"), **overrides)
            store = SQLiteStore(factory.settings.path)
        else:
            factory.settings = dynamo_settings(server.endpoint_url if server else None, **overrides)
            store = open_dynamo(factory.settings, read_wait_seconds=20, flush_timeout=20)
        stores.append(store)
        return store

    def reopen():
        """A new store on the settings of the last one (its data must be there)."""
        if backend == "sqlite":
            from storage.sqlite import SQLiteStore

            store = SQLiteStore(factory.settings.path)
        else:
            from storage.dynamodb import DynamoStore

            store = DynamoStore.from_settings(factory.settings, read_wait_seconds=20, flush_timeout=20)
        stores.append(store)
        return store

    factory.backend = backend
    factory.reopen = reopen
    yield factory
    for store in stores:
        try:
            store.close()
        except Exception:
            pass
    if mock is not None:
        mock.stop()
