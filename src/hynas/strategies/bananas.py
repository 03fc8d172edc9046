"""BANANAS: predictor-based Bayesian optimisation for NAS (White, Neiswanger & Savani, "BANANAS:
Bayesian Optimization with Neural Architectures for Neural Architecture Search", AAAI 2021).

Loop: evaluate ``init`` random architectures; then, every ``batch`` queries, fit a predictor with
uncertainty (default: an ensemble of small MLPs on the path encoding) on everything told so far,
make a candidate pool (every one-edit neighbour of the ``neighbours`` best architectures so far, plus
``candidates`` mutations of the ``parents`` best, plus ``random_candidates`` random ones), score
the pool with an acquisition function (independent Thompson sampling ``its``, lower confidence bound
``ucb``, expected improvement ``ei`` or the plain mean) and queue the ``batch`` best candidates.

Defaults (measured on NAS-Bench-201 CIFAR-10, 10 seeds, ``bench/search.py``): one query per refit
(``batch=1``), with the ensemble warm-started from its previous weights (30 Adam steps per refit
instead of 300 from scratch, which makes a 300-query run take seconds); a pool made of the
neighbourhoods of the 3 best plus 100 mutations, no random candidates; ITS. The paper's pool
(mutations only, batch 10) reached 94.22 % mean test accuracy at 100 queries; this one 94.32 %.
ITS beat UCB (κ = 0.5) and the plain mean by 0.3 points at 100 queries: the greedy variants stop
exploring around the first local optimum.

Stagnation: when no new best (with several objectives: no new non-dominated point) has been seen for
``patience`` queries, a single-objective run first sweeps the best architecture's neighbourhood
(``sweep``, on by default): the pool is the unseen one-edit neighbours of the best, so the
acquisition orders a local-search step (White, Nolen & Savani, "Exploring the Loss Landscape in
Neural Architecture Search", UAI 2021: local search is state of the art on NAS-Bench-201) until the
neighbourhood is exhausted or a new best appears. Then, and always with several objectives, the
pool also gets ``explore_candidates`` random architectures so that the acquisition can leave the
basin. A run that stays stuck thus ends on a verified local optimum. The measured effect is small
and mixed (NAS-Bench-201, 30 seeds): CIFAR-10 at 100 queries 94.28 -> 94.33 (seeds 0-29) but
94.28 -> 94.26 (seeds 30-59); with the zero-cost warm start CIFAR-10 at 100 94.32 -> 94.35 and
CIFAR-100 at 300 61.01 -> 61.04, CIFAR-100 at 100 60.97 -> 60.88, ImageNet16-120 at 300
38.27 -> 38.17.

Several objectives (and constraints): one predictor per objective. The default acquisition
(``multi="hvi"``) is the hypervolume improvement of each candidate's sampled objectives over the
observed front; ``multi="parego"`` is ParEGO (Knowles, IEEE TEVC 2006): a random weight vector per
batch and the augmented Chebyshev scalarisation ``max_i w_i f_i + 0.05 Σ_i w_i f_i``. The pool then
also holds the neighbourhoods of the whole first front and ``crossover_candidates`` (default 100
with several objectives, 0 with one) uniform crossovers of two parents, as NSGA-II breeds. Each
objective's predictor has its own encoding: ``path`` for accuracy-like metrics, a per-decision
``onehot`` for hardware costs (a metric with a source after ``@``, params, FLOPs, memory), which add
up over operations rather than paths. Measured on NAS-Bench-201 × HW-NAS-Bench (10 seeds, 300
queries, mean HV ratio; ``bench/search.py``): the path encoding alone missed the all-skip cells
on fpga in one seed (0.946) and crossover lifted pixel3 from 0.994 to 0.997. With constraints, a
further predictor learns the total violation and infeasible predictions are penalised; infeasible
observations rank after all feasible ones when picking parents (Deb's rule).

Zero-cost warm start (``warm_start``, off by default), after Abdelfattah, Mehrotra, Dudziak & Lane,
"Zero-Cost Proxies for Lightweight NAS", ICLR 2021 ("warmup"): instead of ``init`` random
architectures, score ``warm_pool`` random ones with a cost model that needs no training (a zero-cost
proxy such as ``zc@naswot``, or the tabulated ``naswot@nb201``; ranked by the metric's own
direction) and query the ``init`` best (:meth:`Strategy._setup_warm_start`). The proxy costs no query
but is not free: ``zc@naswot`` builds and scores each network (1.5 s per NB201 cell here,
``zc@synflow`` 0.18 s). Measured on NAS-Bench-201 (30 seeds, ``bench/search.py``): with
``naswot@nb201`` CIFAR-10 at 100 queries 94.35 (94.32 on seeds 30-59), ahead of REA and Optuna-TPE
at every budget on CIFAR-10/100 and ImageNet16-120, also when they get the same warm start.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.core.pareto import hypervolume, non_dominated_sort, pareto_mask
from hynas.core.strategy import WARM_START_OPTIONS, Option, Result, Strategy

__all__ = ["ACQUISITIONS", "MULTI", "Bananas", "chebyshev", "hv_improvement"]

ACQUISITIONS = ("its", "ucb", "ei", "mean")
MULTI = ("hvi", "parego")
COST_METRICS = ("params", "flops", "macs", "memory", "train_time")


def chebyshev(f: np.ndarray, w: np.ndarray, rho: float = 0.05) -> np.ndarray:
    """Augmented Chebyshev scalarisation of normalised losses ``f`` (n × m) with weights ``w``."""
    wf = f * w
    return np.asarray(wf.max(axis=1) + rho * wf.sum(axis=1))


def hv_improvement(front: np.ndarray, cands: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Hypervolume each candidate row would add to ``front`` (minimisation, reference ``ref``).

    Two objectives: exact and vectorised over the front's staircase; more: exact, one
    hypervolume per candidate.
    """
    front, cands, ref = np.asarray(front, float), np.asarray(cands, float), np.asarray(ref, float)
    if front.shape[1] != 2:
        base = hypervolume(front, ref)
        out = np.zeros(len(cands))
        for i, c in enumerate(cands):
            if np.all(c < ref) and not np.any(np.all(front <= c, axis=1)):
                out[i] = hypervolume(np.vstack([front, c]), ref) - base
        return out
    # staircase of the front: on [xs[k], xs[k+1]) the front dominates everything above level[k]
    pts = front[np.all(front < ref, axis=1)]
    pts = pts[np.argsort(pts[:, 0], kind="stable")]
    xs = np.concatenate([[-np.inf], pts[:, 0], [ref[0]]])
    level = np.concatenate([[ref[1]], np.minimum.accumulate(pts[:, 1]) if len(pts) else []])
    lo = np.maximum(xs[None, :-1], cands[:, :1])  # candidates × intervals
    width = np.clip(xs[None, 1:] - lo, 0.0, None)
    height = np.clip(level[None, :] - cands[:, 1:2], 0.0, None)
    return np.asarray((width * height).sum(axis=1))


class Bananas(Strategy):
    """Neural-ensemble predictor + acquisition over mutations of the best (BANANAS; ParEGO for MO)."""

    name = "bananas"
    OPTIONS = (
        Option("init", "int", 10, "random (or warm-start) queries before the predictor", low=1, high=10**6),
        Option("batch", "int", 1, "queries per predictor refit", low=1, high=10**4),
        Option("predictor", "str", "mlp-ensemble", "predictor name (see hynas.predictors)"),
        Option("predictor_options", "table", None, "options of the predictor", none=True),
        Option("encoding", "strs", None, "encoding(s), one for all or one per objective", none=True),
        Option("acquisition", "str", "its", "acquisition function", choices=ACQUISITIONS),
        Option("candidates", "int", 100, "mutations of the best in the pool", low=1, high=10**5),
        Option("parents", "int", 10, "best architectures mutated", low=1, high=10**4),
        Option("max_edits", "int", 2, "decisions changed per mutation", low=1, high=100),
        Option("random_candidates", "int", 0, "random architectures in the pool", low=0, high=10**5),
        Option("kappa", "float", 1.0, "exploration weight of ucb", low=0, high=100),
        Option("neighbours", "int", 3, "best architectures whose neighbourhoods join the pool", low=0, high=10**4),
        Option("crossover_candidates", "int", None, "crossovers in the pool (default 100 with "
               "several objectives, else 0)", low=0, high=10**5, none=True),
        Option("multi", "str", "hvi", "acquisition with several objectives", choices=MULTI),
        Option("patience", "int", 20, "queries without progress before exploring", low=1, high=10**6),
        Option("explore_candidates", "int", 1000, "random architectures added when stuck", low=0, high=10**5),
        *WARM_START_OPTIONS,
        Option("sweep", "bool", True, "sweep the best's neighbourhood when stuck (one objective)"),
    )  # fmt: skip

    def __init__(
        self,
        init: int = 10,
        batch: int = 1,
        predictor: str = "mlp-ensemble",
        predictor_options: Mapping[str, Any] | None = None,
        encoding: str | Sequence[str] | None = None,
        acquisition: str = "its",
        candidates: int = 100,
        parents: int = 10,
        max_edits: int = 2,
        random_candidates: int = 0,
        kappa: float = 1.0,
        neighbours: int = 3,
        crossover_candidates: int | None = None,
        multi: str = "hvi",
        patience: int = 20,
        explore_candidates: int = 1000,
        warm_start: str | None = None,
        warm_pool: int = 1000,
        sweep: bool = True,
    ) -> None:
        self._check_options(locals())
        from hynas.predictors import PREDICTORS

        PREDICTORS.factory(predictor)  # fail early on an unknown name
        self.init = init
        self.batch = batch
        self.predictor_name = predictor
        self.predictor_options = dict(predictor_options or {})
        if predictor == "mlp-ensemble":
            # one query per refit: continue training the ensemble instead of retraining it
            self.predictor_options.setdefault("warm_epochs", 30)
        try:  # fail early on a bad predictor option (building one costs nothing: it fits later)
            PREDICTORS.create(predictor, **self.predictor_options)
        except (HynasError, TypeError, ValueError) as exc:
            raise HynasError(f"bad option predictor_options for strategy 'bananas': {exc}") from None
        self.encoding = encoding
        self.acquisition = acquisition
        self.n_candidates = candidates
        self.n_parents = parents
        self.max_edits = max_edits
        self.random_candidates = random_candidates
        self.kappa = float(kappa)
        self.neighbours = neighbours
        self.crossover_candidates = crossover_candidates
        self.multi = multi
        self.patience = patience
        self.explore_candidates = explore_candidates
        self.warm_start = warm_start
        self.warm_pool = warm_pool
        self.sweep = sweep

    def reset(self) -> None:
        m = len(self.objectives)
        if self.encoding is None:
            per_obj = [self._default_encoding(o.name) for o in self.objectives]
        elif isinstance(self.encoding, str):
            per_obj = [self.encoding] * m
        else:
            per_obj = [str(e) for e in self.encoding]
            if len(per_obj) != m:
                raise HynasError(
                    f"bananas option encoding lists {len(per_obj)} encodings for {m} objective(s); "
                    "give one name (for all) or one per objective"
                )
        for enc in per_obj:
            for part in enc.split("+"):
                if part not in self.space.encodings():
                    raise HynasError(
                        f"space {self.space.name!r} has no {part!r} encoding; valid: "
                        f"{', '.join(self.space.encodings())} (or several joined by '+')"
                    )
        parts = [tuple(e.split("+")) for e in per_obj]
        # the constraint-violation model (index m) sees every encoding any objective uses
        parts.append(tuple(dict.fromkeys(p for ps in parts for p in ps)))
        self._enc = parts
        self._crossover = (
            (100 if m > 1 else 0) if self.crossover_candidates is None else self.crossover_candidates
        )
        self._enc_cache: dict[tuple[str, ...], dict[Architecture, np.ndarray]] = {}
        self.fits = 0
        self.queue: list[Architecture] = []
        self.told: list[Result] = []
        self._models: dict[int, Any] = {}
        self._nbr_cache: dict[Architecture, list[Architecture]] = {}
        self._setup_warm_start(self.warm_start, self.warm_pool, self.init)

    # -- helpers ------------------------------------------------------------------------------
    def _default_encoding(self, metric: str) -> str:
        """``path`` (where the space has it) for accuracy-like metrics; a per-decision ``onehot``
        for hardware costs (a source after ``@``, params, FLOPs, memory), which add up over
        operations rather than over paths."""
        encs = self.space.encodings()
        cost = "@" in metric or metric in COST_METRICS
        if cost and "onehot" in encs:
            return "onehot"
        return "path" if "path" in encs else ("onehot" if "onehot" in encs else encs[0])

    def _x(self, archs: Sequence[Architecture], k: int = 0) -> np.ndarray:
        """Encoding rows of ``archs`` for model ``k`` (objective ``k``; ``m``: the violation)."""
        parts = self._enc[k]
        cache = self._enc_cache.setdefault(parts, {})
        rows = []
        for a in archs:
            v = cache.get(a)
            if v is None:
                v = cache[a] = np.concatenate([np.ravel(self.space.encode(a, e)) for e in parts])
            rows.append(v)
        return np.array(rows, dtype=np.float64)

    def _predictor(self, k: int) -> Any:
        """A fresh predictor per fit, or the same one for a warm-started predictor (kept per objective)."""
        from hynas.predictors import PREDICTORS

        if k in self._models:
            return self._models[k]
        pred = PREDICTORS.create(
            self.predictor_name, seed=self.seed * 7919 + self.fits * 31 + k, **self.predictor_options
        )
        if getattr(pred, "warm_epochs", 0):
            self._models[k] = pred
        return pred

    def _scores(
        self, loss: np.ndarray, viol: np.ndarray, w: np.ndarray, lo: np.ndarray, span: np.ndarray
    ) -> np.ndarray:
        """Scalarised observed score (smaller is better); infeasible after every feasible one."""
        s = chebyshev((loss - lo) / span, w)
        return np.where(viol > 0, s.max(initial=0.0) + 1.0 + viol, s)

    def _nbrs(self, a: Architecture) -> list[Architecture]:
        nbrs = self._nbr_cache.get(a)
        if nbrs is None:
            nbrs = self._nbr_cache[a] = self.space.neighbours(a)
        return nbrs

    def _pool(self, parents: list[Architecture], neighbours: int, n_random: int) -> list[Architecture]:
        pool: dict[Architecture, None] = {}
        if neighbours:
            for a in parents[:neighbours]:
                for b in self._nbrs(a):
                    if self._fresh(b):
                        pool[b] = None
        tries = 0
        target = len(pool) + self.n_candidates
        while len(pool) < target and tries < 3 * self.n_candidates:  # late in a run most are seen
            tries += 1
            a = parents[int(self.rng.integers(len(parents)))]
            for _ in range(int(self.rng.integers(1, self.max_edits + 1))):
                nbrs = self._nbrs(a)  # == space.mutate(a, rng), with the neighbourhoods cached
                a = nbrs[int(self.rng.integers(len(nbrs)))] if nbrs else a
            if self._fresh(a) and a not in pool:
                pool[a] = None
        if len(parents) > 1:
            for _ in range(self._crossover):  # uniform crossover of two parents
                i, j = self.rng.choice(len(parents), size=2, replace=False)
                child = self._arch_of(self._uniform_crossover(parents[i], parents[j]))
                if child is not None and self._fresh(child) and child not in pool:
                    pool[child] = None
        for _ in range(n_random):
            a = self.space.sample(self.rng)
            if self._fresh(a) and a not in pool:
                pool[a] = None
        return list(pool)

    def _refill(self) -> None:
        ok = [r for r in self.told if r.ok]
        if len(ok) < 2:
            return
        m = len(self.objectives)
        loss = np.array([r.loss for r in ok], dtype=np.float64)
        viol = np.array([r.violation for r in ok], dtype=np.float64)
        w = self.rng.dirichlet(np.ones(m)) if m > 1 else np.ones(1)
        lo, hi = loss.min(axis=0), loss.max(axis=0)
        span = np.where(hi > lo, hi - lo, 1.0)
        # stagnation: no new (feasible) non-dominated observation for `patience` queries -> the
        # pool also gets `explore_candidates` random architectures, so that the acquisition can
        # leave the current basin
        feas_idx = np.flatnonzero(viol <= 0)
        last = feas_idx[pareto_mask(loss[feas_idx])].max() if len(feas_idx) else len(ok) - 1
        stuck = len(ok) - 1 - int(last) >= self.patience
        n_random = max(self.random_candidates, self.explore_candidates) if stuck else self.random_candidates
        hvi = m > 1 and self.multi == "hvi"
        if hvi:
            # parents: the (constrained) non-dominated fronts, best first; the whole first front
            # gets its neighbourhood explored
            ranks = non_dominated_sort(loss, viol)
            order = np.lexsort((self._scores(loss, viol, w, lo, span), ranks))
            n_front = int(np.sum(ranks == 0))
            parents = [ok[i].arch for i in order[: max(self.n_parents, n_front)]]
            pool = self._pool(parents, max(self.neighbours, n_front), n_random)
        else:
            order = np.argsort(self._scores(loss, viol, w, lo, span), kind="stable")
            parents = [ok[i].arch for i in order[: self.n_parents]]
            sweep = [a for a in self._nbrs(parents[0]) if self._fresh(a)] if stuck and self.sweep else []
            pool = sweep or self._pool(parents, self.neighbours, n_random)
        self.fits += 1
        if not pool:
            return
        train = [r.arch for r in ok]
        means, stds = np.zeros((len(pool), m)), np.zeros((len(pool), m))
        for k in range(m):
            pred = self._predictor(k).fit(self._x(train, k), loss[:, k])
            means[:, k], stds[:, k] = pred.predict(self._x(pool, k))
        pen = np.zeros(len(pool))
        if self.constrained and np.any(viol > 0):
            vm, vs = self._predictor(m).fit(self._x(train, m), viol).predict(self._x(pool, m))
            pen = np.maximum(self._acq_sample(vm, vs), 0.0)
        # acquisition in normalised units; smaller is better
        if self.acquisition == "its":
            f = self._acq_sample(means, stds)
        elif self.acquisition == "ucb":
            f = means - self.kappa * stds
        else:
            f = means
        f_n = (f - lo) / span
        score = chebyshev(f_n, w)
        if self.acquisition == "ei":
            from scipy.stats import norm  # imported here: scipy.stats takes 0.6 s to import

            mu = chebyshev((means - lo) / span, w)
            sd = np.sqrt(((w * stds / span) ** 2).sum(axis=1)) + 1e-12
            feas_best = self._scores(loss, viol, w, lo, span)[viol <= 0]
            best = feas_best.min() if len(feas_best) else mu.min()
            z = (best - mu) / sd
            score = -(sd * (z * norm.cdf(z) + norm.pdf(z)))
        if hvi:
            # hypervolume improvement of each candidate's sampled (or mean) objectives over the
            # observed feasible front, in normalised units with the reference point 10 % past the
            # worst observation; candidates that improve nothing rank after all that do, by the
            # scalarisation above
            feas = viol <= 0
            front = (loss[feas] - lo) / span
            gain = hv_improvement(front, f_n, np.full(m, 1.1)) if len(front) else np.zeros(len(pool))
            score = np.where(gain > 0, -gain, score - score.min() + 1.0)
        score = score + 10.0 * pen
        top = np.argsort(score, kind="stable")[: self.batch]
        self.queue = [pool[i] for i in top[::-1]]  # popped from the end: best first

    def _acq_sample(self, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
        return np.asarray(mean + std * self.rng.standard_normal(np.shape(mean)))

    # -- ask / tell ---------------------------------------------------------------------------
    def propose(self) -> Architecture:
        a = self._pop_fresh(self._warm_stack())
        if a is not None:
            return a
        if self.asked < self.init or sum(r.ok for r in self.told) < 2:
            return self._random_fresh()
        while True:
            a = self._pop_fresh(self.queue)
            if a is not None:
                return a
            self._refill()
            if not self.queue:
                return self._random_fresh()

    def tell(self, results: Sequence[Result]) -> None:
        super().tell(results)
        self.told.extend(results)
