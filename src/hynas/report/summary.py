"""The numbers of a run in one dictionary (CLI output, ``--json``, markdown report)."""

from __future__ import annotations

from typing import Any

import numpy as np

from hynas.core.store import TrialRecord
from hynas.report.analysis import reference_point, run_front, true_front
from hynas.wiring import Experiment

__all__ = ["format_duration", "status_text", "summarize", "trial_counts"]


def status_text(rec: TrialRecord, width: int) -> str:
    """A trial's status for a table: ``completed``, ``failed: <error>`` or ``pruned`` (with the
    reason told, if any); the error cut to ``width`` characters."""
    return f"{rec.status}: {rec.error[:width]}" if not rec.ok and rec.error else rec.status


def trial_counts(s: dict[str, Any]) -> str:
    """``12 (10 completed, 1 failed, 1 pruned)`` of a :func:`summarize` (pruned only when some were)."""
    pruned = f", {s['pruned']} pruned" if s["pruned"] else ""
    return f"{s['trials']} ({s['completed']} completed, {s['failed']} failed{pruned})"


def summarize(exp: Experiment, records: list[TrialRecord], ref: np.ndarray | None = None) -> dict[str, Any]:
    """``ref``: the run's reference point (default: :func:`reference_point` of ``records``)."""
    if ref is None:
        ref = reference_point(exp, records)
    front = run_front(exp, records, ref)
    tf = true_front(exp)
    ok = [r for r in records if r.ok]
    out: dict[str, Any] = {
        "config": exp.config.to_dict(),
        "trials": len(records),
        "completed": len(ok),
        "failed": sum(r.status == "failed" for r in records),
        "pruned": sum(r.status == "pruned" for r in records),
        "cost_s": float(sum(r.cost_s for r in records)),
        "objectives": [str(o) for o in exp.objectives],
        "constraints": [str(c) for c in exp.constraints],
        "reference_point_min_form": [float(x) for x in ref],
        # per objective: "table" (worst over the whole space) or "trials" (the run's first trials)
        "reference_point_from": [
            "table" if exp.column(o.name) is not None else "trials" for o in exp.objectives
        ],
        "hypervolume": front.hypervolume,
        "true_hypervolume": None if tf is None else tf.hypervolume,
        "hypervolume_ratio": None
        if tf is None or tf.hypervolume == 0
        else front.hypervolume / tf.hypervolume,
        "front": [
            {
                "number": r.number,
                "arch": r.arch,
                **r.metrics,
                **{f"hidden:{k}": v for k, v in r.hidden.items()},
            }
            for r in front.records
        ],
    }
    feasible = [r for r in ok if all(c.violation(r.metrics[c.name]) == 0 for c in exp.constraints)]
    if feasible:
        o = exp.objectives[0]
        best = min(feasible, key=lambda r: o.to_min(r.metrics[o.name]))
        out["best"] = {
            "number": best.number,
            "arch": best.arch,
            **best.metrics,
            **{f"hidden:{k}": v for k, v in best.hidden.items()},
        }
    return out


def format_duration(seconds: float) -> str:
    """``42 s``, ``12.5 min`` or ``3.2 h``: the unit that keeps the number readable."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
