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
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.differentiable.layout import Layout

__all__ = ["STYLES", "TARGET_STYLES", "CostTable", "hardware_loss"]

STYLES = ("additive", "multiplicative")
TARGET_STYLES = ("hinge", "absolute")


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

    def check_target(self, target: float | None, method: str) -> None:
        if target is not None and target < self.smallest:
            raise HynasError(
                f"{method}: target {self.name} {target:g} is below the smallest network's "
                f"{self.smallest:.4g} ({self.smallest_arch}); give a target of at least that"
            )


def hardware_loss(
    ce: torch.Tensor,
    expected: torch.Tensor,
    *,
    style: str,
    weight: float,
    beta: float,
    scale: float,
    target: float | None,
    target_style: str = "hinge",
) -> torch.Tensor:
    """The task loss with the hardware term (see the module docstring); ``scale`` is ``f(ref)``."""
    if target is None:
        r = expected / scale
    elif target_style == "absolute":
        r = (expected / target - 1.0).abs()
    else:
        r = torch.relu(expected / target - 1.0)
    if style == "additive":
        return ce + weight * r
    return ce * (1.0 + weight * r) ** beta
