"""The experiment: one frozen configuration, and the object that wires space, evaluator, strategy,
objectives and constraints together.

:class:`ExperimentConfig` is a plain value that round-trips through TOML/JSON. Its *fingerprint*
(everything but the budget) is written into the store; re-opening a store with a different
fingerprint is refused with the list of differing fields, while a larger budget simply continues.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.core.evaluator import Evaluation, Evaluator
from hynas.core.metrics import CostModel, resolve_cost_model
from hynas.core.objectives import Constraint, Objective, parse_constraint, parse_objective
from hynas.core.strategy import Candidate, Result, Strategy

__all__ = ["BUDGET_FIELDS", "Experiment", "ExperimentConfig"]

BUDGET_FIELDS = ("budget", "budget_seconds")
#: seeds every strategy accepts (Optuna's samplers and NumPy's legacy generator take 32 bits)
MAX_SEED = 2**32 - 1
_UNSET = object()


@dataclass(frozen=True)
class ExperimentConfig:
    space: str = "nb201"
    #: None: the space's default (``hynas.evaluators.space_defaults``), filled in on construction
    dataset: str | None = None
    evaluator: str | None = None
    evaluator_options: Mapping[str, Any] = field(default_factory=dict)
    strategy: str = "nsga2"
    strategy_options: Mapping[str, Any] = field(default_factory=dict)
    #: None: the space's default objectives, filled in on construction
    objectives: tuple[str, ...] = None  # type: ignore[assignment]
    constraints: tuple[str, ...] = ()
    budget: int | None = 300
    budget_seconds: float | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        for key in ("objectives", "constraints"):
            value = getattr(self, key)
            if isinstance(value, str):  # tuple("accuracy") would split it into letters
                raise HynasError(f"bad {key} {value!r}: it must be a list of strings, e.g. {key}=[{value!r}]")
        _check_types({k: getattr(self, k) for k in _TYPES if getattr(self, k) is not None})
        if self.objectives is None or self.dataset is None:
            from hynas.evaluators import space_defaults

            d = space_defaults(self.space)
            if self.dataset is None and d is not None and self.evaluator in (None, d.evaluator):
                object.__setattr__(self, "dataset", d.dataset)
            if self.objectives is None:
                object.__setattr__(self, "objectives", d.objectives if d else ("accuracy",))
        object.__setattr__(self, "objectives", tuple(self.objectives))
        object.__setattr__(self, "constraints", tuple(self.constraints))
        if self.budget is None and self.budget_seconds is None:
            raise HynasError("no budget: give --budget N (queries) or --budget-seconds S (simulated seconds)")
        if self.budget is not None and (
            isinstance(self.budget, bool) or not isinstance(self.budget, int) or self.budget < 1
        ):
            raise HynasError(f"bad budget {self.budget!r}: it must be a whole number of queries >= 1")
        if self.budget_seconds is not None and (
            isinstance(self.budget_seconds, bool)
            or not isinstance(self.budget_seconds, int | float)
            or not math.isfinite(self.budget_seconds)
            or self.budget_seconds <= 0
        ):
            raise HynasError(f"bad budget_seconds {self.budget_seconds!r}: it must be a positive number")
        if not self.objectives:
            raise HynasError("no objectives: give at least one, e.g. --objective accuracy")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or not 0 <= self.seed <= MAX_SEED:
            raise HynasError(
                f"bad seed {self.seed!r}: it must be a whole number from 0 to {MAX_SEED} (2**32 - 1)"
            )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["objectives"] = list(self.objectives)
        d["constraints"] = list(self.constraints)
        d["evaluator_options"] = dict(self.evaluator_options)
        d["strategy_options"] = dict(self.strategy_options)
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ExperimentConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise HynasError(
                f"unknown config key(s) {', '.join(unknown)}; valid keys: {', '.join(sorted(known))}"
            )
        _check_types(data)
        return cls(**dict(data))

    def fingerprint(self) -> dict[str, Any]:
        """What must match for a store to be resumed (everything but the budget)."""
        return {k: v for k, v in self.to_dict().items() if k not in BUDGET_FIELDS}

    def diff(self, stored: Mapping[str, Any]) -> list[str]:
        mine = json.loads(json.dumps(self.fingerprint()))
        theirs = {k: v for k, v in stored.items() if k not in BUDGET_FIELDS}
        out = []
        for key in sorted(set(mine) | set(theirs)):
            if mine.get(key) != theirs.get(key):
                out.append(f"{key}: store has {theirs.get(key)!r}, this run has {mine.get(key)!r}")
        return out


class Experiment:
    """Resolved parts of a configuration: space, evaluator, strategy, objectives, constraints."""

    def __init__(self, config: ExperimentConfig, strategy: Strategy | None = None) -> None:
        from hynas.evaluators import make_evaluator
        from hynas.spaces import get_space
        from hynas.strategies import STRATEGIES

        self.config = config
        # options first: a bad one is refused before any table is loaded
        self.strategy: Strategy = strategy or STRATEGIES.create(
            config.strategy, **dict(config.strategy_options)
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


_TYPES: dict[str, tuple[str, tuple[type, ...]]] = {
    "space": ("a name", (str,)),
    "dataset": ("a name", (str, type(None))),
    "evaluator": ("a name", (str, type(None))),
    "evaluator_options": ("a table of KEY = VALUE", (Mapping,)),
    "strategy": ("a name", (str,)),
    "strategy_options": ("a table of KEY = VALUE", (Mapping,)),
    "objectives": ('a list of names, e.g. ["accuracy"]', (list, tuple)),
    "constraints": ("a list of 'metric <= bound' strings", (list, tuple)),
}


def _check_types(data: Mapping[str, Any]) -> None:
    """Untrusted configs (TOML files, stores) get one clear error for a value of the wrong type."""
    for key, (what, types) in _TYPES.items():
        if key not in data:
            continue
        value = data[key]
        ok = isinstance(value, types)
        if ok and isinstance(value, str):
            ok = bool(value.strip())  # an empty name is no name (not the default)
        if ok and isinstance(value, list | tuple):
            ok = all(isinstance(v, str) for v in value)
        if ok and isinstance(value, Mapping):
            ok = all(isinstance(k, str) for k in value)
        if not ok:
            raise HynasError(f"bad config value {key} = {value!r}: it must be {what}")
