"""What to export: a trial of a store (picked by number, by the best value of one objective, or by
default from the Pareto front), or an architecture string of a space.

The default pick is the **knee of the front**: among the feasible completed trials on the run's
Pareto front, each objective is rescaled to [0, 1] over the front (0 = the front's best value), and
the trial closest (Euclidean) to the ideal point (0, ..., 0) is taken; equal distances go to the
lower trial number. With one objective that is the best trial.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hynas.core.errors import HynasError
from hynas.core.store import TrialRecord

__all__ = ["Chosen", "choose", "knee"]


@dataclass
class Chosen:
    """The architecture to export, with the store facts the model card reports."""

    space: str
    arch_text: str
    how: str  # how it was chosen, in words
    store: str | None = None
    trial: TrialRecord | None = None
    config: dict[str, Any] = field(default_factory=dict)  # the store's experiment configuration
    objectives: list[str] = field(default_factory=list)  # "name (max)" ...


def knee(points: np.ndarray, numbers: list[int]) -> int:
    """Index of the row of ``points`` (minimisation form) closest to the ideal after rescaling;
    of equal distances, the row with the lowest trial number in ``numbers``."""
    lo, hi = points.min(axis=0), points.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    dist = np.linalg.norm((points - lo) / span, axis=1)
    return min(range(len(numbers)), key=lambda i: (float(dist[i]), numbers[i]))


def _load(store: str) -> tuple[Any, list[TrialRecord], dict[str, Any]]:
    from hynas.core.experiment import ExperimentConfig
    from hynas.stores import open_store
    from hynas.wiring import Experiment

    with open_store(store, create=False, read_only=True) as st:
        cfg = st.config()
        if cfg is None:
            raise HynasError(
                f"store {store!r} has no experiment configuration yet (no search was started in it)"
            )
        records = st.trials()
    return Experiment(ExperimentConfig.from_dict(cfg)), records, cfg


def choose(
    store: str | None,
    trial: int | None = None,
    best: str | None = None,
    arch: str | None = None,
    space: str | None = None,
) -> Chosen:
    """Resolve the command line's choice; one clear :class:`HynasError` for a bad one."""
    given = [n for n, v in (("--trial", trial), ("--best", best), ("--arch", arch)) if v is not None]
    if len(given) > 1:
        raise HynasError(f"give one of --trial, --best, --arch, not {' and '.join(given)}")
    if store is None:
        if arch is None or space is None:
            raise HynasError("give a STORE (to export one of its trials) or --arch ARCH --space SPACE")
        from hynas.spaces import get_space

        get_space(space)  # an unknown space: one clear error listing the valid ones
        return Chosen(space, arch, "given as an architecture string (not evaluated by hynas)")
    exp, records, cfg = _load(store)
    if space is not None and space != cfg["space"]:
        raise HynasError(f"--space {space!r} differs from the store's space {cfg['space']!r}; leave it out")
    objectives = [f"{o.name} ({o.direction})" for o in exp.objectives]
    if cfg.get("evaluator") is None:  # the space's default evaluator: name it for the model card
        from hynas.wiring import space_defaults

        defaults = space_defaults(cfg["space"])
        cfg = {**cfg, "evaluator": defaults.evaluator if defaults else None}
    chosen = Chosen(cfg["space"], "", "", store, None, cfg, objectives)
    if arch is not None:
        text = exp.space.format(exp.space.parse(arch))  # the canonical string, to match stored trials
        matches = [r for r in records if r.ok and r.arch == text]
        chosen.arch_text, chosen.trial = arch, (matches[-1] if matches else None)
        chosen.how = "given as an architecture string" + (
            f" (trial {matches[-1].number} of the store)" if matches else " (not among the store's trials)"
        )
        return chosen
    if not records:
        raise HynasError(f"store {store!r} has no trials yet")
    if trial is not None:
        if not 0 <= trial < len(records):
            raise HynasError(
                f"no trial {trial} in store {store!r}; its trials are numbered 0 to {len(records) - 1}"
            )
        rec = records[trial]
        if not rec.ok:
            why = f"failed ({rec.error[:80]})" if rec.status == "failed" else f"was {rec.status}"
            raise HynasError(f"trial {trial} of {store!r} {why}; choose a completed trial")
        chosen.how = f"trial {trial}, chosen by number"
    else:
        rec, chosen.how = _pick(exp, records, best, store)
    chosen.arch_text, chosen.trial = rec.arch, rec
    return chosen


def _pick(exp: Any, records: list[TrialRecord], best: str | None, store: str) -> tuple[TrialRecord, str]:
    from hynas.report.analysis import run_front

    front = run_front(exp, records)
    if not front.records:
        raise HynasError(
            f"store {store!r} has no completed trial that meets its constraints; pick one with --trial N"
        )
    if best is None:
        rec = front.records[knee(np.asarray(front.points), [r.number for r in front.records])]
        by = ", ".join(o.name for o in exp.objectives)
        return rec, f"trial {rec.number}, the knee of the Pareto front ({len(front.records)} trials; {by})"
    names = [o.name for o in exp.objectives]
    if best not in names:
        raise HynasError(f"--best {best!r} is not an objective of this run; valid: {', '.join(names)}")
    obj = exp.objectives[names.index(best)]
    rec = min(front.records, key=lambda r: (obj.to_min(r.metrics[obj.name]), r.number))
    return rec, f"trial {rec.number}, the best {best} ({obj.direction}) among the feasible trials"
