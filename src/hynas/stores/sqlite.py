"""Embedded SQLite store, the default: one file, many processes on one machine.

WAL journal with ``synchronous=NORMAL``: each write is one committed transaction, durable
against a killed process (SIGKILL, crash) — the guarantee a search needs; only an OS crash or power
loss may drop the last commits. Writers serialise on ``BEGIN IMMEDIATE`` with a 60 s busy timeout,
so many worker processes can append to one store at once (see ``bench/scale.py``).

A new store is built completely (mark, WAL mode, tables) in a hidden file in the same folder and
then linked to its name in one step, so a kill or a full disk during creation leaves either no store
or a whole one (plus, after a kill, a hidden file that the next creation removes). The file is
marked with an SQLite ``application_id`` so a foreign or corrupt file is recognised and refused
without being modified; a ``-wal`` log beside the store that would not give back a hynas store (a
stale log of another database) is refused too, before SQLite could apply it. A file without write
permission is opened read-only (even by root), and a write to it, to a read-only folder or to a
full disk fails with a clear error inside a rolled-back transaction, so what was written before
stays intact.

Read-only views (``hynas show``/``report``) read a copy of the store and its ``-wal`` in a temporary
folder, so reading never changes, checkpoints or adds a file beside the store.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import sqlite3
import stat
import tempfile
import time
import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from hynas.core.errors import HynasError
from hynas.stores.integrity import damaged
from hynas.stores.sql import SCHEMA_VERSION, SQLStore, create_schema

__all__ = ["APPLICATION_ID", "SCHEMA_VERSION", "SQLiteStore", "check_store_path"]

APPLICATION_ID = 0x48594E41  # "HYNA"
_NEW = ".hynas-new"


def check_store_path(path: str, make_folder: bool = False) -> None:
    """Refuse a path that cannot name a store file; optionally create its folder."""
    hint = "give a file path such as hynas-runs/run.db"
    if path.endswith(("/", os.sep)) or os.path.isdir(path):
        raise HynasError(f"store {path!r} is a folder, not a file; {hint}")
    folder = os.path.dirname(os.path.abspath(path))
    if make_folder and not os.path.isdir(folder):
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as exc:
            raise HynasError(
                f"cannot create the folder of store {path!r}: {_os_error(exc)}; {hint}"
            ) from None
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
            _check_header(self.path)
        else:
            _create(self.path)
        try:
            if read_only:
                self._copy = _snapshot(self.path)
                assert self._copy is not None
                self._db = _connect(os.path.join(self._copy, "store.db"))
            else:
                _sweep(folder, os.path.basename(self.path))  # e.g. killed between link and unlink
                _check_wal(self.path)
                self._open_for_writing(folder)
        except sqlite3.Error as exc:
            self._cleanup()
            raise HynasError(f"cannot open store {self.path!r}: {_one_line(exc)}") from None
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
                f"store {self.path!r} is corrupt or unreadable: {_one_line(exc)}"
            ) from None

    def _open_for_writing(self, folder: str) -> None:
        mode = os.stat(self.path).st_mode
        self.writable_file = bool(mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
        self._db = _connect(self.path, "" if self.writable_file else "?mode=ro")
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
            raise HynasError(f"store {self.path!r} is corrupt or unreadable: {_one_line(exc)}") from None
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


def _connect(path: str, query: str = "") -> sqlite3.Connection:
    """Connect through an explicit URI, so no file name is ever read as a URI or a special name."""
    uri = "file:" + quote(os.path.abspath(path)) + query
    return sqlite3.connect(uri, uri=True, timeout=60.0, isolation_level=None)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _os_error(exc: OSError) -> str:
    return exc.strerror or _one_line(exc)


def _check_header(path: str) -> None:
    try:
        with open(path, "rb") as fh:
            head = fh.read(100)
    except OSError as exc:
        raise HynasError(f"cannot read store {path!r}: {_os_error(exc)}") from None
    if not head.startswith(b"SQLite format 3\x00"):
        raise HynasError(f"{path!r} is not a hynas store (not an SQLite database); refusing to touch it")
    if len(head) >= 72 and int.from_bytes(head[68:72], "big") != APPLICATION_ID:
        raise HynasError(f"{path!r} is an SQLite file but not a hynas store; refusing to touch it")


# -- creation: build aside, then link in one step ------------------------------------------------------
def _create(path: str) -> None:
    folder, base = os.path.split(os.path.abspath(path))
    if os.path.exists(path + "-wal") and os.path.getsize(path + "-wal") > 0:
        raise HynasError(
            f"found {path + '-wal'!r} without its store {path!r}: a log of a deleted database; move it "
            "away, then run the command again"
        )
    _sweep(folder, base)
    tmp = os.path.join(folder, f".{base}.{uuid.uuid4().hex[:12]}{_NEW}")
    try:
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as exc:
        why = _os_error(exc)
        if not os.access(folder, os.W_OK) or isinstance(exc, PermissionError):
            why += f" (folder {folder!r} is not writable; give a --store in a writable folder)"
        raise HynasError(f"cannot create store {path!r}: {why}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # held while building: a sweep leaves this file alone
        db = _connect(tmp)
        try:
            db.execute(f"PRAGMA application_id={APPLICATION_ID}")
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("BEGIN IMMEDIATE")
            create_schema(lambda sql, params=(): db.execute(sql, tuple(params)).fetchall())
            db.execute("COMMIT")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            db.close()
        os.fsync(fd)
        _publish(tmp, path)
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except (sqlite3.Error, OSError) as exc:
        text = _one_line(exc)
        hint = (
            " (free disk space, then run the same command)"
            if "full" in text.lower()
            or (isinstance(exc, OSError) and exc.errno in (errno.EFBIG, errno.ENOSPC))
            else ""
        )
        raise HynasError(f"cannot create store {path!r}: {text}{hint}") from None
    finally:
        for p in (tmp, tmp + "-wal", tmp + "-shm", tmp + "-journal"):
            with contextlib.suppress(OSError):
                os.unlink(p)
        os.close(fd)


def _publish(tmp: str, path: str) -> None:
    """Give the finished file its name unless another process made the store meanwhile."""
    try:
        os.link(tmp, path)
        return
    except FileExistsError:
        pass
    except OSError as exc:  # a file system without hard links: rename, unless the store appeared
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
            raise
        if not os.path.exists(path):
            os.replace(tmp, path)
            return
    # an empty file (e.g. made by an older hynas killed at once) may be replaced; a real one is kept
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return _publish(tmp, path)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        st, now = os.fstat(fd), os.stat(path)
        if st.st_size == 0 and (st.st_ino, st.st_dev) == (now.st_ino, now.st_dev):
            os.replace(tmp, path)
    finally:
        os.close(fd)


def _sweep(folder: str, base: str) -> None:
    """Remove hidden files left by creations that were killed (their creator's lock is gone)."""
    try:
        names = [n for n in os.listdir(folder) if n.startswith(f".{base}.") and n.endswith(_NEW)]
    except OSError:
        return
    for name in names:
        p = os.path.join(folder, name)
        try:
            fd = os.open(p, os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue  # being built right now
        try:
            for q in (p, p + "-wal", p + "-shm", p + "-journal"):
                with contextlib.suppress(OSError):
                    os.unlink(q)
        finally:
            os.close(fd)


# -- reading without touching: a consistent copy -----------------------------------------------------
def _signature(path: str) -> tuple[Any, ...]:
    st = os.stat(path)
    out: list[Any] = [(st.st_ino, st.st_size, st.st_mtime_ns)]
    try:
        st = os.stat(path + "-wal")
        with open(path + "-wal", "rb") as fh:  # the header changes when the log restarts
            out.append((st.st_ino, st.st_size, st.st_mtime_ns, fh.read(32)))
    except FileNotFoundError:
        out.append(None)
    return tuple(out)


def _snapshot(path: str, attempts: int = 50, required: bool = True) -> str | None:
    """Copy the store and its ``-wal`` (never its ``-shm``) to a temporary folder, retried until no
    writer changed them during the copy. ``None`` if they kept changing (``attempts`` times)."""
    for i in range(attempts):
        before = _signature(path)
        tmp = tempfile.mkdtemp(prefix="hynas-read-")
        try:
            shutil.copyfile(path, os.path.join(tmp, "store.db"))
            if before[1] is not None:
                shutil.copyfile(path + "-wal", os.path.join(tmp, "store.db-wal"))
        except FileNotFoundError:
            pass  # the -wal was checkpointed away meanwhile: the signature differs
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise HynasError(f"cannot read store {path!r}: {_os_error(exc)}") from None
        if _signature(path) == before:
            return tmp
        shutil.rmtree(tmp, ignore_errors=True)
        time.sleep(0.002 * (i + 1))
    if required:
        raise HynasError(f"store {path!r} kept changing while it was read; run the command again")
    return None


def _check_wal(path: str) -> None:
    """Refuse a ``-wal`` beside the store that would not give back this hynas store. A log that
    changes while it is checked belongs to a live writer, so it is left to SQLite."""
    wal = path + "-wal"
    if not os.path.exists(wal) or os.path.getsize(wal) == 0:
        return
    tmp = _snapshot(path, attempts=3, required=False) if os.access(path, os.R_OK) else None
    if tmp is None:
        return
    try:
        db = _connect(os.path.join(tmp, "store.db"))
        try:
            ok = db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID and bool(
                db.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchall()
            )
        finally:
            db.close()
    except sqlite3.Error:
        ok = False
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if not ok:
        raise HynasError(
            f"the log {wal!r} beside store {path!r} does not belong to it (applying it would overwrite "
            "the store); move the -wal and -shm files away, then run the command again"
        )
