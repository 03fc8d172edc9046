"""The store contract: an append-only log of finished trials plus the experiment configuration.

Contract (every backend):
- ``add`` makes a finished trial durable before it returns; a crash after ``add`` never loses it.
- Trial numbers are dense, start at 0 and are never reused; a trial is written exactly once.
- Finished trials are immutable.
- Configuration and trials are stored as JSON (never pickle), read back with bound SQL parameters.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Store", "TrialRecord"]


@dataclass(frozen=True)
class TrialRecord:
    number: int
    arch: str
    status: str  # "completed" | "failed"
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


class Store(abc.ABC):
    path: str

    @abc.abstractmethod
    def config(self) -> dict[str, Any] | None:
        """The stored experiment configuration, or ``None`` for a new store."""

    @abc.abstractmethod
    def set_config(self, config: dict[str, Any]) -> None: ...

    @abc.abstractmethod
    def trials(self) -> list[TrialRecord]:
        """All finished trials, by number."""

    @abc.abstractmethod
    def add(self, record: TrialRecord) -> None:
        """Durably append one finished trial."""

    def close(self) -> None:  # noqa: B027 - optional hook
        pass

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def reference(self) -> dict[str, float] | None:
        """The stored reference point of the objectives no table covers (minimisation form, by
        objective name; see ``hynas.report.analysis``), or ``None``. Backends without it recompute
        the same point from the trials."""
        return None

    def set_reference(self, values: dict[str, float]) -> None:  # noqa: B027 - optional hook
        """Store the reference point once (a stored one is never replaced)."""
