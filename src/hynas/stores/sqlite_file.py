"""The file of an SQLite store: built aside and linked in one step, checked before SQLite touches
it, and copied for read-only views.

A new store is built completely (mark, WAL mode, tables) in a hidden file in the same folder and
then linked to its name in one step, so a kill or a full disk during creation leaves either no store
or a whole one (plus, after a kill, a hidden file that the next creation removes). The file is
marked with an SQLite ``application_id`` so a foreign or corrupt file is recognised and refused
without being modified; a ``-wal`` log beside the store that would not give back a hynas store (a
stale log of another database) is refused too, before SQLite could apply it. Read-only views read a
copy of the store and its ``-wal`` in a temporary folder, so reading never changes, checkpoints or
adds a file beside the store.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import sqlite3
import tempfile
import time
import uuid
from typing import Any
from urllib.parse import quote

from hynas.core.errors import HynasError
from hynas.stores.schema import create_schema

__all__ = [
    "APPLICATION_ID",
    "check_header",
    "check_wal",
    "connect",
    "create_file",
    "one_line",
    "os_error",
    "snapshot",
    "sweep",
]

APPLICATION_ID = 0x48594E41  # "HYNA"
_NEW = ".hynas-new"


def connect(path: str, query: str = "") -> sqlite3.Connection:
    """Connect through an explicit URI, so no file name is ever read as a URI or a special name."""
    uri = "file:" + quote(os.path.abspath(path)) + query
    return sqlite3.connect(uri, uri=True, timeout=60.0, isolation_level=None)


def one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def os_error(exc: OSError) -> str:
    return exc.strerror or one_line(exc)


def check_header(path: str) -> None:
    try:
        with open(path, "rb") as fh:
            head = fh.read(100)
    except OSError as exc:
        raise HynasError(f"cannot read store {path!r}: {os_error(exc)}") from None
    if not head.startswith(b"SQLite format 3\x00"):
        raise HynasError(f"{path!r} is not a hynas store (not an SQLite database); refusing to touch it")
    if len(head) >= 72 and int.from_bytes(head[68:72], "big") != APPLICATION_ID:
        raise HynasError(f"{path!r} is an SQLite file but not a hynas store; refusing to touch it")


# -- creation: build aside, then link in one step ------------------------------------------------------
def create_file(path: str) -> None:
    folder, base = os.path.split(os.path.abspath(path))
    if os.path.exists(path + "-wal") and os.path.getsize(path + "-wal") > 0:
        raise HynasError(
            f"found {path + '-wal'!r} without its store {path!r}: a log of a deleted database; move it "
            "away, then run the command again"
        )
    sweep(folder, base)
    tmp = os.path.join(folder, f".{base}.{uuid.uuid4().hex[:12]}{_NEW}")
    try:
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as exc:
        why = os_error(exc)
        if not os.access(folder, os.W_OK) or isinstance(exc, PermissionError):
            why += f" (folder {folder!r} is not writable; give a --store in a writable folder)"
        raise HynasError(f"cannot create store {path!r}: {why}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # held while building: a sweep leaves this file alone
        db = connect(tmp)
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
        text = one_line(exc)
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


def sweep(folder: str, base: str) -> None:
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


def snapshot(path: str, attempts: int = 50, required: bool = True) -> str | None:
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
            raise HynasError(f"cannot read store {path!r}: {os_error(exc)}") from None
        if _signature(path) == before:
            return tmp
        shutil.rmtree(tmp, ignore_errors=True)
        time.sleep(0.002 * (i + 1))
    if required:
        raise HynasError(f"store {path!r} kept changing while it was read; run the command again")
    return None


def check_wal(path: str) -> None:
    """Refuse a ``-wal`` beside the store that would not give back this hynas store. A log that
    changes while it is checked belongs to a live writer, so it is left to SQLite."""
    wal = path + "-wal"
    if not os.path.exists(wal) or os.path.getsize(wal) == 0:
        return
    tmp = snapshot(path, attempts=3, required=False) if os.access(path, os.R_OK) else None
    if tmp is None:
        return
    try:
        db = connect(os.path.join(tmp, "store.db"))
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
