"""The one SQL schema of every hynas store, and how a trial becomes a row and back.

Schema history (``meta.schema_version``):

1. ``trials`` held finished trials only (``completed`` / ``failed``).
2. A trial is written to ``running`` when it is *asked*, and moved to ``trials`` (finished, immutable)
   in one transaction when it finishes. Each trial records ``asked_after`` (how many results the
   strategy had been told when it proposed the trial) and ``told_seq`` (its place in the order
   results were told), so a parallel run, whose ask/tell interleaving depends on timing, can be
   replayed exactly on resume; plus ``attempts`` (retries) and ``worker``. A ``driver`` lease in
   ``meta`` (host, pid, heartbeat) tells a resuming driver whether the trials left ``running``
   belong to a dead driver.
3. Each finished trial carries a ``checksum`` over all its values, and the configuration one in
   ``meta.config_sum`` (:mod:`hynas.stores.integrity`), so damage is told apart from a store
   written by another hynas version.
4. A trial may also be ``pruned`` (stopped early on purpose by an ask/tell study,
   :mod:`hynas.ask_tell`). The status is checked by the table, so an older store's ``trials`` table
   is rebuilt with the wider check (same rows, same checksums) when it is opened for writing; a
   read-only view reads an older store as it is (it holds no pruned trial).

The in-memory store keeps the same rows (:func:`row_values`, :func:`record_from_row`), so every
backend reads a trial back the same way. Everything is JSON text; nothing is unpickled.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from hynas.core.errors import HynasError
from hynas.core.store import STATUSES, TrialRecord
from hynas.stores.integrity import row_checksum

__all__ = [
    "COLUMNS",
    "SCHEMA_VERSION",
    "create_schema",
    "dumps_metrics",
    "loads_metrics",
    "record_from_row",
    "row_values",
]

SCHEMA_VERSION = 4

COLUMNS = (
    "number, arch, status, fidelity, metrics, hidden, cost_s, error, started_at, finished_at, "
    "asked_after, told_seq, attempts, worker"
)

TRIALS_DDL = """
CREATE TABLE IF NOT EXISTS {table} (
    number      INTEGER PRIMARY KEY,
    arch        TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('completed', 'failed', 'pruned')),
    fidelity    DOUBLE PRECISION,
    metrics     TEXT NOT NULL,
    hidden      TEXT NOT NULL,
    cost_s      DOUBLE PRECISION NOT NULL,
    error       TEXT NOT NULL,
    started_at  DOUBLE PRECISION NOT NULL,
    finished_at DOUBLE PRECISION NOT NULL,
    asked_after INTEGER NOT NULL,
    told_seq    INTEGER NOT NULL UNIQUE,
    attempts    INTEGER NOT NULL DEFAULT 1,
    worker      TEXT NOT NULL DEFAULT '',
    checksum    TEXT NOT NULL DEFAULT ''
)
"""
RUNNING_DDL = """
CREATE TABLE IF NOT EXISTS running (
    number      INTEGER PRIMARY KEY,
    arch        TEXT NOT NULL,
    fidelity    DOUBLE PRECISION,
    asked_after INTEGER NOT NULL,
    started_at  DOUBLE PRECISION NOT NULL,
    worker      TEXT NOT NULL DEFAULT ''
)
"""
META_DDL = "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"


def create_schema(execute: Any) -> None:
    """The statements that make a new store (inside the caller's transaction)."""
    execute(META_DDL)
    execute(TRIALS_DDL.format(table="trials"))
    execute(RUNNING_DDL)
    execute(
        "INSERT INTO meta(key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO NOTHING",
        (str(SCHEMA_VERSION),),
    )


def dumps_metrics(d: dict[str, float]) -> str:
    return json.dumps({k: (v if math.isfinite(v) else str(v)) for k, v in d.items()}, sort_keys=True)


def loads_metrics(text: str) -> dict[str, float]:
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("metrics are not a JSON object")
    return {str(k): float(v) for k, v in data.items()}


def row_values(
    r: TrialRecord, *, asked_after: int, told_seq: int, attempts: int, worker: str
) -> tuple[tuple[Any, ...], str]:
    """The values of ``r``'s row (in :data:`COLUMNS` order) and their checksum; a value of the
    wrong type is refused ("cannot store trial N")."""
    try:
        values = (
            r.number,
            r.arch,
            r.status,
            r.fidelity,
            dumps_metrics(r.metrics),
            dumps_metrics(r.hidden),
            r.cost_s,
            r.error,
            r.started_at,
            r.finished_at,
            asked_after,
            told_seq,
            attempts,
            worker,
        )
        return values, row_checksum(values)
    except (ValueError, TypeError, AttributeError) as exc:
        raise HynasError(f"cannot store trial {r.number}: {exc}") from None


def record_from_row(r: Sequence[Any]) -> TrialRecord:
    """A finished trial from its row (``ValueError``/``TypeError`` when a value is damaged)."""
    if r[2] not in STATUSES:
        raise ValueError(f"bad status {r[2]!r}")
    return TrialRecord(
        number=int(r[0]),
        arch=str(r[1]),
        status=str(r[2]),
        fidelity=None if r[3] is None else float(r[3]),
        metrics=loads_metrics(r[4]),
        hidden=loads_metrics(r[5]),
        cost_s=float(r[6]),
        error=str(r[7]),
        started_at=float(r[8]),
        finished_at=float(r[9]),
    )
