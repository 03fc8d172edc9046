"""Embedded SQLite store, the default: one file, many processes on one machine.

WAL journal with ``synchronous=NORMAL``: each write is one committed transaction, durable
against a killed process (SIGKILL, crash) — the guarantee a search needs; only an OS crash or power
loss may drop the last commits. Writers serialise on ``BEGIN IMMEDIATE`` with a 60 s busy timeout,
so many worker processes can append to one store at once (see ``bench/scale.py``).

The file itself (atomic creation, header and ``-wal`` checks, read-only copies) is
:mod:`hynas.stores.sqlite_file`. A file without write
permission is opened read-only (even by root), and a write to it, to a read-only folder or to a
full disk fails with a clear error inside a rolled-back transaction, so what was written before
stays intact.

Read-only views (``hynas show``/``report``) read a copy of the store in a temporary folder.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import stat
from collections.abc import Sequence
from typing import Any

from hynas.core.errors import HynasError
from hynas.stores.integrity import damaged
from hynas.stores.sql import SCHEMA_VERSION, SQLStore
from hynas.stores.sqlite_file import (
    APPLICATION_ID,
    check_header,
    check_wal,
    connect,
    create_file,
    one_line,
    os_error,
    snapshot,
    sweep,
)

__all__ = ["APPLICATION_ID", "SCHEMA_VERSION", "SQLiteStore", "check_store_path"]


def check_store_path(path: str, make_folder: bool = False) -> None:
    """Refuse a path that cannot name a store file; optionally create its folder."""
    hint = "give a file path such as hynas-runs/run.db"
    if path.endswith(("/", os.sep)) or os.path.isdir(path):
        raise HynasError(f"store {path!r} is a folder, not a file; {hint}")
    if os.path.exists(path) and not os.path.isfile(path):  # never replace a device such as /dev/null
        raise HynasError(f"store {path!r} is not a regular file (a device, pipe or socket); {hint}")
    folder = os.path.dirname(os.path.abspath(path))
    if make_folder and not os.path.isdir(folder):
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as exc:
            raise HynasError(f"cannot create the folder of store {path!r}: {os_error(exc)}; {hint}") from None
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise HynasError(f"cannot use store {path!r}: {folder!r} is not a folder; {hint}")


class SQLiteStore(SQLStore):
    placeholder = "?"

    def __init__(self, path: str, create: bool = True, read_only: bool = False) -> None:
        self.path = str(path)
        self.location = self.path
        self._view = False  # set once opened when read_only: a private copy that is never written
        self._copy: str | None = None
        check_store_path(self.path)
        exists = os.path.exists(self.path) and os.path.getsize(self.path) > 0
        if not exists and not create:
            raise HynasError(f"no store at {self.path!r}")
        folder = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(folder):
            raise HynasError(f"cannot create store {self.path!r}: folder {folder!r} does not exist")
        if exists:
            check_header(self.path)
        else:
            create_file(self.path)
        try:
            if read_only:
                self._copy = snapshot(self.path)
                assert self._copy is not None
                self._db = connect(os.path.join(self._copy, "store.db"))
            else:
                sweep(folder, os.path.basename(self.path))  # e.g. killed between link and unlink
                check_wal(self.path)
                self._open_for_writing(folder)
        except sqlite3.Error as exc:
            self._cleanup()
            raise HynasError(f"cannot open store {self.path!r}: {one_line(exc)}") from None
        try:
            app = self._db.execute("PRAGMA application_id").fetchone()[0]
            if app != APPLICATION_ID:
                raise HynasError(
                    f"{self.path!r} is an SQLite file but not a hynas store (or a -wal log beside it "
                    "belongs to another database); refusing to touch it"
                )
            tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not tables and self.writable_file and not read_only:
                self._create_schema()  # half-created by an older hynas (marked, no tables): finish it
            elif "meta" not in tables:
                what = "it has no tables (never finished)" if not tables else "its meta table is missing"
                raise damaged(self.path, what)
            if self.writable_file:
                self._db.execute("PRAGMA synchronous=NORMAL")
            self._upgrade()  # a read-only view migrates its private copy only
            self._view = read_only
        except HynasError:
            self._cleanup()
            raise
        except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
            err = self._write_error(exc)
            self._cleanup()
            raise err or HynasError(
                f"store {self.path!r} is corrupt or unreadable: {one_line(exc)}"
            ) from None

    def _open_for_writing(self, folder: str) -> None:
        mode = os.stat(self.path).st_mode
        self.writable_file = bool(mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
        self._db = connect(self.path, "" if self.writable_file else "?mode=ro")
        self._folder = folder

    writable_file = True
    _folder = ""

    def clone(self) -> SQLiteStore:
        """Another connection to the same store (for a thread), without re-checking the file: this
        process already holds it open, and opening the file again here would drop its locks."""
        other = object.__new__(SQLiteStore)
        other.__dict__.update(self.__dict__)
        other._copy = None
        if self._view:
            raise HynasError(f"store {self.path!r} was opened read-only")
        other._open_for_writing(self._folder)
        return other

    def _cleanup(self) -> None:
        with contextlib.suppress(Exception):
            self._db.close()
        if self._copy is not None:
            shutil.rmtree(self._copy, ignore_errors=True)
            self._copy = None

    # -- backend hooks ---------------------------------------------------------------------------
    def _tx(self) -> _Tx:
        if self._view:
            raise HynasError(f"store {self.path!r} was opened read-only")
        return _Tx(self._db)

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._db.execute(sql, tuple(params)).fetchall()
        except UnicodeDecodeError as exc:  # text damaged on disk
            raise HynasError(f"store {self.path!r} is corrupt or unreadable: {one_line(exc)}") from None
        except sqlite3.DatabaseError as exc:
            err = self._write_error(exc)
            assert err is not None
            raise err from None

    def _write_error(self, exc: Exception) -> HynasError | None:
        if not isinstance(exc, sqlite3.DatabaseError):
            return None
        msg = one_line(exc)
        if isinstance(exc, sqlite3.IntegrityError):
            return HynasError(f"store {self.path!r} refused a write: {msg}")
        text = msg.lower()
        folder_ro = bool(self._folder) and not os.access(self._folder, os.W_OK)
        if "readonly" in text or "read-only" in text or (folder_ro and "unable to open" in text):
            where = f"its folder {self._folder!r} is read-only" if folder_ro else "the store is read-only"
            return HynasError(
                f"cannot write to store {self.path!r}: {msg} ({where}; give a --store in a writable "
                "folder — hynas show and report can still read it)"
            )
        if "full" in text or "disk i/o" in text or "locked" in text or "busy" in text:
            hint = " (free disk space, then run the same command to resume)" if "full" in text else ""
            return HynasError(f"cannot write to store {self.path!r}: {msg}{hint}")
        return HynasError(f"store {self.path!r} is corrupt or unreadable: {msg}")

    def close(self) -> None:
        self._cleanup()


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
