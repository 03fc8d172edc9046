"""Experiment stores: every backend implements the one contract of :mod:`hynas.core.store`.

``open_store(location)`` opens a durable store, picking the backend from the path or URL: a file
path (or ``sqlite:///relative.db`` / ``sqlite:////absolute.db``, as in SQLAlchemy) is an SQLite
store, ``postgresql://...`` a PostgreSQL one, and a scheme a plug-in registered in :data:`STORES`
opens that plug-in's store. ``read_only=True`` opens a view that never changes the store (``hynas
show`` and ``report``). :class:`MemoryStore` (``MemoryStore()``) holds a search in memory only:
:func:`hynas.search` without a store and the benchmarks use it."""

from __future__ import annotations

from hynas.core.errors import HynasError
from hynas.core.registry import Registry
from hynas.core.store import Schedule, Store, TrialRecord
from hynas.stores.memory import MemoryStore
from hynas.stores.schema import SCHEMA_VERSION
from hynas.stores.sql import SQLStore
from hynas.stores.sqlite import SQLiteStore

__all__ = [
    "SCHEMA_VERSION",
    "STORES",
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


#: URL scheme -> opener ``(location, create, read_only) -> store``; a file path is ``sqlite``
STORES: Registry[SQLStore] = Registry("store")


@STORES.register("sqlite", "SQLite file: a path, or sqlite:///relative.db / sqlite:////absolute.db")
def _open_sqlite(location: str, create: bool, read_only: bool) -> SQLStore:
    return SQLiteStore(sqlite_path(location) or location, create=create, read_only=read_only)


def _open_postgres(location: str, create: bool, read_only: bool) -> SQLStore:
    from hynas.stores.postgres import PostgresStore

    return PostgresStore(location, create=create, read_only=read_only)


for _scheme in ("postgresql", "postgres"):
    STORES.add(
        _scheme, _open_postgres, "PostgreSQL: postgresql://user@host/db?store=NAME (needs hynas[postgres])"
    )


def open_store(location: str, create: bool = True, read_only: bool = False) -> SQLStore:
    if not isinstance(location, str) or not location or "\x00" in location or not location.isprintable():
        raise HynasError(f"bad store location {location!r}: give a file path or a postgresql:// URL")
    scheme = "sqlite" if sqlite_path(location) is not None else location.split("://", 1)[0].lower()
    if scheme not in STORES:
        others = [s for s in STORES if s not in ("sqlite", "postgresql", "postgres")]
        raise HynasError(
            f"unsupported store URL scheme {scheme!r}; valid: postgresql://user@host/db?store=NAME, "
            "sqlite:///path.db, or a file path for an SQLite store" + "".join(f", {s}://" for s in others)
        )
    return STORES.factory(scheme)(location, create and not read_only, read_only)
