"""The store contract on SQL (SQLite and PostgreSQL share this code): schema versioning and
migration, checked reads, transactions per write, the driver lease (:mod:`hynas.stores.lease`).

The schema and its history are in :mod:`hynas.stores.schema`. Opening an older store upgrades it
in one transaction (v1 rows become a sequential schedule: ``asked_after = told_seq = number``; v1
and v2 rows get their checksums; v2 and v3 tables are rebuilt to admit ``pruned`` trials). Everything is stored as JSON text and read with bound
parameters; nothing is unpickled or evaluated.
"""

from __future__ import annotations

import abc
import json
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from hynas.core.errors import HynasError
from hynas.core.store import STATUSES, Schedule, Store, TrialRecord
from hynas.stores.integrity import check_dense, damaged, row_checksum, text_checksum
from hynas.stores.lease import DriverLease, LeaseMixin
from hynas.stores.schema import (
    COLUMNS,
    RUNNING_DDL,
    SCHEMA_VERSION,
    TRIALS_DDL,
    create_schema,
    record_from_row,
    row_values,
)

__all__ = ["SCHEMA_VERSION", "DriverLease", "SQLStore", "Schedule", "create_schema"]


class SQLStore(LeaseMixin, Store):
    """Shared logic of the SQL backends; subclasses provide the connection and transactions."""

    #: placeholder style of the driver: "?" (sqlite3) or "%s" (psycopg)
    placeholder = "?"
    #: what ``open_store`` was given (path or URL, credentials included) to open another connection
    location: str = ""
    #: every write is one committed transaction before the method returns
    durable = True

    # -- backend hooks ---------------------------------------------------------------------------
    @abc.abstractmethod
    def _tx(self) -> Any:
        """Context manager: one write transaction that serialises writers to this store."""

    @abc.abstractmethod
    def _execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement (``?`` placeholders) and return its rows."""

    @abc.abstractmethod
    def _write_error(self, exc: Exception) -> HynasError | None:
        """A clear error for a failed write, or ``None`` if ``exc`` is not a database error."""

    #: True for a read-only view: an older schema is read as it is, never migrated
    read_only: bool = False
    _version: int = SCHEMA_VERSION

    def clone(self) -> SQLStore:
        """Another connection to the same store, e.g. for a heartbeat thread."""
        from hynas.stores import open_store

        return open_store(self.location, create=False)

    # -- schema ----------------------------------------------------------------------------------
    def _create_schema(self) -> None:
        with self._tx():
            create_schema(self._execute)

    def _upgrade(self) -> None:
        """Check the schema version and migrate an older store in one transaction."""
        version = self._meta("schema_version")
        if version is None or not version.isdigit():
            raise damaged(self.path, f"it has no valid schema version ({version!r})")
        if int(version) > SCHEMA_VERSION:
            raise HynasError(
                f"store {self.path!r} has schema version {version}, newer than this hynas "
                f"({SCHEMA_VERSION}); upgrade hynas"
            )
        if int(version) < SCHEMA_VERSION and not self.read_only:
            self._guard(self._migrate)
        self._version = self.schema_version()
        if self._version < 2:
            raise HynasError(
                f"store {self.path!r} has schema version {version}; open it once for writing "
                "(run the same hynas search) to upgrade it"
            )

    def _migrate(self) -> None:
        with self._tx():
            version = self._meta("schema_version")
            if version == "1":  # finished trials only: a sequential schedule
                self._execute(TRIALS_DDL.format(table="trials_v2"))
                self._execute(
                    f"INSERT INTO trials_v2({COLUMNS}) SELECT number, arch, status, fidelity, metrics, "
                    "hidden, cost_s, error, started_at, finished_at, number, number, 1, '' FROM trials"
                )
                self._execute("DROP TABLE trials")
                self._execute("ALTER TABLE trials_v2 RENAME TO trials")
                self._execute(RUNNING_DDL)
            elif version in ("2", "3"):
                if version == "2":
                    self._execute("ALTER TABLE trials ADD COLUMN checksum TEXT NOT NULL DEFAULT ''")
                # v4: the status check admits 'pruned'; a check cannot be altered in SQLite, so the
                # table is rebuilt with the same rows (and the same checksums)
                self._execute(TRIALS_DDL.format(table="trials_v4"))
                self._execute(
                    f"INSERT INTO trials_v4({COLUMNS}, checksum) SELECT {COLUMNS}, checksum FROM trials"
                )
                self._execute("DROP TABLE trials")
                self._execute("ALTER TABLE trials_v4 RENAME TO trials")
            else:  # another process migrated meanwhile
                return
            if version in ("1", "2"):
                for row in self._execute(f"SELECT {COLUMNS} FROM trials"):
                    self._execute(
                        "UPDATE trials SET checksum = ? WHERE number = ?", (row_checksum(row), row[0])
                    )
                config = self._meta("config")
                if config is not None:
                    self._set_meta("config_sum", text_checksum(config))
            self._execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))

    def schema_version(self) -> int:
        return int(self._meta("schema_version") or 0)

    # -- helpers ---------------------------------------------------------------------------------
    def _guard(self, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except HynasError:
            raise
        except Exception as exc:
            err = self._write_error(exc)
            if err is None:
                raise
            raise err from None

    def _meta(self, key: str) -> str | None:
        rows = self._execute("SELECT value FROM meta WHERE key = ?", (key,))
        return None if not rows else str(rows[0][0])

    def _set_meta(self, key: str, value: str) -> None:
        self._execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    @contextmanager
    def _writing(self) -> Iterator[None]:
        try:
            with self._tx():
                yield
        except HynasError:
            raise
        except Exception as exc:
            err = self._write_error(exc)
            if err is None:
                raise
            raise err from None

    def _corrupt(self, exc: Exception) -> HynasError:
        msg = " ".join(str(exc).split())
        return damaged(self.path, f"{type(exc).__name__}: {msg}")

    # -- the Store contract ----------------------------------------------------------------------
    def config(self) -> dict[str, Any] | None:
        text = self._meta("config")
        if text is None:
            return None
        if self._version >= 3 and self._meta("config_sum") != text_checksum(text):
            raise damaged(self.path, "its configuration does not match its checksum")
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise self._corrupt(exc) from None
        if not isinstance(data, dict):
            raise damaged(self.path, "its configuration is not a JSON object")
        return data

    def set_config(self, config: dict[str, Any]) -> None:
        text = json.dumps(config, sort_keys=True)
        with self._writing():
            self._set_meta("config", text)
            self._set_meta("config_sum", text_checksum(text))

    def state(self) -> tuple[list[TrialRecord], list[Schedule]]:
        """Finished trials and the whole schedule, both by number, from one consistent snapshot
        (one statement), each row checked against its checksum."""
        sums = "checksum" if self._version >= 3 else "''"
        try:
            rows = self._execute(
                f"SELECT {COLUMNS}, {sums} FROM trials UNION ALL SELECT number, arch, NULL, fidelity, "
                "NULL, NULL, NULL, NULL, NULL, NULL, asked_after, NULL, 0, worker, NULL FROM running "
                "ORDER BY 1"
            )
            records, schedule = [], []
            for r in rows:
                if r[2] is not None:
                    if self._version >= 3 and r[14] != row_checksum(r[:14]):
                        raise damaged(self.path, f"trial {r[0]} does not match its checksum")
                    records.append(record_from_row(r))
                schedule.append(
                    Schedule(
                        int(r[0]),
                        str(r[1]),
                        None if r[3] is None else float(r[3]),
                        int(r[10]),
                        None if r[11] is None else int(r[11]),
                        int(r[12]),
                        str(r[13]),
                    )
                )
        except HynasError:
            raise
        except Exception as exc:
            if self._write_error(exc) is None and not isinstance(exc, ValueError | TypeError | KeyError):
                raise
            raise self._corrupt(exc) from None
        check_dense(self.path, "told position", [s.told_seq for s in schedule if s.told_seq is not None])
        return records, schedule

    def add(self, record: TrialRecord) -> None:
        """Append one finished trial in one transaction (told right after it was asked)."""
        with self._writing():
            if self._taken(record.number):
                raise HynasError(f"trial {record.number} is already in store {self.path!r}")
            seq = self._next_seq()
            self._insert(record, asked_after=seq, told_seq=seq, attempts=1, worker="")

    # -- scheduling: running trials, told order ----------------------------------------------------
    def _next_seq(self) -> int:
        return int(self._execute("SELECT COALESCE(MAX(told_seq) + 1, 0) FROM trials")[0][0])

    def _taken(self, number: int) -> bool:
        return bool(
            self._execute("SELECT 1 FROM trials WHERE number = ?", (number,))
            or self._execute("SELECT 1 FROM running WHERE number = ?", (number,))
        )

    def _insert(self, r: TrialRecord, *, asked_after: int, told_seq: int, attempts: int, worker: str) -> None:
        values, checksum = row_values(
            r, asked_after=asked_after, told_seq=told_seq, attempts=attempts, worker=worker
        )
        self._execute(
            f"INSERT INTO trials({COLUMNS}, checksum) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (*values, checksum),
        )

    def start(
        self, number: int, arch: str, fidelity: float | None, asked_after: int, worker: str = ""
    ) -> None:
        """Record that trial ``number`` was asked and is now running."""
        with self._writing():
            if self._taken(number):
                raise HynasError(f"trial {number} is already in store {self.path!r}")
            self._execute(
                "INSERT INTO running(number, arch, fidelity, asked_after, started_at, worker) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (number, arch, fidelity, asked_after, time.time(), worker),
            )

    def claim(self, arch: str, fidelity: float | None = None, worker: str = "") -> int:
        """Take the next free trial number for ``arch`` (many writers at once: numbers stay dense)."""
        with self._writing():
            number = int(
                self._execute(
                    "SELECT COALESCE(MAX(n) + 1, 0) FROM "
                    "(SELECT MAX(number) AS n FROM trials UNION ALL SELECT MAX(number) AS n FROM running) AS t"
                )[0][0]
            )
            told = int(self._execute("SELECT COUNT(*) FROM trials")[0][0])
            self._execute(
                "INSERT INTO running(number, arch, fidelity, asked_after, started_at, worker) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (number, arch, fidelity, told, time.time(), worker),
            )
        return number

    def finish(self, record: TrialRecord, attempts: int = 1, worker: str = "") -> int:
        """Move the running trial ``record.number`` to the finished trials; returns its told order."""
        if record.status not in STATUSES:
            raise HynasError(f"cannot finish trial {record.number} with status {record.status!r}")
        with self._writing():
            rows = self._execute("SELECT asked_after FROM running WHERE number = ?", (record.number,))
            if not rows:
                if self._execute("SELECT 1 FROM trials WHERE number = ?", (record.number,)):
                    raise HynasError(f"trial {record.number} is already in store {self.path!r}")
                raise HynasError(f"trial {record.number} was never started in store {self.path!r}")
            seq = self._next_seq()
            self._execute("DELETE FROM running WHERE number = ?", (record.number,))
            self._insert(record, asked_after=int(rows[0][0]), told_seq=seq, attempts=attempts, worker=worker)
        return seq

    # -- the fixed reference point of observed objectives (hynas.report.analysis) ---------------
    def reference(self) -> dict[str, float] | None:
        text = self._meta("reference_point")
        if text is None:
            return None
        try:
            data = json.loads(text)
            return {str(k): float(v) for k, v in data.items()}
        except (ValueError, TypeError, AttributeError) as exc:
            raise self._corrupt(exc) from None

    def set_reference(self, values: dict[str, float]) -> None:
        """Write the reference point once; a value already stored is kept."""
        with self._writing():
            self._execute(
                "INSERT INTO meta(key, value) VALUES ('reference_point', ?) ON CONFLICT (key) DO NOTHING",
                (json.dumps(values, sort_keys=True),),
            )
