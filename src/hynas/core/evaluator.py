"""The evaluator contract: architecture in, metrics and cost out.

Evaluators are the only place where architectures are scored. They declare their metrics up front
(:class:`Metric`), including which ones are *hidden*: report-only numbers such as test accuracy that
are stored but never reach a strategy. ``cost_s`` is the (real or simulated) seconds the evaluation
took, so budgets and anytime curves can be expressed in time as well as in queries.

An evaluator with ``evaluates = False`` only *declares* metrics whose values come from outside
hynas: the ``told`` evaluator of an ask/tell study (:func:`hynas.create_study`), where the user's
own training loop reports them through ``Study.tell``. Its ``evaluate`` raises a
:class:`~hynas.core.errors.HynasError`, and the runners refuse it before they open a store.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.core.space import SearchSpace

__all__ = ["Evaluation", "Evaluator", "Metric", "check_fidelity", "check_whole"]


def check_whole(name: str, value: object, low: int = 1, who: str = "") -> int:
    """``value`` if it is a whole number ``>= low`` (a bool is not one); else one clear error,
    ``"<who><name> must be a whole number >= <low>, got <value>"``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise HynasError(f"{who}{name} must be a whole number >= {low}, got {value!r}")
    return value


def check_fidelity(fidelity: object, valid: tuple[float, ...], lead: str, unit: str) -> float:
    """``fidelity`` as a float if it is one of ``valid``; else one clear error.

    The message reads ``"<lead> 12, 200 <unit>, not 7"`` (``lead`` names the evaluator, for example
    ``"nb201/cifar10 has fidelities"``); a value that is not a number says so.
    """
    listed = ", ".join(f"{f:g}" for f in valid)
    try:
        value = float(fidelity)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise HynasError(
            f"{lead} {listed} {unit}; a fidelity must be a number of {unit}, got {fidelity!r}"
        ) from None
    if value not in valid:
        raise HynasError(f"{lead} {listed} {unit}, not {value:g}")
    return value


@dataclass(frozen=True)
class Metric:
    name: str
    direction: str  # "min" | "max"
    unit: str = ""
    description: str = ""
    hidden: bool = False  # report-only: never shown to a strategy


@dataclass(frozen=True)
class Evaluation:
    metrics: Mapping[str, float]  # visible metrics
    hidden: Mapping[str, float] = field(default_factory=dict)  # report-only metrics (e.g. test accuracy)
    cost_s: float = 0.0
    fidelity: float | None = None


class Evaluator(abc.ABC):
    """Scores architectures of one space."""

    space: SearchSpace
    #: False: the metrics are told from outside (``Study.tell``), ``evaluate`` always raises a
    #: HynasError and no runner drives a search with it (see the module docstring)
    evaluates: bool = True

    @abc.abstractmethod
    def metrics(self) -> dict[str, Metric]:
        """Every metric this evaluator reports, by name."""

    @abc.abstractmethod
    def evaluate(self, arch: Architecture, fidelity: float | None = None) -> Evaluation:
        """Score one architecture at ``fidelity`` (``None``: the evaluator's default)."""

    def fidelities(self) -> tuple[float, ...]:
        """The fidelities on offer (for example epochs), lowest first; empty if there is one."""
        return ()

    def default_fidelity(self) -> float | None:
        return None

    def table(self, names: list[str]) -> dict[str, np.ndarray] | None:
        """Values of ``names`` for every architecture, in ``space.enumerate()`` order, if the
        evaluator is exhaustive (a tabular benchmark); ``None`` otherwise."""
        return None
