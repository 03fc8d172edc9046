"""Evaluators, by name. ``make_evaluator(space, name, **options)`` builds one for a space."""

from __future__ import annotations

from typing import Any

from hynas.core.errors import HynasError
from hynas.core.evaluator import Evaluator
from hynas.core.registry import Registry
from hynas.evaluators.lm import LMMQAR, MQAR, LMStdlib
from hynas.evaluators.tabular import NB201Tabular
from hynas.evaluators.vision import MobileFashionMNIST

__all__ = ["EVALUATORS", "default_evaluator", "make_evaluator"]

EVALUATORS: Registry[Evaluator] = Registry("evaluator", Evaluator)
EVALUATORS.register("nb201-tabular")(NB201Tabular)
EVALUATORS.register("lm-stdlib")(LMStdlib)
EVALUATORS.register("mqar")(MQAR)
EVALUATORS.register("lm-mqar")(LMMQAR)
EVALUATORS.register("mobile-fmnist")(MobileFashionMNIST)

#: space -> the evaluator used when none is named
_DEFAULTS = {"nb201": "nb201-tabular", "hybrid-lm": "lm-mqar", "mobile": "mobile-fmnist"}


def default_evaluator(space: str) -> str:
    try:
        return _DEFAULTS[space]
    except KeyError:
        raise HynasError(f"space {space!r} has no default evaluator; name one with --evaluator") from None


def register_default(space: str, evaluator: str) -> None:
    _DEFAULTS[space] = evaluator


def make_evaluator(space: str, name: str | None = None, **options: Any) -> Evaluator:
    ev = EVALUATORS.create(name or default_evaluator(space), **options)
    if ev.space.name != space:
        raise HynasError(f"evaluator {name!r} scores space {ev.space.name!r}, not {space!r}")
    return ev
