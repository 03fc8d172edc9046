"""Fault injection: an evaluator wrapper that fails, returns NaN, hangs or kills its own process.

Used by the fault-injection tests and ``bench/faults.py`` to show that every kind of failure ends
as a failed or re-queued trial, never a lost one. Faults are deterministic per architecture (a
hash of the architecture string and ``seed``), so a run is repeatable. With ``once_dir`` each fault
fires only the first time an architecture is evaluated (a marker file remembers it across
processes), so retries and re-queued trials then succeed.
"""

from __future__ import annotations

import math
import os
import signal
import time
import zlib
from pathlib import Path

from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.core.evaluator import Evaluation, Evaluator, Metric

__all__ = ["FAULTS", "FaultyEvaluator"]

FAULTS = ("error", "nan", "hang", "die")


class FaultyEvaluator(Evaluator):
    """Wrap ``inner``; each fault fires for the given fraction of architectures."""

    def __init__(
        self,
        inner: Evaluator,
        *,
        seed: int = 0,
        error: float = 0.0,
        nan: float = 0.0,
        hang: float = 0.0,
        die: float = 0.0,
        hang_s: float = 3600.0,
        delay_s: float = 0.0,
        once_dir: str | None = None,
    ) -> None:
        rates = {"error": error, "nan": nan, "hang": hang, "die": die}
        for k, v in rates.items():
            if not 0.0 <= v <= 1.0:
                raise HynasError(f"bad fault rate {k}={v!r}: it must be between 0 and 1")
        if sum(rates.values()) > 1.0:
            raise HynasError("fault rates add up to more than 1")
        self.inner, self.space, self.seed = inner, inner.space, seed
        self.rates, self.hang_s, self.delay_s = rates, hang_s, delay_s
        self.once_dir = Path(once_dir) if once_dir else None

    def metrics(self) -> dict[str, Metric]:
        return self.inner.metrics()

    def fidelities(self) -> tuple[float, ...]:
        return self.inner.fidelities()

    def default_fidelity(self) -> float | None:
        return self.inner.default_fidelity()

    def fault(self, arch: Architecture) -> str | None:
        """Which fault (if any) ``arch`` draws; the same answer in every process."""
        u = (zlib.crc32(f"{self.seed}:{arch}".encode()) & 0xFFFFFFFF) / 2**32
        edge = 0.0
        for name in FAULTS:
            edge += self.rates[name]
            if u < edge:
                return name
        return None

    def _armed(self, arch: Architecture, kind: str) -> bool:
        if self.once_dir is None:
            return True
        marker = self.once_dir / f"{kind}-{zlib.crc32(str(arch).encode()):08x}"
        try:
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return False
        os.close(fd)
        return True

    def evaluate(self, arch: Architecture, fidelity: float | None = None) -> Evaluation:
        if self.delay_s:
            time.sleep(self.delay_s)
        kind = self.fault(arch)
        if kind is not None and self._armed(arch, kind):
            if kind == "error":
                raise RuntimeError(f"injected evaluator error for {arch}")
            if kind == "hang":
                time.sleep(self.hang_s)
            if kind == "die":
                os.kill(os.getpid(), signal.SIGKILL)
            if kind == "nan":
                ev = self.inner.evaluate(arch, fidelity)
                return Evaluation({k: math.nan for k in ev.metrics}, ev.hidden, ev.cost_s, ev.fidelity)
        return self.inner.evaluate(arch, fidelity)
