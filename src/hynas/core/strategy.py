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

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.core.metrics import CostModel
from hynas.core.objectives import Objective
from hynas.core.space import SearchSpace

__all__ = ["WARM_START_OPTIONS", "Candidate", "Option", "Result", "Strategy", "check_options"]


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


#: what each option type accepts, as said in error messages
_KINDS = {
    "int": "a whole number",
    "float": "a finite number",
    "bool": "true or false",
    "str": "a non-empty name",
    "strs": "a name or a list of names",
    "floats": "a list of numbers",
    "table": "a table of KEY = VALUE",
}


@dataclass(frozen=True)
class Option:
    """One constructor option of a strategy: its type, default, range and meaning.

    ``kind`` is one of ``int``, ``float``, ``bool``, ``str``, ``strs`` (a name or a list of names),
    ``floats`` (a list of numbers) and ``table`` (a mapping). Numbers must be finite and within
    ``[low, high]`` (``low_open`` / ``high_open``: the bound itself excluded); ``choices`` lists the
    accepted values of a ``str`` option; ``none``: ``None`` (TOML has no null: leave the option out)
    is accepted and means the default behaviour.
    """

    name: str
    kind: str
    default: Any = None
    help: str = ""
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[str, ...] = ()
    none: bool = False
    #: what the value is, in words, where the kind's own words are too vague
    what: str = ""

    @staticmethod
    def _num(x: float) -> str:
        return f"{int(x):,}" if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"

    def range_text(self) -> str:
        """The accepted values in words: ``>= 1``, ``in [0, 1)``, ``one of its, ucb``."""
        if self.choices:
            return "one of " + ", ".join(self.choices)
        lo, hi = self.low, self.high
        if lo is not None and hi is not None:
            left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
            return f"in {left}{self._num(lo)}, {self._num(hi)}{right}"
        if lo is not None:
            return f"{'>' if self.low_open else '>='} {self._num(lo)}"
        if hi is not None:
            return f"{'<' if self.high_open else '<='} {self._num(hi)}"
        return ""

    def describe(self) -> str:
        """Type and range in words, e.g. ``a whole number >= 1``."""
        if self.choices:
            return self.range_text()
        rng = self.range_text()
        return (self.what or _KINDS[self.kind]) + (f" {rng}" if rng else "")

    def _number_ok(self, v: float) -> bool:
        if not math.isfinite(v):
            return False
        if self.low is not None and (v < self.low or (self.low_open and v == self.low)):
            return False
        return not (self.high is not None and (v > self.high or (self.high_open and v == self.high)))

    def valid(self, value: Any) -> bool:
        """Whether ``value`` has this option's type and lies in its range."""
        if value is None:
            return self.none
        if self.kind == "bool":
            return isinstance(value, bool)
        if isinstance(value, bool):
            return False
        if self.kind == "int":
            return isinstance(value, int) and self._number_ok(value)
        if self.kind == "float":
            return isinstance(value, int | float) and self._number_ok(float(value))
        if self.kind == "str":
            return isinstance(value, str) and bool(value) and (not self.choices or value in self.choices)
        if self.kind == "strs":
            items = [value] if isinstance(value, str) else value
            return (
                isinstance(items, list | tuple)
                and bool(items)
                and all(isinstance(x, str) and x for x in items)
            )
        if self.kind == "floats":
            return (
                isinstance(value, list | tuple)
                and bool(value)
                and all(not isinstance(x, bool) and isinstance(x, int | float) for x in value)
                and all(self._number_ok(float(x)) for x in value)
            )
        if self.kind == "table":
            return isinstance(value, Mapping) and all(isinstance(k, str) for k in value)
        raise ValueError(f"option {self.name!r}: unknown kind {self.kind!r}")  # a bug in a schema


def check_options(where: str, schema: Sequence[Option], given: Mapping[str, Any]) -> None:
    """One clear error for an unknown option name (listing the valid ones) or a value of the wrong
    type or out of range (saying what is accepted). ``where`` names the strategy."""
    by_name = {o.name: o for o in schema}
    for key, value in given.items():
        opt = by_name.get(key)
        if opt is None:
            import difflib

            close = difflib.get_close_matches(str(key), list(by_name), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            valid = ", ".join(by_name) or "none"
            raise HynasError(f"unknown option {key!r} for strategy {where!r}{hint}; valid options: {valid}")
        if not opt.valid(value):
            shown = repr(value)
            shown = shown if len(shown) <= 60 else shown[:57] + "..."
            raise HynasError(
                f"bad option {key}={shown} for strategy {where!r}: it must be {opt.describe()}"
                + (f" (default {opt.default!r})" if opt.default is not None else "")
            )


#: the zero-cost warm start options (:meth:`Strategy._setup_warm_start`) of bananas, rea, optuna-*
WARM_START_OPTIONS = (
    Option("warm_start", "str", None, "zero-cost metric ranking a random pool first", none=True,
           what="a metric name such as zc@naswot"),
    Option("warm_pool", "int", 1000, "random architectures scored for the warm start", low=1, high=10**6),
)  # fmt: skip


class Strategy:
    """Base class of black-box search strategies: implement :meth:`propose` (one new
    architecture at a time) or :meth:`ask`, and optionally :meth:`reset` and :meth:`tell`."""

    name: str = ""
    #: how many objectives the strategy handles (``None``: any number)
    max_objectives: int | None = None
    #: the constructor's options with types and ranges, checked before anything runs or is stored
    OPTIONS: ClassVar[tuple[Option, ...]] = ()
    #: ``False`` for a strategy that asks a list it is given instead of searching (``given``): the
    #: strategy contract then checks order and resume but not seeds or search quality
    searches: ClassVar[bool] = True

    @classmethod
    def option_schema(cls, variant: str | None = None) -> tuple[Option, ...]:
        """The options of this strategy (``variant``: the registered name, for classes that serve
        several, such as the Optuna samplers)."""
        return cls.OPTIONS

    def _check_options(self, values: Mapping[str, Any], variant: str | None = None) -> None:
        """Check constructor arguments (``locals()`` of ``__init__``) against the schema."""
        given = {k: v for k, v in values.items() if k not in ("self", "__class__")}
        check_options(variant or self.name, self.option_schema(variant), given)

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
        self.asked = 0  # candidates handed out by ask()
        self._setup_warm_start(None, 1, 1)  # strategies with a warm_start option set it in reset()
        self.reset()

    def reset(self) -> None:
        """Initialise strategy-specific state (called at the end of :meth:`setup`)."""

    def ask(self, n: int = 1) -> list[Candidate]:
        """Propose ``n`` candidates to evaluate next.

        The default asks :meth:`propose` for one unseen architecture at a time, counts it in
        ``asked`` and claims it at the evaluator's default fidelity; strategies that choose
        fidelities or talk to another library override ``ask`` itself."""
        out = []
        for _ in range(n):
            arch = self.propose()
            self.asked += 1
            out.append(self._claim(arch))
        return out

    def propose(self) -> Architecture:
        """The next architecture to ask, one not asked before (used by the default :meth:`ask`)."""
        raise NotImplementedError(f"strategy {type(self).__name__} implements neither ask() nor propose()")

    def tell(self, results: Sequence[Result]) -> None:
        """Receive results of earlier proposals (in any order, possibly failed)."""
        self.history.extend(results)

    # -- helpers shared by subclasses ---------------------------------------------------------
    def _fresh(self, arch: Architecture) -> bool:
        return arch not in self.seen

    def _first_fresh(self, draws: Iterable[Architecture | None]) -> Architecture | None:
        """The first of ``draws`` not asked yet, ``None`` if none is. ``draws`` is consumed lazily
        (a generator draws only until it hits a fresh one, so the random stream does not depend on
        how many draws were allowed); a ``None`` draw is an invalid one and counts as a try."""
        for a in draws:
            if a is not None and self._fresh(a):
                return a
        return None

    def _pop_fresh(self, stack: list[Architecture]) -> Architecture | None:
        """Pop from the end of ``stack`` until an architecture not asked yet; ``None`` if none."""
        return self._first_fresh(stack.pop() for _ in range(len(stack)))

    def _arch_of(self, genes: Iterable[Any]) -> Architecture | None:
        """The architecture of ``genes`` (canonicalised), ``None`` if the space's rules reject it."""
        g = self.space.canonicalize(tuple(int(x) for x in genes))
        return Architecture(self.space.name, g) if self.space.is_valid(g) else None

    def _uniform_crossover(self, a: Architecture, b: Architecture) -> np.ndarray:
        """Uniform crossover: each gene from ``b`` with probability 1/2, else from ``a``."""
        ga, gb = np.array(a.genes), np.array(b.genes)
        take = self.rng.random(len(ga)) < 0.5
        return np.where(take, gb, ga)

    def _claim(self, arch: Architecture, fidelity: float | None = None) -> Candidate:
        self.seen.add(arch)
        return Candidate(arch, fidelity)

    def _random_fresh(self, tries: int = 1000) -> Architecture:
        a = self._first_fresh(self.space.sample(self.rng) for _ in range(tries))
        if a is not None:
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
