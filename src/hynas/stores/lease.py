"""The driver lease: which process drives a store, and when it counts as dead.

The heartbeat decides: a lease not refreshed for ``lease_s`` seconds is stale, on any host. A pid
can be reused, and a driver in another PID namespace (a container; often PID 1) can look alive or
dead by its number, so the pid is only a fast path: on the same host *and* in the same PID
namespace, a lease whose pid no longer exists is stale at once.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass

__all__ = ["DriverLease"]


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
