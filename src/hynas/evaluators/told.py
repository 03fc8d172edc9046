"""The ``told`` evaluator: metrics that the user's own training loop reports (ask/tell).

An ask/tell study (:func:`hynas.create_study`) asks hynas for architectures and trains them in the
user's code; the values come back through ``Study.tell``. This evaluator is what such a study's
configuration names: it *declares* the user's metrics, each with its direction
(``metrics=["accuracy:max", "val_loss:min"]``), for any registered space (``space=...``), so the
configuration, the store, ``hynas show``, ``hynas report`` and ``hynas.load`` treat an ask/tell
store like any other. It cannot score an architecture itself (``evaluates = False``): ``evaluate``
raises a :class:`~hynas.core.errors.HynasError`, and the runners (``hynas search``) refuse it.

``dataset`` is a free label of the user's data (shown with the configuration); hynas reads nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.core.evaluator import Evaluation, Evaluator, Metric
from hynas.core.metrics import resolve_cost_model
from hynas.core.objectives import parse_constraint, parse_objective
from hynas.spaces import get_space

__all__ = ["ToldEvaluator", "parse_told", "told_metrics"]

_SPEC = re.compile(r"^([A-Za-z_][A-Za-z0-9_\-\.]*(?:@[A-Za-z0-9_\-\.:/]+)?):(min|max)$")


def parse_told(specs: str | Sequence[str]) -> dict[str, str]:
    """``["accuracy:max", "loss:min"]`` (or one comma-separated string, as ``-e metrics=...`` gives)
    as {name: direction}; anything else is one clear error."""
    items = [s.strip() for s in specs.split(",")] if isinstance(specs, str) else list(specs)
    out: dict[str, str] = {}
    for item in items:
        m = _SPEC.match(item) if isinstance(item, str) else None
        if m is None:
            raise HynasError(
                f"bad told metric {item!r}: give NAME:max or NAME:min (whether larger or smaller is "
                "better), e.g. accuracy:max"
            )
        if m.group(1) in out:
            raise HynasError(f"told metric {m.group(1)!r} is declared twice")
        out[m.group(1)] = m.group(2)
    if not out:
        raise HynasError("no told metrics: declare at least one, e.g. metrics=['accuracy:max']")
    return out


class ToldEvaluator(Evaluator):
    """Metrics told by your own training loop (ask/tell from Python: hynas.create_study).

    It declares them and evaluates nothing (see the module docstring).
    """

    evaluates = False

    def __init__(
        self, space: str | None = None, metrics: str | Sequence[str] = (), dataset: str | None = None
    ) -> None:
        if not isinstance(space, str) or not space:
            raise HynasError("the told evaluator needs the space it declares metrics for: space=NAME")
        if dataset is not None and not isinstance(dataset, str):
            raise HynasError(f"dataset must be a name (a label of your data), got {dataset!r}")
        self.space = get_space(space)
        self.dataset = dataset
        self._metrics = {
            name: Metric(name, direction, description="told by the user's training loop (Study.tell)")
            for name, direction in parse_told(metrics).items()
        }

    def metrics(self) -> dict[str, Metric]:
        return dict(self._metrics)

    def evaluate(self, arch: Architecture, fidelity: float | None = None) -> Evaluation:
        raise HynasError(
            f"the told evaluator cannot score {arch}: its metrics ({', '.join(self._metrics)}) come from "
            "your own training loop; ask and tell from Python (hynas.create_study)"
        )


def told_metrics(
    space_name: str, objectives: Sequence[str], extra: Sequence[str], constraints: Sequence[str]
) -> list[str]:
    """``name:direction`` of every metric your loop tells: the objectives and constraints hynas
    cannot compute for the space, and the ``metrics`` declared."""
    space = get_space(space_name)
    declared = parse_told(extra) if extra else {}
    told: dict[str, str] = {}
    for text in objectives:
        if not isinstance(text, str):
            raise HynasError(f"bad objective {text!r}: give a name such as 'accuracy:max' or 'params'")
        o = parse_objective(text)
        explicit = text.strip().endswith((":min", ":max"))
        if o.name in declared:
            if explicit and declared[o.name] != o.direction:
                raise HynasError(f"objective {text!r} contradicts metric '{o.name}:{declared[o.name]}'")
            told[o.name] = declared[o.name]
        elif resolve_cost_model(o.name, space) is None:
            if not explicit:
                raise HynasError(
                    f"objective {o.name!r} is not a metric hynas computes for space {space_name!r}, so "
                    f"your loop tells it: say whether larger or smaller is better, e.g. '{o.name}:max'"
                )
            told[o.name] = o.direction
    for name, direction in declared.items():
        told.setdefault(name, direction)
    for text in constraints:
        name = parse_constraint(text).name
        if name not in told and resolve_cost_model(name, space) is None:
            raise HynasError(
                f"constraint {text!r} names {name!r}, which hynas does not compute for space "
                f"{space_name!r}; declare it with metrics=['{name}:min'] (or :max) and tell it"
            )
    if not told:
        raise HynasError(
            f"hynas computes every objective ({', '.join(objectives)}) itself; an ask/tell study needs "
            "at least one metric your loop tells, e.g. 'accuracy:max'"
        )
    return [f"{n}:{d}" for n, d in told.items()]
