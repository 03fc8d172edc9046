"""The in-memory store: the store contract without a file, for :func:`hynas.search` without a
``store`` and for the benchmarks, which run thousands of searches whose trials need not outlive the
process.

It keeps the same rows as the SQL stores (:mod:`hynas.stores.schema`: JSON metrics, the same
checks on every value), so a trial reads back exactly as it would from SQLite, and it gives every
guarantee of :mod:`hynas.core.store` except durability: ``durable`` is ``False``, nothing survives
the process, and no other process can open it (``location`` is empty). Within the process it is
thread-safe: every method holds one lock, so threads (each with its own :meth:`MemoryStore.clone`
or sharing one handle) get dense numbers and one consistent :meth:`MemoryStore.state`. The driver
lease works as in the SQL stores, between drivers of this process.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from hynas.core.errors import HynasError
from hynas.core.store import STATUSES, DriverLease, Schedule, Store, TrialRecord
from hynas.stores.schema import record_from_row, row_values

__all__ = ["MemoryStore"]


def _float(v: float | None) -> float | None:
    return None if v is None else float(v)


class _Data:
    """What every handle of one in-memory store shares."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.config: str | None = None
        self.reference: str | None = None
        self.driver: DriverLease | None = None
        self.trials: dict[int, tuple[Any, ...]] = {}  # number -> row values (schema.COLUMNS order)
        # number -> (arch, fidelity, asked_after, started_at, worker)
        self.running: dict[int, tuple[str, float | None, int, float, str]] = {}


class MemoryStore(Store):
    """An experiment store held in this process's memory (see the module docstring)."""

    durable = False

    def __init__(self, name: str = "memory") -> None:
        self.path = f"<{name}>"
        self.location = ""
        self._shared = _Data()
        self._closed = False

    @property
    def _data(self) -> _Data:
        if self._closed:
            raise HynasError(f"store {self.path!r} is closed; an in-memory store keeps nothing once closed")
        return self._shared

    def clone(self) -> MemoryStore:
        other = object.__new__(MemoryStore)
        other.path, other.location, other._shared, other._closed = self.path, "", self._data, False
        return other

    def close(self) -> None:
        self._closed = True

    # -- configuration -----------------------------------------------------------------------------
    def config(self) -> dict[str, Any] | None:
        data = self._data
        with data.lock:
            text = data.config
        return None if text is None else dict(json.loads(text))

    def set_config(self, config: dict[str, Any]) -> None:
        text = json.dumps(config, sort_keys=True)
        data = self._data
        with data.lock:
            data.config = text

    # -- trials ------------------------------------------------------------------------------------
    def state(self) -> tuple[list[TrialRecord], list[Schedule]]:
        data = self._data
        with data.lock:
            rows = dict(data.trials)
            running = dict(data.running)
        records, schedule = [], []
        for number in sorted(rows.keys() | running.keys()):
            if number in rows:
                r = rows[number]
                records.append(record_from_row(r))
                schedule.append(Schedule(number, r[1], _float(r[3]), r[10], r[11], r[12], r[13]))
            else:
                arch, fidelity, asked_after, _, worker = running[number]
                schedule.append(Schedule(number, arch, _float(fidelity), asked_after, None, 0, worker))
        return records, schedule

    def _taken(self, data: _Data, number: int) -> bool:
        return number in data.trials or number in data.running

    def _already(self, number: int) -> HynasError:
        return HynasError(f"trial {number} is already in store {self.path!r}")

    def start(
        self, number: int, arch: str, fidelity: float | None, asked_after: int, worker: str = ""
    ) -> None:
        data = self._data
        with data.lock:
            if self._taken(data, number):
                raise self._already(number)
            data.running[number] = (arch, fidelity, asked_after, time.time(), worker)

    def claim(self, arch: str, fidelity: float | None = None, worker: str = "") -> int:
        data = self._data
        with data.lock:
            number = max(max(data.trials, default=-1), max(data.running, default=-1)) + 1
            data.running[number] = (arch, fidelity, len(data.trials), time.time(), worker)
        return number

    def finish(self, record: TrialRecord, attempts: int = 1, worker: str = "") -> int:
        if record.status not in STATUSES:
            raise HynasError(f"cannot finish trial {record.number} with status {record.status!r}")
        data = self._data
        with data.lock:
            if record.number not in data.running:
                if record.number in data.trials:
                    raise self._already(record.number)
                raise HynasError(f"trial {record.number} was never started in store {self.path!r}")
            seq = len(data.trials)
            asked_after = data.running[record.number][2]
            values, _ = row_values(
                record, asked_after=asked_after, told_seq=seq, attempts=attempts, worker=worker
            )
            del data.running[record.number]
            data.trials[record.number] = values
        return seq

    def add(self, record: TrialRecord) -> None:
        if record.status not in STATUSES:
            raise HynasError(f"cannot store trial {record.number} with status {record.status!r}")
        data = self._data
        with data.lock:
            if self._taken(data, record.number):
                raise self._already(record.number)
            seq = len(data.trials)
            values, _ = row_values(record, asked_after=seq, told_seq=seq, attempts=1, worker="")
            data.trials[record.number] = values

    # -- the driver lease --------------------------------------------------------------------------
    def driver(self) -> DriverLease | None:
        return self._data.driver

    def acquire(self, token: str, lease_s: float) -> DriverLease | None:
        data = self._data
        with data.lock:
            prev = data.driver
            if prev is not None:
                prev.check_free(self.path, token, lease_s)
            data.driver = DriverLease.mine(token)
        return prev

    def heartbeat(self, token: str) -> None:
        data = self._data
        with data.lock:
            if data.driver is None or data.driver.token == token:
                data.driver = DriverLease.mine(token)

    def release(self, token: str) -> None:
        data = self._data
        with data.lock:
            if data.driver is not None and data.driver.token == token:
                data.driver = None

    # -- the reference point -----------------------------------------------------------------------
    def reference(self) -> dict[str, float] | None:
        text = self._data.reference
        return None if text is None else {str(k): float(v) for k, v in json.loads(text).items()}

    def set_reference(self, values: dict[str, float]) -> None:
        text = json.dumps(values, sort_keys=True)
        data = self._data
        with data.lock:
            if data.reference is None:
                data.reference = text
