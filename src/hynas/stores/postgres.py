"""PostgreSQL store: one experiment shared by drivers and workers on many machines.

Give ``--store postgresql://user:password@host:port/dbname?store=NAME``. Each store lives in its own
PostgreSQL schema ``hynas_NAME`` (default ``hynas_default``) with the same tables and schema version
as the SQLite store (:mod:`hynas.stores.sql`). Writers serialise on a transaction-scoped advisory
lock per store, so trial numbers stay dense when many processes append at once. Values are sent as
bound parameters through psycopg 3; nothing is unpickled. Needs the ``postgres`` extra
(``pip install 'hynas[postgres]'``).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from hynas.core.errors import HynasError
from hynas.stores.schema import create_schema
from hynas.stores.sql import SQLStore

__all__ = ["PostgresStore", "split_url"]

_NAME = re.compile(r"^[a-z0-9_]{1,40}$")


def split_url(url: str) -> tuple[str, str]:
    """``postgresql://...?store=NAME`` -> (connection URL without ``store``, schema name)."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise HynasError(
            f"unsupported store URL scheme {parts.scheme!r}; valid: postgresql://, or a file path"
        )
    query = parse_qsl(parts.query, keep_blank_values=True)
    names = [v for k, v in query if k == "store"]
    name = names[-1] if names else "default"
    if not _NAME.match(name):
        raise HynasError(
            f"bad store name {name!r} in the URL: use 1-40 lower-case letters, digits or '_' (e.g. ?store=run1)"
        )
    rest = urlencode([(k, v) for k, v in query if k != "store"])
    return urlunsplit((parts.scheme, parts.netloc, parts.path, rest, parts.fragment)), f"hynas_{name}"


class PostgresStore(SQLStore):
    placeholder = "%s"

    def __init__(self, url: str, create: bool = True, read_only: bool = False) -> None:
        try:
            import psycopg
        except ImportError:
            raise HynasError("PostgreSQL stores need psycopg 3: pip install 'hynas[postgres]'") from None
        self._psycopg = psycopg
        self.location = url
        self.read_only = read_only
        conninfo, self.schema = split_url(url)
        parts = urlsplit(conninfo)
        host = parts.hostname or "localhost"
        self.path = (
            f"postgresql://{host}{':' + str(parts.port) if parts.port else ''}{parts.path}#{self.schema}"
        )
        self._lock_key = zlib.crc32(self.schema.encode()) & 0x7FFFFFFF
        try:
            self._db = psycopg.connect(conninfo, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise HynasError(f"cannot connect to PostgreSQL store {self.path!r}: {first}") from None
        try:
            exists = bool(
                self._db.execute(
                    "SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = 'meta'",
                    (self.schema,),
                ).fetchall()
            )
            if not exists and not create:
                raise HynasError(f"no store at {self.path!r}")
            if not exists:
                with self._tx():
                    self._db.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
                    self._db.execute(f'SET LOCAL search_path TO "{self.schema}"')
                    create_schema(self._execute)
            self._db.execute(f'SET search_path TO "{self.schema}"')
            self._upgrade()
        except HynasError:
            self._db.close()
            raise
        except psycopg.Error as exc:
            self._db.close()
            raise HynasError(f"PostgreSQL store {self.path!r} is unusable: {exc}") from None

    # -- backend hooks ---------------------------------------------------------------------------
    @contextmanager
    def _tx(self) -> Iterator[None]:
        with self._db.transaction():
            self._db.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock_key,))
            yield

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cur = self._db.execute(sql.replace("?", "%s"), tuple(params))
        return list(cur.fetchall()) if cur.description is not None else []

    def _write_error(self, exc: Exception) -> HynasError | None:
        if isinstance(exc, self._psycopg.Error):
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            return HynasError(f"cannot write to store {self.path!r}: {first}")
        return None

    def drop(self) -> None:
        """Delete this store (its schema and every trial) — for tests and clean-up."""
        self._db.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')

    def close(self) -> None:
        self._db.close()
