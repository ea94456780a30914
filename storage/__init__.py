"""Storage backends behind one interface (:class:`storage.base.Store`)."""

from __future__ import annotations

from daybreak.core.config import StorageSettings
from storage.base import StorageError, Store
from storage.sqlite import SQLiteStore

__all__ = ["StorageError", "Store", "open_store"]


def open_store(settings: StorageSettings) -> Store:
    """Open the backend named by ``settings.backend`` (``sqlite`` or ``dynamodb``)."""
    if settings.backend == "sqlite":
        return SQLiteStore(settings.path)
    if settings.backend == "dynamodb":
        from storage.dynamodb import DynamoStore  # lazy: boto3 takes a second to load; SQLite never needs it

        return DynamoStore.from_settings(settings)
    raise ValueError(f"storage.backend {settings.backend!r} is not 'sqlite' or 'dynamodb'")
