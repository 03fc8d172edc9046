"""The strategy contract: ``ask`` / ``tell``, and strategies never evaluate.

The runner calls :meth:`Strategy.setup` once, then alternates :meth:`Strategy.ask` (which
architectures to evaluate next) and :meth:`Strategy.tell` (what came back). Several candidates may be
pending at once; a strategy must not propose a candidate that is pending or already evaluated
(unless it says so with ``allow_repeats``).

Determinism contract: given the same ``seed`` and the same sequence of ``ask``/``tell`` calls, a
strategy proposes the same candidates. Resume relies on it: the runner replays the stored trials
through a fresh strategy instead of pickling state.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.core.metrics import CostModel
from hynas.core.objectives import Objective
from hynas.core.space import SearchSpace

__all__ = ["Candidate", "Result", "Strategy"]


@dataclass(frozen=True)
class Candidate:
    """A proposal: an architecture, and the fidelity to evaluate it at (``None``: default)."""

    arch: Architecture
    fidelity: float | None = None


@dataclass(frozen=True)
class Result:
    """What a strategy learns about one evaluated candidate.

    ``values`` follow the objectives' order and their natural directions; ``loss`` is the same in
    minimisation form. ``violation`` is the total constraint violation (0: feasible). A failed
    evaluation has ``ok=False`` and no values.
    """

    candidate: Candidate
    values: tuple[float, ...] = ()
    loss: tuple[float, ...] = ()
    violation: float = 0.0
    ok: bool = True
    cost_s: float = 0.0
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def arch(self) -> Architecture:
        return self.candidate.arch

    @property
    def feasible(self) -> bool:
        return self.ok and self.violation == 0.0


class Strategy(abc.ABC):
    """Base class of black-box search strategies."""

    name: str = ""
    #: how many objectives the strategy handles (``None``: any number)
    max_objectives: int | None = None

    def setup(
        self,
        space: SearchSpace,
        objectives: Sequence[Objective],
        seed: int,
        constrained: bool = False,
        fidelities: Sequence[float] = (),
    ) -> None:
        """Called once by the runner before the first ``ask``; ``constrained``: results carry
        violations; ``fidelities``: what the evaluator offers (lowest first, empty if one)."""
        if self.max_objectives is not None and len(objectives) > self.max_objectives:
            raise HynasError(
                f"strategy {self.name!r} handles {self.max_objectives} objective(s), got {len(objectives)}; "
                "use nsga2, random or an optuna-* strategy for several objectives"
            )
        self.space = space
        self.objectives = list(objectives)
        self.seed = seed
        self.constrained = constrained
        self.offered_fidelities = tuple(float(f) for f in fidelities)
        self.rng = np.random.default_rng(seed)
        self.seen: set[Architecture] = set()  # asked (pending or told)
        self.history: list[Result] = []
        self._setup_warm_start(None, 1, 1)  # strategies with a warm_start option set it in reset()
        self.reset()

    def reset(self) -> None:  # noqa: B027 - optional hook
        """Initialise strategy-specific state (called at the end of :meth:`setup`)."""

    @abc.abstractmethod
    def ask(self, n: int = 1) -> list[Candidate]:
        """Propose ``n`` candidates to evaluate next."""

    def tell(self, results: Sequence[Result]) -> None:
        """Receive results of earlier proposals (in any order, possibly failed)."""
        self.history.extend(results)

    # -- helpers shared by subclasses ---------------------------------------------------------
    def _fresh(self, arch: Architecture) -> bool:
        return arch not in self.seen

    def _pop_fresh(self, stack: list[Architecture]) -> Architecture | None:
        """Pop from the end of ``stack`` until an architecture not asked yet; ``None`` if none."""
        while stack:
            a = stack.pop()
            if self._fresh(a):
                return a
        return None

    def _uniform_crossover(self, a: Architecture, b: Architecture) -> np.ndarray:
        """Uniform crossover: each gene from ``b`` with probability 1/2, else from ``a``."""
        ga, gb = np.array(a.genes), np.array(b.genes)
        take = self.rng.random(len(ga)) < 0.5
        return np.where(take, gb, ga)

    def _claim(self, arch: Architecture, fidelity: float | None = None) -> Candidate:
        self.seen.add(arch)
        return Candidate(arch, fidelity)

    def _random_fresh(self, tries: int = 1000) -> Architecture:
        for _ in range(tries):
            a = self.space.sample(self.rng)
            if self._fresh(a):
                return a
        raise HynasError(f"strategy {self.name!r}: the space looks exhausted (no unseen architecture found)")

    def _setup_warm_start(self, metric: str | None, pool: int, k: int) -> None:
        """Zero-cost warm start (Abdelfattah, Mehrotra, Dudziak & Lane, "Zero-Cost Proxies for
        Lightweight NAS", ICLR 2021, "warmup"): the ``k`` best of ``pool`` random architectures (the
        whole space when it is no larger) by ``metric``, a cost model computed without training
        such as ``zc@naswot``, ranked by the metric's own direction. Called from :meth:`reset`: the
        options are checked here (one clear error at setup), the pool is scored on the first
        :meth:`_warm_stack` call, so that ``hynas show`` / ``report``, which build the strategy
        without asking, never pay for the proxy."""
        from hynas.core.metrics import resolve_cost_model

        self._warm_spec: tuple[CostModel, int, int] | None = None
        self._warm: list[Architecture] | None = None
        if metric is None:
            return
        if not isinstance(metric, str) or not metric:
            raise HynasError(f"option warm_start must be a metric name such as zc@naswot, got {metric!r}")
        for key, val in (("warm_pool", pool), ("warm_k", k)):
            if isinstance(val, bool) or not isinstance(val, int) or val < 1:
                raise HynasError(f"option {key} must be a whole number >= 1, got {val!r}")
        model = resolve_cost_model(metric, self.space)
        if model is None:
            raise HynasError(
                f"option warm_start={metric!r} is not a cost model of space {self.space.name!r}; it "
                "needs a metric computed without training, such as zc@naswot or zc@synflow "
                "(see `hynas list objectives`)"
            )
        self._warm_spec = (model, pool, k)

    def _warm_stack(self) -> list[Architecture]:
        """The warm-start architectures not handed out yet, best last (pop from the end); scored
        on the first call, empty without a warm start."""
        if self._warm is None:
            self._warm = []
            if self._warm_spec is not None:
                model, pool, k = self._warm_spec
                size = self.space.size()
                if size is not None and pool >= size:
                    archs = list(self.space.enumerate())
                else:
                    seen: dict[Architecture, None] = {}
                    for _ in range(20 * pool):
                        if len(seen) >= pool:
                            break
                        seen[self.space.sample(self.rng)] = None
                    archs = list(seen)
                vals = np.array([model(a) for a in archs], dtype=np.float64)
                sign = -1.0 if model.info.direction == "max" else 1.0
                vals = np.where(np.isfinite(vals), sign * vals, np.inf)
                self._warm = [archs[i] for i in np.argsort(vals, kind="stable")[:k][::-1]]
        return self._warm

    @staticmethod
    def fitness_key(r: Result) -> tuple[float, float]:
        """Sort key for single-objective selection: feasible first, then smaller loss."""
        if not r.ok:
            return (float("inf"), float("inf"))
        return (r.violation, r.loss[0])
