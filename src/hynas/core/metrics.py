"""Metrics that do not come from the evaluator: cost models keyed by name.

An objective such as ``latency@roofline:a100`` or ``params`` is looked up first among the
evaluator's own metrics; if the evaluator does not report it, each registered *resolver* is asked
whether it can compute it for the space. Hardware cost models (``hynas.hw``) register resolvers here,
so every cost model is usable from every strategy and from the CLI with no special wiring.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, MutableSequence
from dataclasses import dataclass
from typing import Any, overload

import numpy as np
from numpy.typing import ArrayLike

from hynas.core import lookup
from hynas.core.arch import Architecture
from hynas.core.registry import Registry
from hynas.core.space import SearchSpace

__all__ = [
    "COST_MODELS",
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


def _load_cost_models() -> None:
    """Import the modules that register resolvers (kept lazy: they may import torch)."""
    lookup.load_cost_models()


#: cost models: a name -> a *resolver* ``(objective, space) -> CostModel | None``, asked in
#: registration order; metadata ``catalog``: the (pattern, description[, direction]) rows that
#: ``hynas list objectives`` shows (direction "min" if left out)
COST_MODELS: Registry[CostModel | None] = Registry("cost model", load=_load_cost_models)
#: devices: a name -> a factory of its spec (or ``None``); summary: description; metadata
#: ``sources``: the metrics measured or modelled on it, shown by ``hynas list devices``
DEVICES: Registry[object] = Registry("device", load=_load_cost_models)


class _Resolvers(MutableSequence[Resolver]):
    """``RESOLVERS``: the resolvers of :data:`COST_MODELS` as a list (``insert``/``remove`` register
    and unregister), kept for code written before the registry."""

    def _names(self) -> list[str]:
        return list(COST_MODELS)

    def __len__(self) -> int:
        return len(self._names())

    @overload
    def __getitem__(self, i: int) -> Resolver: ...
    @overload
    def __getitem__(self, i: slice) -> MutableSequence[Resolver]: ...
    def __getitem__(self, i: int | slice) -> Resolver | MutableSequence[Resolver]:
        fs = [e.factory for _, e in COST_MODELS.items()]
        return fs[i]

    def __setitem__(self, i: Any, value: Any) -> None:
        raise TypeError("register cost models with register_resolver() or RESOLVERS.insert()")

    def __delitem__(self, i: int | slice) -> None:
        names = self._names()
        for name in names[i] if isinstance(i, slice) else [names[i]]:
            COST_MODELS.unregister(name)

    def insert(self, index: int, value: Resolver) -> None:
        register_resolver(value, position=index)


RESOLVERS: MutableSequence[Resolver] = _Resolvers()


def __getattr__(name: str) -> Any:
    if name == "CATALOG":  # the rows of every cost model, in registration order
        return [row for _, e in COST_MODELS.items() for row in e.meta.get("catalog", ())]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def register_device(
    name: str, sources: str, description: str, spec: Callable[[], object] | None = None
) -> None:
    """Add a device to ``hynas list devices`` (or add ``sources`` to a known one). ``spec``: a
    factory of the device's description for cost models that read one (a roofline ``Device``)."""
    old = DEVICES.peek(name)
    if old is not None:  # several modules add their metrics to one device
        srcs = old.meta["sources"] if old.meta["sources"] == sources else f"{old.meta['sources']}, {sources}"
        DEVICES.update(name, spec, sources=srcs)
        return
    DEVICES.add(name, spec or (lambda: None), description, sources=sources)


def register_resolver(
    resolver: Resolver, *catalog: tuple[str, ...], name: str | None = None, position: int | None = None
) -> Resolver:
    """Register a cost-model resolver with the catalog rows ``hynas list objectives`` shows.

    ``name`` defaults to the resolver's module and function name; ``position`` puts it earlier in
    the order resolvers are asked in (0: first)."""
    key = name or f"{resolver.__module__}.{getattr(resolver, '__qualname__', repr(resolver))}"
    COST_MODELS.add(key, resolver, catalog[0][1] if catalog else "", position=position, catalog=catalog)
    return resolver


def resolve_cost_model(name: str, space: SearchSpace) -> CostModel | None:
    """The cost model called ``name`` for ``space``: the first resolver that knows it."""
    for _, entry in COST_MODELS.items():
        model = entry.factory(name, space)
        if model is not None:
            return model
    return None


def _load_plugins() -> None:
    """Load the cost-model modules and the third-party plug-ins (kept for older callers)."""
    COST_MODELS.names()
