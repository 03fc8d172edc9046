"""Experiment stores. ``open_store(path)`` picks the backend from the path or URL."""

from __future__ import annotations

from hynas.core.errors import HynasError
from hynas.core.store import Store, TrialRecord
from hynas.stores.sqlite import SQLiteStore

__all__ = ["SQLiteStore", "Store", "TrialRecord", "open_store"]


def open_store(location: str, create: bool = True) -> Store:
    if "://" in location:
        raise HynasError(f"unsupported store URL {location!r}; give a file path for an SQLite store")
    return SQLiteStore(location, create=create)
