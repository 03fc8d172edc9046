"""The driver lease of an SQL store, kept in ``meta.driver`` (JSON).

When a lease counts as dead is :class:`hynas.core.store.DriverLease`'s to say (the heartbeat
decides; the pid is a fast path on the same host and PID namespace); this module only reads and
writes it inside the store's write transactions.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from hynas.core.store import DriverLease, pid_namespace

__all__ = ["DriverLease", "LeaseMixin", "pid_namespace"]


class LeaseMixin:
    """``driver``/``acquire``/``heartbeat``/``release`` of the store contract, on ``meta.driver``."""

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
            if prev is not None:
                prev.check_free(self.path, token, lease_s)
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
