"""The store contract: everything a runner needs of an experiment store, and nothing more.

A store holds one experiment: its configuration, every trial that was asked (*running* until it
finishes, then *finished* and immutable), the order in which results were told to the strategy,
the driver lease (which process drives the search) and the fixed reference point of the report.
:func:`hynas.runners.base.drive` uses only the methods below, so any backend that keeps their
guarantees runs every search; ``hynas.testing.stores.StoreContract`` checks them.

Guarantees every backend gives:

- **Dense numbers.** Trial numbers start at 0 and are never reused; :meth:`Store.claim` hands out
  the next free one atomically, also with many writers at once. Told positions are dense too.
- **Write once.** A trial is started once and finished once; a finished trial never changes, and
  what a caller does to a record it passed in or got back does not change the store.
- **JSON values.** Configuration, metrics and reference point go through JSON (never pickle): a
  value reads back as its JSON round trip (a tuple as a list; ``inf`` and ``nan`` metrics survive).
- **One snapshot.** :meth:`Store.state` reads finished trials and the schedule in one consistent
  view, so a trial committed meanwhile is in both or in neither.
- **One driver.** :meth:`Store.acquire` admits one live driver; a driver that stopped heartbeating
  for ``lease_s`` seconds (or whose process is gone, on the same host) is taken over, and the new
  driver re-queues the trials it left running.

Durability differs: a *durable* store (``durable = True``: SQLite, PostgreSQL) commits every write
before the method returns, survives a killed process and can be opened by other processes from its
``location``; the in-memory store (:mod:`hynas.stores.memory`) lives as long as its process.
"""

from __future__ import annotations

import abc
import os
import socket
import time
from dataclasses import dataclass, field
from typing import Any, Self

from hynas.core.errors import HynasError

__all__ = [
    "STATUSES",
    "DriverLease",
    "Schedule",
    "Store",
    "TrialRecord",
    "check_dense",
    "damaged",
    "pid_namespace",
]

#: the statuses of a finished trial: ``completed`` (its metrics are stored), ``failed`` (an error,
#: stored with the trial) or ``pruned`` (stopped early on purpose, through ``Study.tell``); only a
#: completed trial has metrics, and only completed ones reach a front
STATUSES = ("completed", "failed", "pruned")


@dataclass(frozen=True)
class TrialRecord:
    number: int
    arch: str
    status: str  # one of STATUSES: "completed" | "failed" | "pruned"
    fidelity: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)  # visible metrics
    hidden: dict[str, float] = field(default_factory=dict)  # report-only metrics
    cost_s: float = 0.0
    error: str = ""
    started_at: float = 0.0
    finished_at: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "completed"


@dataclass(frozen=True)
class Schedule:
    """Where one trial sits in the ask/tell sequence (``told_seq`` is ``None`` while running)."""

    number: int
    arch: str
    fidelity: float | None
    asked_after: int  # how many results the strategy had been told when it proposed the trial
    told_seq: int | None  # its place in the order results were told
    attempts: int
    worker: str


# -- the driver lease ---------------------------------------------------------------------------------
def pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


@dataclass(frozen=True)
class DriverLease:
    """The driver that owns a store: it heartbeats; a dead or silent one can be taken over.

    The heartbeat decides: a lease not refreshed for ``lease_s`` seconds is stale, on any host. A pid
    can be reused, and a driver in another PID namespace (a container) can look alive or dead by its
    number, so the pid is only a fast path: on the same host *and* in the same PID namespace, a
    lease whose pid no longer exists is stale at once.
    """

    host: str
    pid: int
    token: str
    heartbeat: float
    pidns: str = ""

    @staticmethod
    def mine(token: str) -> DriverLease:
        return DriverLease(socket.gethostname(), os.getpid(), token, time.time(), pid_namespace())

    def stale(self, lease_s: float) -> bool:
        if time.time() - self.heartbeat > lease_s:
            return True
        same_pids = self.host == socket.gethostname() and self.pidns != "" and self.pidns == pid_namespace()
        return same_pids and self.pid != os.getpid() and not _pid_alive(self.pid)

    def check_free(self, path: str, token: str, lease_s: float) -> None:
        """Refuse ``token`` the store at ``path`` while this lease belongs to another live driver."""
        if self.token != token and not self.stale(lease_s):
            raise HynasError(
                f"store {path!r} is in use by another search (pid {self.pid} on {self.host}, "
                f"last heartbeat {time.time() - self.heartbeat:.0f} s ago); wait for it to finish, "
                f"stop it, or wait {lease_s:.0f} s after it died"
            )


# -- damage -----------------------------------------------------------------------------------------
def damaged(path: str, what: str) -> HynasError:
    return HynasError(
        f"store {path!r} is damaged: {what}; it was changed outside hynas (disk damage or an edit) — "
        "restore it from a backup, or start a new --store"
    )


def check_dense(path: str, name: str, seq: list[int]) -> None:
    """``seq`` (the told order of a store; the trial numbers of a search) must be 0, 1, 2, ..."""
    if seq:
        for i, n in enumerate(sorted(seq)):
            if n != i:
                what = f"{name} {i} is missing" if n > i else f"{name} {n} is stored twice"
                raise damaged(path, what)


# -- the contract ---------------------------------------------------------------------------------------
class Store(abc.ABC):
    """One experiment's store. Errors a user can act on are :class:`HynasError` (one line)."""

    #: names the store in messages (a file path, or a URL without its password)
    path: str = ""
    #: what opens the store again from another process (``hynas.stores.open_store``); "" if nothing can
    location: str = ""
    #: True: every write is committed before the method returns and survives a killed process
    durable: bool = False

    # -- configuration -------------------------------------------------------------------------------
    @abc.abstractmethod
    def config(self) -> dict[str, Any] | None:
        """The stored experiment configuration (a JSON object), or ``None`` for a new store."""

    @abc.abstractmethod
    def set_config(self, config: dict[str, Any]) -> None:
        """Store (or replace) the configuration; it reads back as its JSON round trip."""

    # -- trials ----------------------------------------------------------------------------------------
    @abc.abstractmethod
    def state(self) -> tuple[list[TrialRecord], list[Schedule]]:
        """Finished trials and the whole schedule (running and finished trials), both by number,
        from one consistent snapshot. A store found damaged raises :func:`damaged`'s error."""

    def trials(self) -> list[TrialRecord]:
        """All finished trials, by number (running ones are in :meth:`schedule`)."""
        return self.state()[0]

    def schedule(self) -> list[Schedule]:
        """Every trial (running or finished) with its place in the ask/tell sequence, by number."""
        return self.state()[1]

    @abc.abstractmethod
    def start(
        self, number: int, arch: str, fidelity: float | None, asked_after: int, worker: str = ""
    ) -> None:
        """Record that trial ``number`` was asked (after ``asked_after`` results were told) and is
        now running. A number already started or finished is refused ("already in store")."""

    @abc.abstractmethod
    def claim(self, arch: str, fidelity: float | None = None, worker: str = "") -> int:
        """Start a trial under the next free number and return it; atomic, so many writers at once
        still get dense, distinct numbers. ``asked_after`` is the number of finished trials."""

    @abc.abstractmethod
    def finish(self, record: TrialRecord, attempts: int = 1, worker: str = "") -> int:
        """Move the running trial ``record.number`` to the finished trials (a status of
        :data:`STATUSES`) in one step and return its told position (0, 1, ...). A trial never started
        ("was never started") or already finished ("already in store") is refused."""

    @abc.abstractmethod
    def add(self, record: TrialRecord) -> None:
        """Start and finish one trial in one step, told right after it was asked."""

    # -- the driver lease ------------------------------------------------------------------------------
    @abc.abstractmethod
    def driver(self) -> DriverLease | None:
        """The current driver's lease, or ``None`` (an unreadable lease reads as ``None``)."""

    @abc.abstractmethod
    def acquire(self, token: str, lease_s: float) -> DriverLease | None:
        """Become the store's driver (atomically); returns the previous (dead) driver's lease, if
        any. Refused (:meth:`DriverLease.check_free`) while another driver is alive."""

    @abc.abstractmethod
    def heartbeat(self, token: str) -> None:
        """Refresh ``token``'s lease; does nothing once another driver has taken the store over."""

    @abc.abstractmethod
    def release(self, token: str) -> None:
        """Give the store up, if ``token`` still holds it."""

    # -- the reference point of the report (hynas.report.analysis) ---------------------------------------
    @abc.abstractmethod
    def reference(self) -> dict[str, float] | None:
        """The stored reference point of the objectives no table covers (minimisation form, by
        objective name), or ``None``."""

    @abc.abstractmethod
    def set_reference(self, values: dict[str, float]) -> None:
        """Store the reference point once: a point already stored is never replaced."""

    # -- handles ---------------------------------------------------------------------------------------
    @abc.abstractmethod
    def clone(self) -> Store:
        """Another handle on the same store, usable from another thread (the driver's heartbeat);
        closing one handle leaves the other open."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Close this handle (a durable store keeps everything it committed)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
