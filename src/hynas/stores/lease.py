"""The driver lease: which process drives a store, and when it counts as dead.

The heartbeat decides: a lease not refreshed for ``lease_s`` seconds is stale, on any host. A pid
can be reused, and a driver in another PID namespace (a container; often PID 1) can look alive or
dead by its number, so the pid is only a fast path: on the same host *and* in the same PID
namespace, a lease whose pid no longer exists is stale at once.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from hynas.core.errors import HynasError

__all__ = ["DriverLease", "LeaseMixin"]


def pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""


@dataclass(frozen=True)
class DriverLease:
    """The driver that owns a store: it heartbeats; a dead or silent one can be taken over."""

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


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


class LeaseMixin:
    """The driver lease of an SQL store, kept in ``meta.driver`` (JSON)."""

    path: str

    def _writing(self) -> AbstractContextManager[None]:
        raise NotImplementedError

    def _meta(self, key: str) -> str | None:
        raise NotImplementedError

    def _set_meta(self, key: str, value: str) -> None:
        raise NotImplementedError

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def driver(self) -> DriverLease | None:
        text = self._meta("driver")
        if text is None:
            return None
        try:
            d = json.loads(text)
            return DriverLease(
                str(d["host"]), int(d["pid"]), str(d["token"]), float(d["heartbeat"]), str(d.get("pidns", ""))
            )
        except (ValueError, KeyError, TypeError):
            return None  # an unreadable lease is treated as stale

    def acquire(self, token: str, lease_s: float) -> DriverLease | None:
        """Become the store's driver; returns the previous (dead) driver's lease, if any.

        Refused while another driver is alive: it heartbeat less than ``lease_s`` seconds ago and
        (on this host, in this PID namespace) its pid still runs.
        """
        with self._writing():
            prev = self.driver()
            if prev is not None and prev.token != token and not prev.stale(lease_s):
                raise HynasError(
                    f"store {self.path!r} is in use by another search (pid {prev.pid} on {prev.host}, "
                    f"last heartbeat {time.time() - prev.heartbeat:.0f} s ago); wait for it to finish, "
                    f"stop it, or wait {lease_s:.0f} s after it died"
                )
            self._set_meta("driver", json.dumps(DriverLease.mine(token).__dict__))
        return prev

    def heartbeat(self, token: str) -> None:
        with self._writing():
            prev = self.driver()
            if prev is None or prev.token == token:
                self._set_meta("driver", json.dumps(DriverLease.mine(token).__dict__))

    def release(self, token: str) -> None:
        with self._writing():
            prev = self.driver()
            if prev is not None and prev.token == token:
                self._execute("DELETE FROM meta WHERE key = 'driver'")
