"""The experiment's configuration: one frozen value that names space, evaluator, strategy,
objectives, constraints, budget and seed.

:class:`ExperimentConfig` is a plain value that round-trips through TOML/JSON. The object that
resolves those names into parts (``Experiment``) is built above the plug-in layers, in
:mod:`hynas.wiring`. Its *fingerprint*
(everything but the budget) is written into the store; re-opening a store with a different
fingerprint is refused with the list of differing fields, while a larger budget simply continues.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any

from hynas.core import lookup
from hynas.core.errors import HynasError

if TYPE_CHECKING:
    from hynas.core.store import Store

__all__ = ["BUDGET_FIELDS", "ExperimentConfig"]

BUDGET_FIELDS = ("budget", "budget_seconds")
#: seeds every strategy accepts (Optuna's samplers and NumPy's legacy generator take 32 bits)
MAX_SEED = 2**32 - 1


@dataclass(frozen=True)
class ExperimentConfig:
    space: str = "nb201"
    #: None: the space's default (``hynas.core.lookup.space_defaults``), filled in on construction
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
            d = lookup.space_defaults(self.space)
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

    def with_overrides(self, **overrides: Any) -> ExperimentConfig:
        """A copy with ``overrides`` applied. Moving to another space drops what was filled in from
        this space's defaults (dataset, evaluator, objectives), so the new space's defaults apply:
        ``ExperimentConfig().with_overrides(space="mobile")`` does not train on nb201's cifar10."""
        data = self.to_dict()
        if "space" in overrides and overrides["space"] != self.space:
            d = lookup.space_defaults(self.space)
            if d is not None:
                filled = {"dataset": d.dataset, "evaluator": d.evaluator, "objectives": list(d.objectives)}
                for key, default in filled.items():
                    if key not in overrides and data[key] == default:
                        data[key] = None
        unknown = sorted(set(overrides) - set(data))
        if unknown:
            raise HynasError(f"unknown setting(s) {', '.join(unknown)}; valid: {', '.join(sorted(data))}")
        data.update(overrides)
        if data["objectives"] is not None and not isinstance(data["objectives"], str):
            data["objectives"] = tuple(data["objectives"])
        if not isinstance(data["constraints"], str):
            data["constraints"] = tuple(data["constraints"])
        return ExperimentConfig(**data)

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

    def check_store(self, store: Store, same_budget: str | None = None) -> None:
        """Refuse ``store`` when it was written with another configuration, naming
        the differing fields. ``same_budget``: the budget must match too, and this says why."""
        stored = store.config()
        if stored is None:
            return
        diffs = self.diff(stored)
        if same_budget is not None and stored.get("budget") != self.budget:
            diffs.append(f"budget: store has {stored.get('budget')!r}, this run has {self.budget!r}")
        if diffs:
            why = f"; {same_budget}," if same_budget else ";"
            raise HynasError(
                f"store {store.path!r} was made with a different configuration ({'; '.join(diffs)}){why} "
                "use another --store or the same settings"
            )


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


def __getattr__(name: str) -> Any:
    """``Experiment`` moved to :mod:`hynas.wiring` (it resolves names through the plug-in layers);
    the old import path still works, with a warning, through the installed provider."""
    if name == "Experiment":
        warnings.warn(
            "hynas.core.experiment.Experiment moved: import it from hynas.wiring (or hynas)",
            DeprecationWarning,
            stacklevel=2,
        )
        return lookup.provider().Experiment  # type: ignore[attr-defined]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
