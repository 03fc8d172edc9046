"""Multi-fidelity search: successive halving, Hyperband and BOHB.

- Successive halving (Jamieson & Talwalkar, "Non-stochastic Best Arm Identification and
  Hyperparameter Optimization", AISTATS 2016): evaluate ``n`` architectures at the lowest fidelity,
  promote the best ``1/eta`` to the next fidelity, and so on up to the highest.
- Hyperband (Li, Jamieson, DeSalvo, Rostamizadeh & Talwalkar, JMLR 2018): loop over successive-
  halving brackets that start at different fidelities, hedging against misleading low fidelities.
- BOHB (Falkner, Klein & Hutter, "BOHB: Robust and Efficient Hyperparameter Optimization at
  Scale", ICML 2018): Hyperband whose new architectures come from a TPE-style model: on the highest
  fidelity with enough observations, the best ``gamma`` fraction and the rest each get a kernel
  density (Aitchison–Aitken kernels for categorical decisions); candidates are drawn from the good
  density and the one maximising ``l(x)/g(x)`` is taken; a ``random_fraction`` of draws stay random.

Fidelities are the evaluator's (`Strategy.setup` receives them: NAS-Bench-201 CIFAR-10's 12 and 200
epochs, ecnas's 2 and 4; the option ``fidelities=[...]`` picks a subset). A promoted architecture is asked again as a new
``Candidate(arch, higher_fidelity)``; an (architecture, fidelity) pair is never asked twice, and a
new bracket member is an architecture never asked at any fidelity. If a bracket is waiting for
results when ``ask`` is called, another bracket is opened, so asks never block (as in asynchronous
Hyperband). Everything depends only on the seed and the ask/tell sequence, so resume-by-replay works.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.core.strategy import Candidate, Option, Result, Strategy

__all__ = ["METHODS", "MultiFidelity"]

METHODS = ("sh", "hyperband", "bohb")


@dataclass
class _Bracket:
    """One successive-halving bracket: ``sizes[i]`` members at rung ``start + i``."""

    start: int
    sizes: list[int]
    rung: int = 0  # index into sizes
    todo: list[Architecture] = field(default_factory=list)  # to ask at the current rung
    asked: list[Architecture] = field(default_factory=list)  # asked at the current rung
    results: dict[Architecture, Result] = field(default_factory=dict)  # told at the current rung
    new: int = 0  # new architectures still to draw (first rung only)
    done: bool = False


class MultiFidelity(Strategy):
    """Successive halving / Hyperband / BOHB over the evaluator's fidelities."""

    name = "hyperband"
    max_objectives = 1
    OPTIONS = (
        Option("fidelities", "floats", None, "fidelities to use (default: the evaluator's), e.g. [12, 200]",
               low=0, high=1e9, low_open=True, none=True),
        Option("eta", "float", 3.0, "1/eta of a rung is promoted", low=1, high=100, low_open=True),
        Option("scale", "float", 3.0, "bracket size factor", low=0, high=1000, low_open=True),
        Option("gamma", "float", 0.15, "bohb: fraction of good points", low=0, high=1, low_open=True, high_open=True),
        Option("random_fraction", "float", 1 / 3, "bohb: fraction of random draws", low=0, high=1),
        Option("min_points", "int", None, "bohb: observations before the model (default decisions + 1)",
               low=1, high=10**4, none=True),
        Option("samples", "int", 64, "bohb: candidates drawn from the good density", low=1, high=10**5),
        Option("bandwidth", "float", 0.2, "bohb: kernel bandwidth", low=0, high=1, low_open=True),
        Option("bandwidth_factor", "float", 2.0, "bohb: bandwidth widening of the draws", low=0, high=100, low_open=True),
    )  # fmt: skip

    def __init__(
        self,
        method: str = "hyperband",
        fidelities: Sequence[float] | None = None,
        eta: float = 3.0,
        scale: float = 3.0,
        gamma: float = 0.15,
        random_fraction: float = 1 / 3,
        min_points: int | None = None,
        samples: int = 64,
        bandwidth: float = 0.2,
        bandwidth_factor: float = 2.0,
    ) -> None:
        if method not in METHODS:
            raise HynasError(f"unknown multi-fidelity method {method!r}; valid: {', '.join(METHODS)}")
        self._check_options({k: v for k, v in locals().items() if k != "method"}, method)
        fids: tuple[float, ...] | None = None
        if fidelities is not None:
            try:
                fids = tuple(sorted(float(f) for f in fidelities))
            except (TypeError, ValueError):
                raise HynasError(f"fidelities must be a list of numbers, got {fidelities!r}") from None
            if len(fids) < 2 or len(set(fids)) != len(fids):
                raise HynasError(
                    f"{method} needs at least two distinct fidelities (e.g. fidelities=[12, 200] epochs), "
                    f"got {fidelities!r}"
                )
        if not eta > 1:
            raise HynasError(f"eta must be > 1, got {eta!r}")
        if not scale > 0:
            raise HynasError(f"scale must be > 0, got {scale!r}")
        if not 0 < gamma < 1 or not 0 <= random_fraction <= 1:
            raise HynasError("gamma must be in (0, 1) and random_fraction in [0, 1]")
        self.method = method
        self.name = method
        self.fidelities_option = fids
        self.fidelities: tuple[float, ...] = fids or ()
        self.eta = float(eta)
        self.scale = float(scale)
        self.gamma = float(gamma)
        self.random_fraction = float(random_fraction)
        self.min_points = min_points
        self.samples = int(samples)
        self.bandwidth = float(bandwidth)
        self.bandwidth_factor = float(bandwidth_factor)

    # -- schedule -----------------------------------------------------------------------------
    def reset(self) -> None:
        offered = self.offered_fidelities
        if self.fidelities_option is None:
            if len(offered) < 2:
                raise HynasError(
                    f"{self.method} needs an evaluator with at least two fidelities; this one offers "
                    f"{list(offered) or 'one'}. Pass the option fidelities=[LOW, HIGH] for a custom loop"
                )
            self.fidelities = offered
        else:
            self.fidelities = self.fidelities_option
            extra = [f for f in self.fidelities if offered and f not in offered]
            if extra:
                raise HynasError(
                    f"{self.method}: fidelities {extra} are not offered by the evaluator; "
                    f"valid: {', '.join(f'{f:g}' for f in offered)}"
                )
        self.pairs: set[tuple[Architecture, float]] = set()
        self.brackets: list[_Bracket] = []
        self.opened = 0
        self.obs: list[dict[Architecture, float]] = [{} for _ in self.fidelities]  # rung -> arch -> loss
        self.where: dict[tuple[Architecture, float], _Bracket] = {}
        if self.min_points is None:
            self.min_points = len(self.space.dims) + 1

    def bracket_sizes(self, s: int) -> list[int]:
        """Members per rung of a bracket that starts ``s`` rungs below the top (Hyperband's n_i)."""
        smax = len(self.fidelities) - 1
        n = math.ceil(self.scale * (smax + 1) / (s + 1) * self.eta**s)
        return [max(1, math.floor(n * self.eta ** (-i))) for i in range(s + 1)]

    def _open(self) -> _Bracket:
        smax = len(self.fidelities) - 1
        s = smax if self.method in ("sh",) else smax - (self.opened % (smax + 1))
        self.opened += 1
        sizes = self.bracket_sizes(s)
        b = _Bracket(start=smax - s, sizes=sizes, new=sizes[0])
        self.brackets.append(b)
        return b

    def _next(self) -> Candidate | None:
        for b in self.brackets:
            if b.done:
                continue
            fid = self.fidelities[b.start + b.rung]
            while b.todo:
                a = b.todo.pop(0)
                if (a, fid) not in self.pairs:
                    return self._take(b, a, fid)
            if b.rung == 0 and b.new > 0:
                b.new -= 1
                return self._take(b, self._new_arch(), fid)
        return None

    def _take(self, b: _Bracket, arch: Architecture, fid: float) -> Candidate:
        self.pairs.add((arch, fid))
        self.where[(arch, fid)] = b
        b.asked.append(arch)
        self.seen.add(arch)
        return Candidate(arch, fid)

    def ask(self, n: int = 1) -> list[Candidate]:
        out = []
        for _ in range(n):
            cand = self._next()
            if cand is None:
                self._open()
                cand = self._next()
            assert cand is not None
            out.append(cand)
        return out

    def tell(self, results: Sequence[Result]) -> None:
        super().tell(results)
        for r in results:
            fid = r.candidate.fidelity
            if fid is None or float(fid) not in self.fidelities:
                continue
            rung = self.fidelities.index(float(fid))
            if r.ok:
                key = self.fitness_key(r)
                self.obs[rung][r.arch] = key[1] if key[0] == 0 else math.inf
            b = self.where.pop((r.arch, float(fid)), None)
            if b is None:
                continue
            b.results[r.arch] = r
            self._advance(b)

    def _advance(self, b: _Bracket) -> None:
        """Promote the best ``sizes[rung + 1]`` once every member of the rung has been told."""
        if b.rung == 0 and b.new > 0:
            return
        if b.todo or len(b.results) < len(b.asked):
            return
        if b.rung + 1 >= len(b.sizes):
            b.done = True
            return
        ranked = sorted(b.asked, key=lambda a: self.fitness_key(b.results[a]))
        keep = [a for a in ranked[: b.sizes[b.rung + 1]] if b.results[a].ok]
        b.rung += 1
        b.todo, b.asked, b.results = keep, [], {}
        if not keep:
            b.done = True

    # -- new architectures --------------------------------------------------------------------
    def _new_arch(self) -> Architecture:
        if self.method == "bohb" and self.rng.random() >= self.random_fraction:
            arch = self._bohb_sample()
            if arch is not None:
                return arch
        return self._random_fresh()

    def _bohb_sample(self) -> Architecture | None:
        """TPE-style draw from the highest rung that has enough finite observations."""
        assert self.min_points is not None
        for rung in range(len(self.fidelities) - 1, -1, -1):
            items = sorted(
                ((loss, a.genes) for a, loss in self.obs[rung].items() if math.isfinite(loss)),
                key=lambda t: t[0],
            )
            if len(items) >= self.min_points + 2:
                break
        else:
            return None
        n_good = max(self.min_points, int(self.gamma * len(items)))
        n_good = min(n_good, len(items) - 1)
        good = np.array([g for _, g in items[:n_good]])
        bad = np.array([g for _, g in items[n_good:]])
        card = np.array([len(d) for d in self.space.dims])
        draws = []
        for _ in range(self.samples):
            base = good[int(self.rng.integers(len(good)))]
            g = base.copy()
            h = np.minimum(self.bandwidth * self.bandwidth_factor, (card - 1) / card)
            flip = self.rng.random(len(g)) < h
            for k in np.flatnonzero(flip):
                others = [v for v in range(card[k]) if v != base[k]]
                g[k] = others[int(self.rng.integers(len(others)))]
            draws.append(g)
        x = np.array(draws)
        score = self._log_density(x, good, card) - self._log_density(x, bad, card)
        return self._first_fresh(self._arch_of(x[i]) for i in np.argsort(-score, kind="stable"))

    def _log_density(self, x: np.ndarray, data: np.ndarray, card: np.ndarray) -> np.ndarray:
        """Product of Aitchison–Aitken kernels, averaged over ``data`` rows (log scale)."""
        lam = np.minimum(self.bandwidth, (card - 1) / card)
        same = x[:, None, :] == data[None, :, :]  # n × m × d
        k = np.where(same, 1 - lam, lam / (card - 1))
        return np.asarray(np.log(np.prod(k, axis=2).mean(axis=1) + 1e-300))
