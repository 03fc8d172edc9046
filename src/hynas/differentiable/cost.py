"""The hardware term: a per-operation cost table, the expected cost of the architecture
distribution, and the two ways of adding it to the loss.

**Per-operation costs.** Any cost hynas computes for a whole architecture (a cost model such as
``latency@roofline:raspi4``, ``latency@lut:local``, ``flops``, ``params``, ``memory``; or a tabular
evaluator's metric such as the HW-NAS-Bench ``latency@raspi4`` of ``nb201``) becomes a table of
per-choice costs by one-at-a-time differences from a reference network (every slot at its first
choice): ``Δ[s][c] = f(ref with slot s = c) − f(ref)``. The expected cost of the per-slot choice
probabilities ``p`` is then ``f(ref) + Σ_s Σ_c p[s][c] Δ[s][c]``, the latency-lookup sum of FBNet
(Wu et al., "FBNet: Hardware-Aware Efficient ConvNet Design via Differentiable Neural Architecture
Search", CVPR 2019) and ProxylessNAS (Cai et al., "ProxylessNAS: Direct Neural Architecture Search
on Target Task and Hardware", ICLR 2019). It is exact for costs that add up over layers (the
roofline, FLOPs and parameter models of the mobile space; tested) and a first-order estimate
otherwise (measured tables); the derived network's stored cost is always computed exactly.

**The loss.** With ``r = E[cost] / f(ref)``, or with a target ``T``, ``r = max(0, E[cost]/T − 1)``
(``target_style="hinge"``: only a network above the target is penalised, so accuracy pulls the
search up to it), or ``r = |E[cost]/T − 1|`` (``target_style="absolute"``: a network below the
target is penalised too, so the search lands on it; the absolute-value reward of TuNAS, Bender et
al., "Can Weight Sharing Outperform Random Architecture Search? An Investigation With TuNAS",
CVPR 2020):

- additive (ProxylessNAS): ``loss = CE + λ·r``
- multiplicative (FBNet): ``loss = CE · (1 + λ·r)^β`` — FBNet's ``CE · α·log(LAT)^β`` made unit-free
  (the paper's form needs latency in milliseconds above 1).

**Expected, sampled or derived.** By default ``r`` is the penalty of the *expected* cost (FBNet,
ProxylessNAS). With a target that lets a mixture meet the target while the network derived from it
(one choice per slot, the most likely) does not: half the mass on a cheap choice and half on a dear
one averages to the target, and the derived network is the cheap one. ``cost_estimate="sampled"``
uses TuNAS's form instead: ``r = E_{a~p}[penalty(cost(a))]``, the expected penalty of the networks
drawn from the choice probabilities, which is smallest when the mass sits on networks at the
target. It is estimated from ``cost_samples`` networks drawn per step (table look-ups, no
forward pass), its gradient by REINFORCE with a leave-one-out baseline (Williams, 1992; Kool et
al., "Buy 4 REINFORCE samples, get a baseline for free!", ICLR 2019 workshop). Over many slots a
drawn network's cost averages out, so the two forms differ little there. ``cost_estimate="derived"``
penalises the derived network itself: ``r = penalty(cost(argmax α))`` in value, with the expected
cost's gradient (straight-through, as GDAS passes a hard choice forward and the soft one back: Dong
& Yang, CVPR 2019). The search then moves mass toward dearer or cheaper choices until the derived
network crosses the target, and ends within one choice's cost of it. The gradient is that of the
expected cost under ``softmax(α)`` for every method: the derived network is a function of α, and
FBNet's Gumbel draw (which its expected-cost term uses) would add noise that does not move it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.differentiable.layout import Layout
from hynas.differentiable.rules import derive

__all__ = [
    "ESTIMATES",
    "STYLES",
    "TARGET_STYLES",
    "CostTable",
    "derived_penalty",
    "estimated_penalty",
    "hardware_loss",
    "penalty",
    "sampled_penalty",
]

STYLES = ("additive", "multiplicative")
TARGET_STYLES = ("hinge", "absolute")
ESTIMATES = ("expected", "sampled", "derived")


@dataclass(frozen=True)
class CostTable:
    """``f(ref)`` and the per-slot, per-choice differences ``deltas[s][c]``."""

    name: str
    base: float
    deltas: tuple[tuple[float, ...], ...]
    smallest: float  # the exact cost of the cheapest network under the per-choice model
    smallest_arch: str

    @staticmethod
    def build(name: str, layout: Layout, cost: Callable[[Architecture], float]) -> CostTable:
        ref = list(layout.reference())
        base = float(cost(layout.decode(ref)))
        deltas = []
        for s, options in enumerate(layout.choices):
            row = []
            for c in range(len(options)):
                picks = list(ref)
                picks[s] = c
                row.append(0.0 if c == 0 else float(cost(layout.decode(picks))) - base)
            deltas.append(tuple(row))
        cheapest = [min(range(len(row)), key=row.__getitem__) for row in deltas]
        arch = layout.decode(cheapest)
        return CostTable(name, base, tuple(deltas), float(cost(arch)), str(arch))

    def predict(self, picks: Sequence[int]) -> float:
        """The per-choice model's cost of one network (for checking additivity)."""
        return self.base + sum(self.deltas[s][c] for s, c in enumerate(picks))

    def expected(self, probs: Sequence[torch.Tensor]) -> torch.Tensor:
        """``E[cost]`` under per-slot choice probabilities (differentiable in ``probs``)."""
        total = torch.zeros(())
        for p, row in zip(probs, self.deltas, strict=True):
            total = total + (p * torch.tensor(row, dtype=p.dtype)).sum()
        return total + self.base

    def sample(self, probs: Sequence[torch.Tensor], k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``k`` networks drawn from the per-slot probabilities: their costs under the table
        (no gradient) and their log-probabilities (differentiable in ``probs``)."""
        costs = torch.full((k,), self.base)
        logp = torch.zeros(k)
        for p, row in zip(probs, self.deltas, strict=True):
            picks = torch.multinomial(p.detach(), k, replacement=True)
            costs = costs + torch.tensor(row, dtype=costs.dtype)[picks]
            logp = logp + torch.log(p.clamp_min(1e-12))[picks]
        return costs, logp

    def check_target(self, target: float | None, method: str) -> None:
        if target is not None and target < self.smallest:
            raise HynasError(
                f"{method}: target {self.name} {target:g} is below the smallest network's "
                f"{self.smallest:.4g} ({self.smallest_arch}); give a target of at least that"
            )


def hardware_loss(
    ce: torch.Tensor, r: torch.Tensor, *, style: str, weight: float, beta: float
) -> torch.Tensor:
    """The task loss with the hardware term ``r`` (a :func:`penalty`; see the module docstring)."""
    if style == "additive":
        return ce + weight * r
    return ce * (1.0 + weight * r) ** beta


def penalty(
    cost: torch.Tensor, *, scale: float, target: float | None, target_style: str = "hinge"
) -> torch.Tensor:
    """``r`` of a cost (element-wise): ``cost/scale`` without a target, else the hinge or absolute term."""
    if target is None:
        return cost / scale
    if target_style == "absolute":
        return (cost / target - 1.0).abs()
    return torch.relu(cost / target - 1.0)


def derived_penalty(
    table: CostTable,
    probs: Sequence[torch.Tensor],
    picks: Sequence[int],
    *,
    scale: float,
    target: float | None,
    target_style: str,
) -> torch.Tensor:
    """The penalty of the derived network ``picks`` (its cost under the table), with the gradient of
    the expected cost under ``probs`` (straight-through; see the module docstring)."""
    expected = table.expected(probs)
    hard = expected - expected.detach() + table.predict(picks)
    return penalty(hard, scale=scale, target=target, target_style=target_style)


def sampled_penalty(
    table: CostTable,
    probs: Sequence[torch.Tensor],
    k: int,
    *,
    scale: float,
    target: float | None,
    target_style: str,
) -> torch.Tensor:
    """``E_{a~p}[penalty(cost(a))]`` from ``k`` drawn networks: the value is their mean penalty, the
    gradient the REINFORCE estimate with a leave-one-out baseline (see the module docstring)."""
    costs, logp = table.sample(probs, k)
    f = penalty(costs, scale=scale, target=target, target_style=target_style)
    baseline = (f.sum() - f) / max(1, k - 1)
    return f.mean() + ((f - baseline) * (logp - logp.detach())).mean()


def estimated_penalty(
    table: CostTable,
    estimate: str,
    alphas: Sequence[torch.Tensor],
    probs: Sequence[torch.Tensor],
    *,
    samples: int,
    scale: float,
    target: float | None,
    target_style: str,
) -> torch.Tensor:
    """``r`` by ``estimate`` (one of :data:`ESTIMATES`): of the expected cost under the method's
    choice probabilities ``probs`` (FBNet's are a Gumbel draw), of ``samples`` drawn networks, or of
    the derived network ``argmax α`` with the expected cost's gradient under ``softmax(α)``."""
    if estimate == "sampled":
        return sampled_penalty(table, probs, samples, scale=scale, target=target, target_style=target_style)
    if estimate == "derived":
        soft = [torch.softmax(a, 0) for a in alphas]
        return derived_penalty(
            table, soft, derive(alphas), scale=scale, target=target, target_style=target_style
        )
    return penalty(table.expected(probs), scale=scale, target=target, target_style=target_style)
