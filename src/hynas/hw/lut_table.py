"""The latency lookup table itself: measured seconds per operator key, the fitted network-level
correction, prediction and the JSON file (``hynas-lut/1``).

How a table is built on this machine (covering networks, timing, the fit) is in :mod:`hynas.hw.lut`,
which re-exports these names.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.hw.analytic import arch_ops
from hynas.hw.measure import fingerprint_id

__all__ = ["FITS", "FORMAT", "MIN_FIT_NETWORKS", "LatencyTable", "default_lut_path", "op_key"]

FORMAT = "hynas-lut/1"
FITS = ("affine", "offset")
#: networks measured end to end that each fit needs: an affine line through two noisy points can
#: have any slope, and then predicts negative latencies for small networks
MIN_FIT_NETWORKS = {"affine": 3, "offset": 1}


def op_key(kind: str, shape: str) -> str:
    """The table's key of one operator: ``kind|shape``."""
    return f"{kind}|{shape}"


@dataclass
class LatencyTable:
    """Measured seconds per operator key plus the fitted network-level correction."""

    space: str
    runtime: str
    batch: int
    threads: int
    entries: dict[str, float]
    scale: float = 1.0
    overhead_s: float = 0.0
    fit: str = "affine"
    fingerprint: dict[str, str] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    # -- prediction ------------------------------------------------------------------------------
    def op_sum(self, arch: Architecture) -> float:
        """Σ of the table's operator latencies over ``arch``'s operators (seconds)."""
        if arch.space != self.space:
            raise HynasError(
                f"the latency table covers space {self.space!r}, not {arch.space!r}; "
                f"profile it with `hynas hw profile --space {arch.space}`"
            )
        total = 0.0
        for op in arch_ops(arch, batch=self.batch):
            key = op_key(op.kind, op.shape)
            t = self.entries.get(key)
            if t is None:
                raise HynasError(
                    f"the latency table for {self.space!r} (batch {self.batch}) has no entry for operator "
                    f"{key!r} ({op.name} of {arch}); rebuild it with `hynas hw profile --space {self.space}`"
                )
            total += t
        return total

    def predict(self, arch: Architecture) -> float:
        """Predicted seconds: ``scale × Σ ops + overhead``; a table whose fit predicts a latency
        that is not positive is one clear error, never a negative latency."""
        t = self.scale * self.op_sum(arch) + self.overhead_s
        if not (math.isfinite(t) and t > 0):
            raise HynasError(
                f"the latency table for {self.space!r} predicts {t * 1e3:.4g} ms for {arch}: its fit "
                f"(scale {self.scale:.4g}, overhead {self.overhead_s * 1e3:.4g} ms) is unreliable; rebuild it "
                f"with more fit networks (`hynas hw profile --space {self.space} --n-fit 10`)"
            )
        return t

    def fit_overhead(self, sums: Iterable[float], measured: Iterable[float], fit: str = "affine") -> None:
        """Least-squares fit of ``measured ≈ scale × sums + overhead`` (``offset``: scale fixed at 1)."""
        if fit not in FITS:
            raise HynasError(f"unknown LUT fit {fit!r}; valid fits: {', '.join(FITS)}")
        s, m = np.asarray(list(sums), float), np.asarray(list(measured), float)
        if len(s) < MIN_FIT_NETWORKS[fit]:
            raise HynasError(
                f"the {fit} LUT fit needs at least {MIN_FIT_NETWORKS[fit]} measured networks, got {len(s)} "
                "(--n-fit)"
            )
        scale, overhead = 1.0, float(np.mean(m - s))
        if fit == "affine":
            a = np.stack([s, np.ones_like(s)], axis=1)
            (sc, ov), *_ = np.linalg.lstsq(a, m, rcond=None)
            if sc > 0:
                scale, overhead = float(sc), float(ov)
        if not np.all(scale * s + overhead > 0):
            raise HynasError(
                f"the {fit} LUT fit on {len(s)} networks predicts a latency <= 0 for one of them "
                f"(scale {scale:.4g}, overhead {overhead * 1e3:.4g} ms); measure more fit networks (--n-fit)"
            )
        self.scale, self.overhead_s, self.fit = scale, overhead, fit

    # -- files -----------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "space": self.space,
            "runtime": self.runtime,
            "batch": self.batch,
            "threads": self.threads,
            "scale": self.scale,
            "overhead_s": self.overhead_s,
            "fit": self.fit,
            "fingerprint": self.fingerprint,
            "fingerprint_id": fingerprint_id(self.fingerprint) if self.fingerprint else "",
            "meta": self.meta,
            "entries": dict(sorted(self.entries.items())),
        }

    def save(self, path: str | Path) -> Path:
        p = Path(path).expanduser()
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(json.dumps(self.to_dict(), indent=1))
        except OSError as exc:
            raise HynasError(f"cannot write latency table {p}: {exc}") from None
        return p

    @classmethod
    def load(cls, path: str | Path) -> LatencyTable:
        p = Path(path).expanduser()
        try:
            d = json.loads(p.read_text())
        except FileNotFoundError:
            raise HynasError(
                f"latency table {p} does not exist; build it with `hynas hw profile --out {p}`"
            ) from None
        except (OSError, json.JSONDecodeError) as exc:
            raise HynasError(f"cannot read latency table {p}: {exc}") from None
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise HynasError(f"{p} is not a hynas latency table (expected format {FORMAT!r})")
        try:
            return cls(
                space=str(d["space"]),
                runtime=str(d["runtime"]),
                batch=int(d["batch"]),
                threads=int(d["threads"]),
                entries={str(k): float(v) for k, v in d["entries"].items()},
                scale=float(d["scale"]),
                overhead_s=float(d["overhead_s"]),
                fit=str(d["fit"]),
                fingerprint=dict(d.get("fingerprint", {})),
                meta=dict(d.get("meta", {})),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise HynasError(f"latency table {p} is malformed: {exc!r}") from None


def default_lut_path(space: str) -> Path:
    """Where a space's table lives unless told otherwise: ``$HYNAS_LUT_DIR/lut-<space>.json``
    (default directory ``~/.cache/hynas``)."""
    import os

    root = os.environ.get("HYNAS_LUT_DIR")
    return (Path(root) if root else Path.home() / ".cache" / "hynas") / f"lut-{space}.json"
