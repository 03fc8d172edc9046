"""Metrics that do not come from the evaluator: cost models keyed by name.

An objective such as ``latency@roofline:a100`` or ``params`` is looked up first among the
evaluator's own metrics; if the evaluator does not report it, each registered *resolver* is asked
whether it can compute it for the space. Hardware cost models (``hynas.hw``) register resolvers here,
so every cost model is usable from every strategy and from the CLI with no special wiring.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from hynas.core import lookup
from hynas.core.arch import Architecture
from hynas.core.space import SearchSpace

__all__ = [
    "DEVICES",
    "RESOLVERS",
    "CostModel",
    "MetricInfo",
    "TableCostModel",
    "register_device",
    "register_resolver",
    "resolve_cost_model",
]


@dataclass(frozen=True)
class MetricInfo:
    name: str
    direction: str
    unit: str = ""
    description: str = ""


class CostModel(abc.ABC):
    """A deterministic function of the architecture (params, FLOPs, latency estimate, ...)."""

    info: MetricInfo

    @abc.abstractmethod
    def __call__(self, arch: Architecture) -> float: ...

    def stored_values(self) -> np.ndarray | None:
        """The value of every architecture of the space in ``space.enumerate()`` order when it is
        already stored (a lookup table), else ``None``. Never evaluates the model: reference points
        and true fronts use it only where it costs nothing."""
        return None


class TableCostModel(CostModel):
    """A column of a shipped benchmark table, one value per architecture of an enumerable space,
    looked up by ``space.index(arch)`` (e.g. EC-NAS-Bench energy, NAS-Bench-201's NASWOT score)."""

    def __init__(self, info: MetricInfo, space: SearchSpace, values: ArrayLike) -> None:
        self.info, self.space = info, space
        self.values = np.asarray(values, dtype=np.float64)

    def __call__(self, arch: Architecture) -> float:
        return float(self.values[self.space.index(arch)])  # type: ignore[attr-defined]

    def stored_values(self) -> np.ndarray | None:
        # rows follow space.index, which is the space.enumerate() order of the enumerable spaces
        return self.values if len(self.values) == self.space.size() else None


Resolver = Callable[[str, SearchSpace], "CostModel | None"]
RESOLVERS: list[Resolver] = []
#: (pattern, description[, direction]) shown by ``hynas list objectives``; direction "min" if left out
CATALOG: list[tuple[str, ...]] = []


#: device name -> (metric sources, description), shown by ``hynas list devices``
DEVICES: dict[str, tuple[str, str]] = {}


def register_device(name: str, sources: str, description: str) -> None:
    old = DEVICES.get(name)
    if old is not None and old[0] != sources:
        sources = f"{old[0]}, {sources}"
    DEVICES[name] = (sources, description if old is None else old[1])


def register_resolver(resolver: Resolver, *catalog: tuple[str, ...]) -> Resolver:
    RESOLVERS.append(resolver)
    CATALOG.extend(catalog)
    return resolver


def resolve_cost_model(name: str, space: SearchSpace) -> CostModel | None:
    _load_plugins()
    for resolver in RESOLVERS:
        model = resolver(name, space)
        if model is not None:
            return model
    return None


def _load_plugins() -> None:
    """Import the modules that register resolvers (kept lazy: they may import torch)."""
    lookup.load_cost_models()
