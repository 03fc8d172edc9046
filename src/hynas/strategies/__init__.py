"""Search strategies, by name: ``STRATEGIES.create("rea", population=20)``.

Every strategy speaks ask/tell (:class:`hynas.core.strategy.Strategy`) and passes the contract
suite :mod:`hynas.testing.strategies` (``tests/test_strategy_contract.py`` runs it on every name).
"""

from __future__ import annotations

from typing import Any

from hynas.core.registry import Registry
from hynas.core.strategy import Option, Strategy, check_options
from hynas.strategies.bananas import Bananas
from hynas.strategies.evolution import RegularizedEvolution
from hynas.strategies.given import Given
from hynas.strategies.local_search import LocalSearch
from hynas.strategies.multifidelity import MultiFidelity
from hynas.strategies.nsga2 import NSGA2
from hynas.strategies.optuna_adapter import OptunaStrategy
from hynas.strategies.random import RandomSearch
from hynas.strategies.reinforce import Reinforce

__all__ = [
    "NSGA2",
    "STRATEGIES",
    "LocalSearch",
    "OptunaStrategy",
    "RandomSearch",
    "RegularizedEvolution",
    "option_schema",
    "searches",
]

#: the class behind each registered name (several names share MultiFidelity / OptunaStrategy)
_CLASSES: dict[str, type[Strategy]] = {
    "random": RandomSearch,
    "rea": RegularizedEvolution,
    "local": LocalSearch,
    "nsga2": NSGA2,
    "bananas": Bananas,
    "reinforce": Reinforce,
    "given": Given,
    **{mf: MultiFidelity for mf in ("sh", "hyperband", "bohb")},
    **{f"optuna-{s}": OptunaStrategy for s in ("tpe", "nsga2", "gp", "random")},
}


def _class(name: str) -> type[Strategy] | None:
    """The class behind ``name``: one of ours, or a registered third-party ``Strategy`` subclass
    (``None`` for a third-party factory function, whose options the factory checks itself)."""
    factory = STRATEGIES.factory(name)  # an unknown name: one clear error listing the valid ones
    if name in _CLASSES:
        return _CLASSES[name]
    return factory if isinstance(factory, type) and issubclass(factory, Strategy) else None


def option_schema(name: str) -> tuple[Option, ...]:
    """The declared options of the strategy registered as ``name`` (types, defaults, ranges)."""
    cls = _class(name)
    return () if cls is None else cls.option_schema(name)


def searches(name: str) -> bool:
    """Whether the strategy registered as ``name`` searches (``False``: it asks a given list)."""
    cls = _class(name)
    return True if cls is None else cls.searches


def _check(name: str, kwargs: dict[str, Any]) -> None:
    if _class(name) is not None:
        check_options(name, option_schema(name), kwargs)


STRATEGIES: Registry[Strategy] = Registry("strategy", Strategy, check=_check)
STRATEGIES.register("random")(RandomSearch)
STRATEGIES.register("rea")(RegularizedEvolution)
STRATEGIES.register("local")(LocalSearch)
STRATEGIES.register("nsga2")(NSGA2)
STRATEGIES.register("bananas")(Bananas)
STRATEGIES.register("reinforce")(Reinforce)
STRATEGIES.register("given", "evaluate the architectures of --strategy-option archs=..., in order")(Given)
for _mf in ("sh", "hyperband", "bohb"):
    STRATEGIES.register(_mf, f"multi-fidelity {_mf} over the evaluator's fidelities")(
        lambda _m=_mf, **kw: MultiFidelity(_m, **kw)
    )
for _sampler in ("tpe", "nsga2", "gp", "random"):
    STRATEGIES.register(f"optuna-{_sampler}", f"Optuna's {_sampler} sampler through the ask/tell adapter")(
        lambda _s=_sampler, **kw: OptunaStrategy(_s, **kw)
    )
