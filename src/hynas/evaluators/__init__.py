"""Evaluators, by name. ``make_evaluator(space, name, **options)`` builds one for a space."""

from __future__ import annotations

from typing import Any

from hynas.core.errors import HynasError
from hynas.core.evaluator import Evaluator
from hynas.core.registry import Registry
from hynas.core.space import SpaceDefaults
from hynas.evaluators.convert import ConversionProxy
from hynas.evaluators.ecnas import ECNASTabular
from hynas.evaluators.lm import LMMQAR, MQAR, LMStdlib
from hynas.evaluators.supernet import SupernetEvaluator
from hynas.evaluators.tabular import NB201Tabular
from hynas.evaluators.told import ToldEvaluator
from hynas.evaluators.vision import MobileFashionMNIST

__all__ = ["EVALUATORS", "SpaceDefaults", "default_evaluator", "make_evaluator", "space_defaults"]

EVALUATORS: Registry[Evaluator] = Registry("evaluator", Evaluator)
EVALUATORS.register("nb201-tabular")(NB201Tabular)
EVALUATORS.register("lm-stdlib")(LMStdlib)
EVALUATORS.register("mqar")(MQAR)
EVALUATORS.register("lm-mqar")(LMMQAR)
EVALUATORS.register("mobile-fmnist")(MobileFashionMNIST)
EVALUATORS.register("ecnas-tabular")(ECNASTabular)
EVALUATORS.register("supernet")(SupernetEvaluator)
EVALUATORS.register("convert-proxy")(ConversionProxy)
EVALUATORS.register("told")(ToldEvaluator)


#: defaults registered with :func:`register_default`; they override the space's own ``defaults``
_DEFAULTS: dict[str, SpaceDefaults] = {}


def space_defaults(space: str) -> SpaceDefaults | None:
    """The default evaluator, dataset and objectives of ``space``: registered ones, else the
    space's own (:attr:`hynas.core.space.SearchSpace.defaults`)."""
    if space in _DEFAULTS:
        return _DEFAULTS[space]
    from hynas.spaces import SPACES, get_space

    return get_space(space).defaults if space in SPACES.names() else None


def default_evaluator(space: str) -> str:
    d = space_defaults(space)
    if d is None:
        raise HynasError(f"space {space!r} has no default evaluator; name one with --evaluator")
    return d.evaluator


def register_default(
    space: str, evaluator: str, dataset: str | None = None, objectives: tuple[str, ...] = ("accuracy",)
) -> None:
    _DEFAULTS[space] = SpaceDefaults(evaluator, dataset, tuple(objectives))


def make_evaluator(space: str, name: str | None = None, /, **options: Any) -> Evaluator:
    ev = EVALUATORS.create(name or default_evaluator(space), **options)
    if ev.space.name != space:
        raise HynasError(f"evaluator {name!r} scores space {ev.space.name!r}, not {space!r}")
    return ev
