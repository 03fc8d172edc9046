"""Embedded SQLite store, the default.

WAL journal with ``synchronous=NORMAL``: each ``add`` is one committed transaction, durable
against a killed process (SIGKILL, crash) — the guarantee a search needs; only an OS crash or power
loss may drop the last commits. The file is marked with an SQLite ``application_id`` so a foreign
or corrupt file is recognised and refused without being modified.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
from typing import Any

from hynas.core.errors import HynasError
from hynas.core.store import Store, TrialRecord

__all__ = ["APPLICATION_ID", "SCHEMA_VERSION", "SQLiteStore"]

APPLICATION_ID = 0x48594E41  # "HYNA"
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS trials (
    number      INTEGER PRIMARY KEY,
    arch        TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('completed', 'failed')),
    fidelity    REAL,
    metrics     TEXT NOT NULL,
    hidden      TEXT NOT NULL,
    cost_s      REAL NOT NULL,
    error       TEXT NOT NULL,
    started_at  REAL NOT NULL,
    finished_at REAL NOT NULL
);
"""


def _dumps(d: dict[str, float]) -> str:
    return json.dumps({k: (v if math.isfinite(v) else str(v)) for k, v in d.items()}, sort_keys=True)


def _loads(text: str) -> dict[str, float]:
    return {k: float(v) for k, v in json.loads(text).items()}


class SQLiteStore(Store):
    def __init__(self, path: str, create: bool = True) -> None:
        self.path = str(path)
        exists = os.path.exists(self.path) and os.path.getsize(self.path) > 0
        if not exists and not create:
            raise HynasError(f"no store at {self.path!r}")
        if exists:
            _check_header(self.path)
        parent = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(parent):
            raise HynasError(f"cannot create store {self.path!r}: folder {parent!r} does not exist")
        try:
            self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            if exists:
                app = self._db.execute("PRAGMA application_id").fetchone()[0]
                if app != APPLICATION_ID:
                    self._db.close()
                    raise HynasError(
                        f"{self.path!r} is an SQLite file but not a hynas store; refusing to touch it"
                    )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            if not exists:
                self._db.executescript(
                    f"BEGIN IMMEDIATE; PRAGMA application_id={APPLICATION_ID}; {_SCHEMA} "
                    f"INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', '{SCHEMA_VERSION}'); COMMIT;"
                )
            version = self._meta("schema_version")
            if version is None or int(version) > SCHEMA_VERSION:
                raise HynasError(
                    f"store {self.path!r} has schema version {version}, newer than this hynas "
                    f"({SCHEMA_VERSION}); upgrade hynas"
                )
        except sqlite3.DatabaseError as exc:
            raise HynasError(f"store {self.path!r} is corrupt or unreadable: {exc}") from None

    # -- helpers --------------------------------------------------------------------------------
    def _tx(self) -> _Tx:
        return _Tx(self._db)

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    # -- contract -------------------------------------------------------------------------------
    def config(self) -> dict[str, Any] | None:
        text = self._meta("config")
        return None if text is None else dict(json.loads(text))

    def set_config(self, config: dict[str, Any]) -> None:
        with self._tx():
            self._db.execute(
                "INSERT OR REPLACE INTO meta(key, value) VALUES ('config', ?)",
                (json.dumps(config, sort_keys=True),),
            )

    def trials(self) -> list[TrialRecord]:
        try:
            rows = self._db.execute(
                "SELECT number, arch, status, fidelity, metrics, hidden, cost_s, error, started_at, finished_at "
                "FROM trials ORDER BY number"
            ).fetchall()
            return [
                TrialRecord(
                    number=r[0],
                    arch=r[1],
                    status=r[2],
                    fidelity=r[3],
                    metrics=_loads(r[4]),
                    hidden=_loads(r[5]),
                    cost_s=r[6],
                    error=r[7],
                    started_at=r[8],
                    finished_at=r[9],
                )
                for r in rows
            ]
        except (sqlite3.DatabaseError, ValueError, TypeError) as exc:
            raise HynasError(f"store {self.path!r} is corrupt: {exc}") from None

    def add(self, record: TrialRecord) -> None:
        try:
            with self._tx():
                self._db.execute(
                    "INSERT INTO trials(number, arch, status, fidelity, metrics, hidden, cost_s, error, "
                    "started_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        record.number,
                        record.arch,
                        record.status,
                        record.fidelity,
                        _dumps(record.metrics),
                        _dumps(record.hidden),
                        record.cost_s,
                        record.error,
                        record.started_at,
                        record.finished_at,
                    ),
                )
        except sqlite3.IntegrityError:
            raise HynasError(f"trial {record.number} is already in store {self.path!r}") from None
        except sqlite3.OperationalError as exc:
            raise HynasError(f"cannot write to store {self.path!r}: {exc}") from None

    def close(self) -> None:
        self._db.close()


class _Tx:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")


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
