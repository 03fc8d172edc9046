"""What every plot of a report shares: axis labels with units, and axis limits that show the front.

Axis limits come from robust quantiles, not from the extreme values: a few chance-level cells (10 %
accuracy among cells of 70-94 %) would otherwise squeeze the useful part of a plot into a strip.
The limits are the Tukey fences of the completed trials (quartiles ± :data:`FENCE` interquartile
ranges), shrunk to the data inside them and widened to keep the members of the run's front (those that
are not outliers themselves: the fastest NB201 cells are chance-level ones); the points left
outside are counted, and the plots say so ("N points outside the axis") instead of stretching.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hynas.wiring import Experiment

__all__ = ["FENCE", "axis_label", "outside_note", "robust_range", "unit_of"]

#: interquartile ranges past the quartiles that still count as "inside" an axis
FENCE = 3.0


def unit_of(exp: Experiment, name: str) -> str:
    """The unit of a metric: the evaluator's, else the cost model's (``""`` when it has none)."""
    m = exp.evaluator.metrics().get(name)
    if m is not None and m.unit:
        return m.unit
    cm = exp.cost_models.get(name)
    return cm.info.unit if cm is not None else ""


def axis_label(exp: Experiment, name: str, arrow: bool = True) -> str:
    """``latency@raspi4 [ms] (lower is better)``: name, unit, and for objectives the good direction."""
    unit = unit_of(exp, name)
    text = f"{name} [{unit}]" if unit else name
    for o in exp.objectives:
        if arrow and o.name == name:
            text += f" ({'higher' if o.direction == 'max' else 'lower'} is better)"
    return text


def robust_range(values: Sequence[float], keep: Sequence[float] = ()) -> tuple[float, float, int]:
    """Axis limits ``(lo, hi)`` for ``values`` (padded by 4 %) that include ``keep`` (the front)
    unless a kept value is an outlier itself, and how many of ``values`` fall outside them."""
    v = np.asarray([x for x in values if np.isfinite(x)], dtype=float)
    k = np.asarray([x for x in keep if np.isfinite(x)], dtype=float)
    if len(v) == 0 and len(k) == 0:
        return 0.0, 1.0, 0
    both = np.concatenate([v, k])
    if len(v) >= 4:
        q1, q3 = np.percentile(v, [25, 75])
        f_lo, f_hi = q1 - FENCE * (q3 - q1), q3 + FENCE * (q3 - q1)
        inside = v[(v >= f_lo) & (v <= f_hi)]
        lo, hi = inside.min(), inside.max()
        k = k[(k >= f_lo) & (k <= f_hi)]  # a chance-level cell can be on the front: noted, not kept
    else:
        lo, hi = both.min(), both.max()
    if len(k):
        lo, hi = min(lo, k.min()), max(hi, k.max())
    pad = (hi - lo) * 0.04 or abs(hi) * 0.04 or 1.0
    lo, hi = lo - pad, hi + pad
    return float(lo), float(hi), int(((v < lo) | (v > hi)).sum())


def outside_note(counts: dict[str, int]) -> str:
    """``"3 points outside the accuracy axis (outliers such as chance-level cells)"`` or ``""``."""
    parts = [f"{n} point{'s' if n != 1 else ''} outside the {name} axis" for name, n in counts.items() if n]
    if not parts:
        return ""
    return "; ".join(parts) + " (outliers such as chance-level cells)"
