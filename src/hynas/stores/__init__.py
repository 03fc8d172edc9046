"""Experiment stores. ``open_store(location)`` picks the backend from the path or URL:
a file path is an SQLite store, ``postgresql://...`` a PostgreSQL one."""

from __future__ import annotations

from hynas.core.errors import HynasError
from hynas.core.store import Store, TrialRecord
from hynas.stores.sql import SCHEMA_VERSION, Schedule, SQLStore
from hynas.stores.sqlite import SQLiteStore

__all__ = ["SCHEMA_VERSION", "SQLStore", "SQLiteStore", "Schedule", "Store", "TrialRecord", "open_store"]


def open_store(location: str, create: bool = True) -> SQLStore:
    if not location or "\x00" in location or not location.isprintable():
        raise HynasError(f"bad store location {location!r}: give a file path or a postgresql:// URL")
    if "://" in location:
        scheme = location.split("://", 1)[0].lower()
        if scheme in ("postgresql", "postgres"):
            from hynas.stores.postgres import PostgresStore

            return PostgresStore(location, create=create)
        raise HynasError(
            f"unsupported store URL scheme {scheme!r}; valid: postgresql://user@host/db?store=NAME, "
            "or a file path for an SQLite store"
        )
    return SQLiteStore(location, create=create)
