"""Optuna samplers behind hynas's ask/tell: the peer baseline (Akiba et al., KDD 2019).

Each decision of the space becomes one categorical parameter. The adapter keeps an in-memory Optuna
study: ``ask`` runs ``study.ask()`` and maps the suggested choices to an architecture; ``tell``
reports values (or failure) with ``study.tell``. Constraints reach samplers that support them
(NSGA-II, TPE, GP) through ``Trial.set_constraint`` with the total violation. If Optuna proposes an
architecture that was already evaluated, the known values are told back at no query cost and it is
asked again, so the baseline spends its budget only on new architectures. After ``max_retries``
repeats in a row the query goes to a fresh random architecture (enqueued, so Optuna learns from it):
late in a run TPE proposes mostly repeats, and every repeat is a trial whose cost grows with the
study, so unbounded retries made two-objective TPE runs quadratic-plus (minutes per run).

``warm_start`` (a zero-cost metric such as ``zc@naswot``): the ``warm_k`` best of ``warm_pool``
random architectures by that metric are enqueued before the first ask (Optuna's ``enqueue_trial``),
so they replace the sampler's first random trials (see :meth:`Strategy._setup_warm_start`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import optuna

from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.core.strategy import WARM_START_OPTIONS, Candidate, Option, Result, Strategy

__all__ = ["OptunaStrategy"]

_SAMPLERS = ("tpe", "nsga2", "gp", "random", "cmaes", "qmc")
#: options passed on to each Optuna sampler's constructor (the ones hynas checks and documents)
_SAMPLER_OPTIONS: dict[str, tuple[Option, ...]] = {
    "tpe": (
        Option("n_startup_trials", "int", 10, "random trials before the model", low=0, high=10**6),
        Option("n_ei_candidates", "int", 24, "candidates scored per trial", low=1, high=10**5),
        Option("multivariate", "bool", None, "multivariate TPE (default: on with one objective)"),
        Option("group", "bool", False, "group decomposed search spaces (with multivariate)"),
        Option("constant_liar", "bool", False, "constant liar for pending trials"),
    ),
    "nsga2": (
        Option("population_size", "int", 50, "individuals per generation", low=2, high=10**6),
        Option("crossover_prob", "float", 0.9, "crossover probability", low=0, high=1),
        Option(
            "mutation_prob", "float", None, "mutation probability per parameter", low=0, high=1, none=True
        ),
        Option("swapping_prob", "float", 0.5, "uniform crossover swapping probability", low=0, high=1),
    ),
    "gp": (
        Option("n_startup_trials", "int", 10, "random trials before the model", low=0, high=10**6),
        Option("deterministic_objective", "bool", False, "noise-free objective"),
    ),
    "random": (),
    "cmaes": (Option("n_startup_trials", "int", 1, "random trials before the model", low=0, high=10**6),),
    "qmc": (Option("scramble", "bool", False, "scrambled sequence"),),
}


class OptunaStrategy(Strategy):
    """Any Optuna sampler (tpe, nsga2, gp, random) driven through ask/tell."""

    OPTIONS = (
        Option(
            "max_retries",
            "int",
            10,
            "repeated proposals before a fresh random architecture",
            low=1,
            high=1000,
        ),
        *WARM_START_OPTIONS,
        Option("warm_k", "int", 10, "warm-start architectures enqueued first", low=1, high=10**4),
    )

    @classmethod
    def option_schema(cls, variant: str | None = None) -> tuple[Option, ...]:
        sampler = (variant or "optuna-tpe").removeprefix("optuna-")
        return cls.OPTIONS + _SAMPLER_OPTIONS.get(sampler, ())

    def __init__(
        self,
        sampler: str = "tpe",
        max_retries: int = 10,
        warm_start: str | None = None,
        warm_pool: int = 1000,
        warm_k: int = 10,
        **sampler_options: Any,
    ) -> None:
        if sampler not in _SAMPLERS:
            raise HynasError(f"unknown Optuna sampler {sampler!r}; valid: {', '.join(_SAMPLERS)}")
        given = {
            "max_retries": max_retries,
            "warm_start": warm_start,
            "warm_pool": warm_pool,
            "warm_k": warm_k,
        }
        self._check_options({**given, **sampler_options}, f"optuna-{sampler}")
        self.max_retries = int(max_retries)
        self.warm_start, self.warm_pool, self.warm_k = warm_start, warm_pool, warm_k
        self.sampler_name = sampler
        self.sampler_options = sampler_options
        self.name = f"optuna-{sampler}"

    def _make_sampler(self, seed: int) -> optuna.samplers.BaseSampler:
        opts = dict(self.sampler_options)
        if self.sampler_name == "tpe":
            if len(self.objectives) == 1:
                opts.setdefault("multivariate", True)
            return optuna.samplers.TPESampler(seed=seed, **opts)
        if self.sampler_name == "nsga2":
            return optuna.samplers.NSGAIISampler(seed=seed, **opts)
        if self.sampler_name == "gp":
            return optuna.samplers.GPSampler(seed=seed, **opts)
        if self.sampler_name == "random":
            return optuna.samplers.RandomSampler(seed=seed)
        if self.sampler_name == "qmc":
            return optuna.samplers.QMCSampler(seed=seed, **opts)
        return optuna.samplers.CmaEsSampler(seed=seed, **opts)

    def reset(self) -> None:
        seed = self.seed
        objectives = self.objectives
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.study = optuna.create_study(
            directions=["maximize" if o.direction == "max" else "minimize" for o in objectives],
            sampler=self._make_sampler(seed),
        )
        self.pending: dict[Architecture, optuna.trial.Trial] = {}
        self.known: dict[Architecture, Result] = {}
        self._setup_warm_start(self.warm_start, self.warm_pool, self.warm_k)

    def _params(self, arch: Architecture) -> dict[str, int]:
        return {d.name: g for d, g in zip(self.space.dims, arch.genes, strict=True)}

    def _suggest(self) -> Architecture | None:
        trial = self.study.ask()
        genes = [
            trial.suggest_categorical(dim.name, list(range(len(dim.choices)))) for dim in self.space.dims
        ]
        arch = self._arch_of(genes)
        if arch is None:
            self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
            return None
        if arch in self.known:
            self._tell_optuna(trial, self.known[arch])
            return None
        if arch in self.pending:
            self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
            return None
        self.pending[arch] = trial
        return arch

    def ask(self, n: int = 1) -> list[Candidate]:
        warm = self._warm_stack()
        while warm:  # first ask: the warm start becomes Optuna's first trials, best first
            self.study.enqueue_trial(self._params(warm.pop()))
        out = []
        for _ in range(n):
            # _suggest returns only architectures neither told nor pending, i.e. not asked yet
            arch = self._first_fresh(self._suggest() for _ in range(self.max_retries))
            if arch is None:  # Optuna keeps repeating itself: evaluate a fresh random point instead
                arch = self._random_fresh()
                self.study.enqueue_trial(self._params(arch))
                trial = self.study.ask()
                for d in self.space.dims:
                    trial.suggest_categorical(d.name, list(range(len(d.choices))))
                self.pending[arch] = trial
            out.append(self._claim(arch))
        return out

    def _tell_optuna(self, trial: optuna.trial.Trial, r: Result) -> None:
        if not r.ok:
            self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
            return
        if self.constrained:
            trial.set_constraint("violation", float(r.violation))
        self.study.tell(trial, list(r.values))

    def tell(self, results: Sequence[Result]) -> None:
        super().tell(results)
        for r in results:
            self.known[r.arch] = r
            trial = self.pending.pop(r.arch, None)
            if trial is not None:
                self._tell_optuna(trial, r)
