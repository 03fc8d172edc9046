"""Objectives and constraints: what a search optimises and what it must respect.

An objective names a metric and a direction (``accuracy`` is maximised, ``latency@raspi4``
minimised). The metric's *source* is the part after ``@``: a device of a tabular benchmark, a
measured or modelled cost (see ``hynas list objectives``); a source may hold a file path with ``/``
(``latency@lut:runs/lut.json``). A constraint is ``metric <= bound`` or ``metric >= bound``, or the
strict ``<`` / ``>`` (a value equal to the bound then violates it); it is handled as in constrained NSGA-II (Deb et al. 2002): feasible beats
infeasible, and of two infeasible points the smaller total violation wins.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from hynas.core.errors import HynasError

__all__ = ["Constraint", "Objective", "parse_constraint", "parse_objective", "violation"]

_NAME = r"[A-Za-z_][A-Za-z0-9_\-\.]*(?:@[A-Za-z0-9_\-\.:/]+)?"


@dataclass(frozen=True)
class Objective:
    """A metric name and whether larger (``max``) or smaller (``min``) is better."""

    name: str
    direction: str = "min"

    def __post_init__(self) -> None:
        if self.direction not in ("min", "max"):
            raise HynasError(
                f"objective {self.name!r}: direction must be 'min' or 'max', not {self.direction!r}"
            )

    @property
    def source(self) -> str:
        return self.name.split("@", 1)[1] if "@" in self.name else ""

    def to_min(self, value: float) -> float:
        """The value in minimisation form (negated for ``max``)."""
        return -value if self.direction == "max" else value

    def __str__(self) -> str:
        return f"{self.name}:{self.direction}"


@dataclass(frozen=True)
class Constraint:
    """``name op bound`` with ``op`` in ``<=`` / ``>=`` / ``<`` / ``>`` (strict)."""

    name: str
    op: str
    bound: float

    def violation(self, value: float) -> float:
        """0 when satisfied, else the distance to the bound relative to ``|bound|`` (scale-free)."""
        if math.isnan(value):
            return math.inf
        gap = value - self.bound if self.op.startswith("<") else self.bound - value
        scale = max(abs(self.bound), 1e-12)
        if gap == 0.0 and self.op in ("<", ">"):
            return 1e-12  # on the bound: a strict constraint is violated, by the least amount
        return max(0.0, gap) / scale

    def __str__(self) -> str:
        return f"{self.name} {self.op} {self.bound:g}"


def parse_objective(text: str, default_direction: Mapping[str, str] | None = None) -> Objective:
    """Parse ``name``, ``name:min`` or ``name:max``; the default direction comes from the metric."""
    raw = text.strip()
    direction = None
    if raw.endswith((":min", ":max")):
        raw, direction = raw[:-4], raw[-3:]
    if not re.fullmatch(_NAME, raw):
        raise HynasError(
            f"malformed objective {text!r}; expected NAME[@SOURCE][:min|:max], e.g. latency@raspi4"
        )
    if direction is None:
        direction = (default_direction or {}).get(raw, "min")
    return Objective(raw, direction)


def parse_constraint(text: str) -> Constraint:
    """Parse ``latency@raspi4 <= 5`` (also ``>=``, and the strict ``<`` / ``>``)."""
    m = re.fullmatch(rf"\s*({_NAME})\s*(<=|>=|<|>)\s*([-+0-9.eE]+)\s*", text)
    if not m:
        raise HynasError(
            f"malformed constraint {text!r}; expected NAME <= NUMBER or NAME >= NUMBER, "
            "e.g. 'latency@raspi4 <= 5'"
        )
    name, op, num = m.groups()
    try:
        bound = float(num)
    except ValueError:
        raise HynasError(f"malformed constraint {text!r}: {num!r} is not a number") from None
    if not math.isfinite(bound):
        raise HynasError(f"malformed constraint {text!r}: the bound must be finite")
    return Constraint(name, op, bound)


def violation(constraints: Sequence[Constraint], metrics: Mapping[str, float]) -> float:
    """Total constraint violation (0 means feasible)."""
    return float(sum(c.violation(metrics[c.name]) for c in constraints))
