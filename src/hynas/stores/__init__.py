"""Experiment stores: every backend implements the one contract of :mod:`hynas.core.store`.

``open_store(location)`` opens a durable store, picking the backend from the path or URL: a file
path (or ``sqlite:///relative.db`` / ``sqlite:////absolute.db``, as in SQLAlchemy) is an SQLite
store, ``postgresql://...`` a PostgreSQL one. ``read_only=True`` opens a view that never changes
the store (``hynas show`` and ``report``). :class:`MemoryStore` (``MemoryStore()``) holds a search
in memory only: :func:`hynas.search` without a store and the benchmarks use it."""

from __future__ import annotations

from hynas.core.errors import HynasError
from hynas.core.store import Schedule, Store, TrialRecord
from hynas.stores.memory import MemoryStore
from hynas.stores.schema import SCHEMA_VERSION
from hynas.stores.sql import SQLStore
from hynas.stores.sqlite import SQLiteStore

__all__ = [
    "SCHEMA_VERSION",
    "MemoryStore",
    "SQLStore",
    "SQLiteStore",
    "Schedule",
    "Store",
    "TrialRecord",
    "open_store",
    "sqlite_path",
]


def sqlite_path(location: str) -> str | None:
    """The file of an SQLite store location (a path or an ``sqlite:///`` URL), else ``None``."""
    if "://" not in location:
        return location
    scheme, rest = location.split("://", 1)
    if scheme.lower() != "sqlite":
        return None
    if not rest.startswith("/") or rest in ("/", "/:memory:") or "?" in rest:
        raise HynasError(
            f"bad SQLite URL {location!r}: use sqlite:///relative/path.db or sqlite:////absolute/path.db "
            "(a file; no host, no in-memory store, no query)"
        )
    return rest[1:]


def open_store(location: str, create: bool = True, read_only: bool = False) -> SQLStore:
    if not isinstance(location, str) or not location or "\x00" in location or not location.isprintable():
        raise HynasError(f"bad store location {location!r}: give a file path or a postgresql:// URL")
    path = sqlite_path(location)
    if path is not None:
        return SQLiteStore(path, create=create and not read_only, read_only=read_only)
    scheme = location.split("://", 1)[0].lower()
    if scheme in ("postgresql", "postgres"):
        from hynas.stores.postgres import PostgresStore

        return PostgresStore(location, create=create and not read_only, read_only=read_only)
    raise HynasError(
        f"unsupported store URL scheme {scheme!r}; valid: postgresql://user@host/db?store=NAME, "
        "sqlite:///path.db, or a file path for an SQLite store"
    )
