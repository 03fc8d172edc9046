"""Embedded SQLite store, the default: one file, many processes on one machine.

WAL journal with ``synchronous=NORMAL``: each write is one committed transaction, durable
against a killed process (SIGKILL, crash) — the guarantee a search needs; only an OS crash or power
loss may drop the last commits. Writers serialise on ``BEGIN IMMEDIATE`` with a 60 s busy timeout,
so many worker processes can append to one store at once (see ``bench/scale.py``). The file is
marked with an SQLite ``application_id`` so a foreign or corrupt file is recognised and refused
without being modified. A file without write permission is opened read-only (even by root), and a
write to it, or to a full disk, fails with a clear error inside a rolled-back transaction, so what
was written before stays intact.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from hynas.core.errors import HynasError
from hynas.stores.sql import SCHEMA_VERSION, SQLStore

__all__ = ["APPLICATION_ID", "SCHEMA_VERSION", "SQLiteStore"]

APPLICATION_ID = 0x48594E41  # "HYNA"


class SQLiteStore(SQLStore):
    placeholder = "?"

    def __init__(self, path: str, create: bool = True) -> None:
        self.path = str(path)
        self.location = self.path
        exists = os.path.exists(self.path) and os.path.getsize(self.path) > 0
        if not exists and not create:
            raise HynasError(f"no store at {self.path!r}")
        if exists:
            _check_header(self.path)
        parent = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(parent):
            raise HynasError(f"cannot create store {self.path!r}: folder {parent!r} does not exist")
        self.read_only = exists and not (
            os.stat(self.path).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
        )
        try:
            if self.read_only:
                uri = "file:" + quote(os.path.abspath(self.path)) + "?mode=ro"
                self._db = sqlite3.connect(uri, uri=True, timeout=60.0, isolation_level=None)
            else:
                self._db = sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
        except sqlite3.Error as exc:
            raise HynasError(f"cannot open store {self.path!r}: {_one_line(exc)}") from None
        try:
            if exists:
                app = self._db.execute("PRAGMA application_id").fetchone()[0]
                if app != APPLICATION_ID:
                    self._db.close()
                    raise HynasError(
                        f"{self.path!r} is an SQLite file but not a hynas store; refusing to touch it"
                    )
            if not exists:
                # mark the file before WAL mode, so the mark is in the main file's header at once
                # (a WAL frame would leave it out of the header until the first checkpoint)
                self._db.execute(f"PRAGMA application_id={APPLICATION_ID}")
            if not self.read_only:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
            if not exists:
                self._create_schema()
            self._upgrade()
        except HynasError:
            self._db.close()
            raise
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise HynasError(f"store {self.path!r} is corrupt or unreadable: {_one_line(exc)}") from None

    # -- backend hooks ---------------------------------------------------------------------------
    def _tx(self) -> _Tx:
        return _Tx(self._db)

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._db.execute(sql, tuple(params)).fetchall()
        except sqlite3.DatabaseError as exc:
            err = self._write_error(exc)
            assert err is not None
            raise err from None

    def _write_error(self, exc: Exception) -> HynasError | None:
        if not isinstance(exc, sqlite3.DatabaseError):
            return None
        msg = _one_line(exc)
        if isinstance(exc, sqlite3.IntegrityError):
            return HynasError(f"store {self.path!r} refused a write: {msg}")
        text = msg.lower()
        if "readonly" in text or "read-only" in text:
            return HynasError(
                f"cannot write to store {self.path!r}: {msg} (the store is read-only; give a writable --store)"
            )
        if "full" in text or "disk i/o" in text or "locked" in text or "busy" in text:
            hint = " (free disk space, then run the same command to resume)" if "full" in text else ""
            return HynasError(f"cannot write to store {self.path!r}: {msg}{hint}")
        return HynasError(f"store {self.path!r} is corrupt or unreadable: {msg}")

    def close(self) -> None:
        self._db.close()


class _Tx:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None:
            try:
                self.db.execute("COMMIT")
            except sqlite3.Error:
                if self.db.in_transaction:
                    self.db.execute("ROLLBACK")
                raise
        elif self.db.in_transaction:
            self.db.execute("ROLLBACK")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _check_header(path: str) -> None:
    try:
        with open(path, "rb") as fh:
            head = fh.read(100)
    except OSError as exc:
        raise HynasError(f"cannot read store {path!r}: {exc.strerror}") from None
    if not head.startswith(b"SQLite format 3\x00"):
        raise HynasError(f"{path!r} is not a hynas store (not an SQLite database); refusing to touch it")
    if len(head) >= 72 and int.from_bytes(head[68:72], "big") != APPLICATION_ID:
        raise HynasError(f"{path!r} is an SQLite file but not a hynas store; refusing to touch it")
