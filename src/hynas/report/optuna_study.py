"""A hynas run written into an Optuna study, so that Optuna's own tools (optuna-dashboard,
``optuna.visualization``) show it.

What goes where:
- objectives → the study's ``directions`` and each trial's ``values``;
- the architecture → one categorical parameter per decision of the space (its name and choices),
  plus the architecture string as the user attribute ``arch``;
- constraints → Optuna's constraint values (feasible when every value is <= 0), in the order of
  the study's user attribute ``constraints``: the relative violation when violated, the negative
  relative slack when met, as hynas measures them;
- every other metric → user attributes (report-only ones prefixed ``hidden:``), with the hynas
  trial number, fidelity and cost; failed trials → ``FAIL`` with the error; pruned trials (an
  ask/tell study's ``tell(trial, state="pruned")``) → ``PRUNED``.

The export reads the store read-only and writes a new study: an existing study of the same name
is refused, so nothing already in the Optuna storage is changed.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from typing import TYPE_CHECKING, Any

from hynas.core.errors import HynasError
from hynas.core.objectives import Constraint
from hynas.core.store import TrialRecord

if TYPE_CHECKING:
    import optuna

__all__ = ["CONSTRAINTS_KEY", "constraint_value", "to_optuna"]

#: the system attribute that holds a trial's constraint values (Optuna's ``_CONSTRAINTS_KEY``)
CONSTRAINTS_KEY = "constraints"


def constraint_value(c: Constraint, value: float) -> float:
    """Optuna's form of one constraint: > 0 violated (hynas's relative violation), <= 0 met."""
    violation = c.violation(value)
    if violation > 0:
        return violation
    gap = value - c.bound if c.op.startswith("<") else c.bound - value
    return min(0.0, gap / max(abs(c.bound), 1e-12))


def _primitive(choice: Any) -> Any:
    return choice if choice is None or isinstance(choice, bool | int | float | str) else str(choice)


def _when(t: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(t)


def _trial(study: Any, rec: TrialRecord) -> optuna.trial.FrozenTrial:
    import optuna
    from optuna.distributions import CategoricalDistribution
    from optuna.trial import TrialState

    exp = study.experiment
    space = exp.space
    arch = space.parse(rec.arch)
    params: dict[str, Any] = {}
    dists: dict[str, Any] = {}
    for dim, gene in zip(space.dims, arch.genes, strict=True):
        choices = tuple(dict.fromkeys(_primitive(c) for c in dim.choices))
        params[dim.name] = _primitive(dim.choices[gene])
        dists[dim.name] = CategoricalDistribution(choices)
    attrs: dict[str, Any] = {"arch": rec.arch, "hynas_number": rec.number, "cost_s": rec.cost_s}
    if rec.fidelity is not None:
        attrs["fidelity"] = rec.fidelity
    finite = {k: v for k, v in rec.metrics.items() if math.isfinite(v)}
    attrs.update(finite)
    attrs.update({f"hidden:{k}": v for k, v in rec.hidden.items() if math.isfinite(v)})
    system: dict[str, Any] = {}
    values = None
    state = TrialState.PRUNED if rec.status == "pruned" else TrialState.FAIL
    if rec.ok:
        state = TrialState.COMPLETE
        values = [rec.metrics[o.name] for o in exp.objectives]
        if exp.constraints:
            # the list form, which both Optuna (keys "0", "1", ...) and optuna-dashboard read; the
            # names are in the study's user attribute "constraints", in the same order
            system[CONSTRAINTS_KEY] = [constraint_value(c, rec.metrics[c.name]) for c in exp.constraints]
    elif rec.error:
        attrs["error"] = rec.error
    trial = optuna.trial.create_trial(
        state=state,
        values=values,
        params=params,
        distributions=dists,
        user_attrs=attrs,
        system_attrs=system,
    )
    if rec.started_at > 0 and rec.finished_at >= rec.started_at:  # when it ran, not when exported
        trial.datetime_start, trial.datetime_complete = _when(rec.started_at), _when(rec.finished_at)
    return trial


def to_optuna(study: Any, storage: str, study_name: str | None = None) -> optuna.Study:
    """Write ``study`` (a :class:`hynas.study.Study`) into a new Optuna study in ``storage`` (an
    Optuna storage URL, e.g. ``sqlite:///optuna.db``) and return it."""
    import optuna

    name = study_name or study.default_name()
    try:
        existing = optuna.study.get_all_study_names(storage)
    except Exception as exc:  # a URL Optuna cannot open: one line, not SQLAlchemy's traceback
        raise HynasError(f"cannot open Optuna storage {storage!r}: {str(exc).splitlines()[0]}") from None
    if name in existing:
        raise HynasError(
            f"Optuna storage {storage!r} already holds a study {name!r}; give another --study-name "
            "(nothing was written)"
        )
    trials = [_trial(study, r) for r in study.trials]
    out = optuna.create_study(
        storage=storage,
        study_name=name,
        directions=["maximize" if o.direction == "max" else "minimize" for o in study.experiment.objectives],
    )
    with warnings.catch_warnings():  # experimental since Optuna 3.2, and what the dashboard shows
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        out.set_metric_names([o.name for o in study.experiment.objectives])
    out.set_user_attr("hynas_config", study.config.to_dict())
    out.set_user_attr("constraints", [str(c) for c in study.experiment.constraints])
    out.add_trials(trials)
    return out
