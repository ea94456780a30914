"""Storage backends behind one interface (:class:`storage.base.Store`)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from storage.base import StorageError, Store  # noqa: F401

if TYPE_CHECKING:
    from daybreak.core.config import StorageSettings


def open_store(settings: "StorageSettings") -> Store:
    """Open the backend named by ``settings.backend`` (``sqlite`` or ``dynamodb``)."""
    if settings.backend == "sqlite":
        from storage.sqlite import SQLiteStore

        return SQLiteStore(settings.path)
    if settings.backend == "dynamodb":
        from storage.dynamodb import DynamoStore

        return DynamoStore.from_settings(settings)
    raise ValueError(f"storage.backend {settings.backend!r} is not 'sqlite' or 'dynamodb'")
