"""The one wiring module: an :class:`Experiment` is built from an
:class:`~hynas.core.experiment.ExperimentConfig` here, for the CLI, :func:`hynas.search`, the
runners and the benchmarks alike.

It stands above every plug-in layer (spaces, evaluators, strategies, cost models) and resolves
the configuration's names through their registries. It is also the provider that answers core's
questions (:mod:`hynas.core.lookup`): a space by name, a space's defaults, loading the cost-model
modules. Plug-in packages are imported inside the functions, so importing this module stays cheap.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.core.evaluator import Evaluation, Evaluator
from hynas.core.experiment import ExperimentConfig
from hynas.core.lookup import SpaceDefaults
from hynas.core.metrics import CostModel, resolve_cost_model
from hynas.core.objectives import Constraint, Objective, parse_constraint, parse_objective
from hynas.core.registry import unknown
from hynas.core.space import SearchSpace
from hynas.core.strategy import Candidate, Result, Strategy

__all__ = ["Experiment", "load_cost_models", "space", "space_defaults"]

_UNSET = object()


def space(name: str) -> SearchSpace:
    """The registered space called ``name`` (answers :func:`hynas.core.lookup.space`)."""
    from hynas.spaces import get_space

    return get_space(name)


def space_defaults(name: str) -> SpaceDefaults | None:
    """A space's default evaluator, dataset and objectives (answers
    :func:`hynas.core.lookup.space_defaults`)."""
    from hynas.evaluators import space_defaults as defaults

    return defaults(name)


def load_cost_models() -> None:
    """Import the modules that register cost-model resolvers (answers
    :func:`hynas.core.lookup.load_cost_models`)."""
    from hynas import plugins

    plugins.load()


class Experiment:
    """Resolved parts of a configuration: space, evaluator, strategy, objectives, constraints."""

    def __init__(self, config: ExperimentConfig, strategy: Strategy | None = None) -> None:
        from hynas.differentiable import METHODS, is_method, make_method
        from hynas.evaluators import make_evaluator
        from hynas.spaces import get_space
        from hynas.strategies import STRATEGIES

        self.config = config
        if strategy is None and not is_method(config.strategy) and config.strategy not in STRATEGIES:
            raise unknown(
                "strategy", config.strategy, STRATEGIES.names(), differentiable_methods=list(METHODS)
            )
        # options first: a bad one is refused before any table is loaded; a differentiable method
        # (hynas.differentiable) is named like a strategy but trains a supernet instead of ask/tell
        self.strategy: Strategy = strategy or (
            make_method(config.strategy, **dict(config.strategy_options))
            if is_method(config.strategy)
            else STRATEGIES.create(config.strategy, **dict(config.strategy_options))
        )
        self.space = get_space(config.space)
        ev_opts = dict(config.evaluator_options)
        if config.dataset is not None:
            ev_opts.setdefault("dataset", config.dataset)
        self.evaluator: Evaluator = make_evaluator(config.space, config.evaluator, **ev_opts)
        ev_metrics = self.evaluator.metrics()
        self.cost_models: dict[str, CostModel] = {}
        directions = {n: m.direction for n, m in ev_metrics.items()}

        def need(name: str, role: str) -> None:
            if name in ev_metrics:
                if ev_metrics[name].hidden:
                    raise HynasError(
                        f"{name!r} is a report-only metric and cannot be a search {role} "
                        "(search sees validation metrics only)"
                    )
                return
            if name in self.cost_models:
                return
            model = resolve_cost_model(name, self.space)
            if model is None:
                visible = sorted(n for n, m in ev_metrics.items() if not m.hidden)
                raise HynasError(
                    f"unknown {role} {name!r} for space {config.space!r}; this evaluator reports: "
                    f"{', '.join(visible)} (see `hynas list objectives` for cost models)"
                )
            self.cost_models[name] = model
            directions[name] = model.info.direction

        self.objectives: list[Objective] = []
        for text in config.objectives:
            name = parse_objective(text).name
            need(name, "objective")
            self.objectives.append(parse_objective(text, directions))
        if len({o.name for o in self.objectives}) != len(self.objectives):
            raise HynasError(f"objective listed twice: {', '.join(config.objectives)}")
        self.constraints: list[Constraint] = [parse_constraint(c) for c in config.constraints]
        for c in self.constraints:
            need(c.name, "constraint")
        self._table: object = _UNSET
        self._columns: dict[str, np.ndarray | None] = {}
        self.strategy.setup(
            self.space,
            self.objectives,
            config.seed,
            constrained=bool(self.constraints),
            fidelities=self.evaluator.fidelities(),
        )

    def table(self) -> dict[str, np.ndarray] | None:
        """Objective and constraint values of every architecture of the space when all of them are
        stored in a table (the evaluator's, or a table-backed cost model's) and the space is
        enumerable (at most 20,000 architectures); ``None`` otherwise. Cached; never evaluates a
        cost model over the space. Rows follow ``space.enumerate()``, the order of
        ``Evaluator.table``."""
        if self._table is not _UNSET:
            return self._table  # type: ignore[return-value]
        names = sorted({o.name for o in self.objectives} | {c.name for c in self.constraints})
        cols = {n: self.column(n) for n in names}
        out = None if any(v is None for v in cols.values()) else cols
        self._table = out
        return out  # type: ignore[return-value]

    def column(self, name: str) -> np.ndarray | None:
        """The stored values of one objective or constraint over the whole (enumerable, at most
        20,000 architectures) space in ``space.enumerate()`` order, or ``None`` when they are not
        in a table (a computed cost model such as ``zc@synflow`` or ``latency@local``). Cached."""
        if name in self._columns:
            return self._columns[name]
        size = self.space.size()
        col: np.ndarray | None = None
        if size is not None and size <= 20_000:
            if name in self.cost_models:
                col = self.cost_models[name].stored_values()
            else:
                t = self.evaluator.table([name])
                col = None if t is None else t[name]
        if col is not None:
            col = np.asarray(col, dtype=float)
            if len(col) != size:
                col = None
        self._columns[name] = col
        return col

    def parse_arch(self, text: str) -> Architecture:
        return self.space.parse(text)

    def evaluate(self, candidate: Candidate) -> Evaluation:
        """Evaluate and add cost-model metrics that the search needs."""
        ev = self.evaluator.evaluate(candidate.arch, candidate.fidelity)
        if self.cost_models:
            extra = dict(ev.metrics)
            for name, model in self.cost_models.items():
                extra[name] = float(model(candidate.arch))
            ev = Evaluation(extra, ev.hidden, ev.cost_s, ev.fidelity)
        return ev

    def result(self, candidate: Candidate, metrics: Mapping[str, float], cost_s: float = 0.0) -> Result:
        """The strategy's view of a completed evaluation: objective values and violation only."""
        values = tuple(float(metrics[o.name]) for o in self.objectives)
        if any(math.isnan(v) for v in values):
            raise HynasError(f"objective value is NaN for {candidate.arch}")
        loss = tuple(o.to_min(v) for o, v in zip(self.objectives, values, strict=True))
        viol = float(sum(c.violation(float(metrics[c.name])) for c in self.constraints))
        visible = {o.name: float(metrics[o.name]) for o in self.objectives}
        visible.update({c.name: float(metrics[c.name]) for c in self.constraints})
        return Result(candidate, values, loss, viol, True, cost_s, visible)
