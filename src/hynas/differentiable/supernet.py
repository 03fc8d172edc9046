"""Mixed-operation supernets: the NB201 cell network for 28×28 grey images and the mobile space's
per-layer mixed blocks.

A :class:`MixedOp` holds one operation per choice and returns ``Σ_i w_i · op_i(x)`` over the
``active`` choices (all of them when ``active`` is ``None``): DARTS' continuous relaxation (Liu et
al., "DARTS: Differentiable Architecture Search", ICLR 2019) with soft weights, GDAS / ProxylessNAS
with straight-through one-hot weights and only the sampled paths computed. With ``partial = K`` it
is PC-DARTS' partial channel connection (Xu et al., "PC-DARTS: Partial Channel Connections for
Memory-Efficient Architecture Search", ICLR 2020): the operations see the first ``C/K`` channels,
the rest bypass them, and a channel shuffle mixes the two.

Every BatchNorm normalises with the batch's statistics (no running averages): the supernet's
weights change under ever-changing mixtures, and a one-shot score with stale averages would be
noise (the same reason once-for-all recalibrates its sub-networks).

- :class:`NB201Supernet`: the NB201 skeleton (stem, 3 stages of ``cells`` cells, two ResNet
  reductions, head) with one shared set of α over the cell's 6 edges, at ``channels`` channels for
  1-channel 28×28 inputs (28 → 14 → 7 pixels); edges use the network's own operations
  (:func:`hynas.models.nb201.nb201_op`). PC-DARTS' edge normalisation weights each edge into a node.
- :class:`MobileSupernet`: the once-for-all MobileNetV3 skeleton of the ``mobile`` space
  (:mod:`hynas.models.mobile`) where each layer slot is a mixed op over kernel × expand MBConv
  blocks (plus an identity ``skip`` past the smallest depth), with a 10-class head.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from hynas.differentiable.layout import SKIP, Layout

__all__ = ["MixedOp", "MobileSupernet", "NB201Supernet", "batch_stats_only", "build_supernet"]

#: per slot: (weights over the choices, the choices to compute or None for all)
Gates = Sequence[tuple[Tensor, Sequence[int] | None]]


def batch_stats_only(module: nn.Module) -> nn.Module:
    """Make every BatchNorm in ``module`` use batch statistics (no running averages, no buffers)."""
    for m in module.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.track_running_stats = False
            m.running_mean = None
            m.running_var = None
            m.num_batches_tracked = None
    return module


def channel_shuffle(x: Tensor, groups: int) -> Tensor:
    n, c, h, w = x.shape
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)


class MixedOp(nn.Module):
    """One slot: an operation per choice; see the module docstring."""

    def __init__(self, ops: Sequence[nn.Module], partial: int = 1) -> None:
        super().__init__()
        self.ops = nn.ModuleList(ops)
        self.partial = partial

    def forward(self, x: Tensor, weights: Tensor, active: Sequence[int] | None = None) -> Tensor:
        idx = range(len(self.ops)) if active is None else active
        k = x.shape[1] // self.partial
        head = x if self.partial == 1 else x[:, :k]
        y: Tensor | None = None
        for i in idx:
            term = weights[i] * self.ops[i](head)
            y = term if y is None else y + term
        assert y is not None, "a mixed op needs at least one active choice"
        if self.partial == 1:
            return y
        return channel_shuffle(torch.cat([y, x[:, k:]], 1), self.partial)


class NB201Supernet(nn.Module):
    """The NB201 cell supernet for ``in_channels``-channel images; see the module docstring."""

    def __init__(
        self, layout: Layout, channels: int = 8, cells: int = 1, classes: int = 10, in_channels: int = 1,
        partial: int = 1,
    ) -> None:  # fmt: skip
        from hynas.models.nb201 import ResNetBasicBlock, nb201_op
        from hynas.models.nb201_cell import EDGES

        super().__init__()
        self.edges = EDGES
        c = channels
        self.stem = nn.Sequential(nn.Conv2d(in_channels, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))
        self.stages = nn.ModuleList()
        self.reductions = nn.ModuleList()
        for stage in range(3):
            if stage > 0:
                self.reductions.append(ResNetBasicBlock(c, 2 * c, stride=2))
                c *= 2
            width = c // partial
            self.stages.append(
                nn.ModuleList(
                    nn.ModuleList(
                        MixedOp([nb201_op(o, width) for o in ops], partial) for ops in layout.choices
                    )
                    for _ in range(cells)
                )
            )
        self.head = nn.Sequential(
            nn.BatchNorm2d(c), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, classes)
        )
        batch_stats_only(self)

    def forward(self, x: Tensor, gates: Gates, edge_weights: Sequence[Tensor] | None = None) -> Tensor:
        x = self.stem(x)
        for stage, cells in enumerate(self.stages):
            if stage > 0:
                x = self.reductions[stage - 1](x)
            for cell in cells:  # type: ignore[attr-defined]
                nodes = [x]
                for node in (1, 2, 3):
                    into = [k for k, (to, _) in enumerate(self.edges) if to == node]
                    total: Tensor | None = None
                    for j, k in enumerate(into):
                        w, active = gates[k]
                        y = cell[k](nodes[self.edges[k][1]], w, active)
                        if edge_weights is not None:
                            y = edge_weights[node - 1][j] * y
                        total = y if total is None else total + y
                    assert total is not None
                    nodes.append(total)
                x = nodes[3]
        return self.head(x)


class MobileSupernet(nn.Module):
    """The mobile space's mixed-op supernet (10 classes, 3-channel input); see the module docstring."""

    def __init__(self, layout: Layout, classes: int = 10) -> None:
        from hynas.models.mobile import MBConv
        from hynas.models.mobile_config import FEATURE_MIX, FINAL_EXPAND, STAGES, STEM_WIDTH, MBBlock

        super().__init__()
        c = STEM_WIDTH
        self.stem = nn.Sequential(nn.Conv2d(3, c, 3, 2, 1, bias=False), nn.BatchNorm2d(c), nn.Hardswish())
        self.first = MBConv(MBBlock(c, c, 3, 1, 1, "relu", False))
        slots: list[MixedOp] = []
        per = len(layout.slots) // len(STAGES)
        for s, (width, stride, act, se) in enumerate(STAGES):
            for layer in range(per):
                ops: list[nn.Module] = []
                for name in layout.choices[s * per + layer]:
                    if name == SKIP:  # only past the smallest depth: same width, stride 1
                        ops.append(nn.Identity())
                        continue
                    k, e = (int(v) for v in name[1:].split("e"))
                    ops.append(MBConv(MBBlock(c, width, k, e, stride if layer == 0 else 1, act, se)))
                slots.append(MixedOp(ops))
                c = width
        self.slots = nn.ModuleList(slots)
        self.final_expand = nn.Sequential(
            nn.Conv2d(c, FINAL_EXPAND, 1, bias=False), nn.BatchNorm2d(FINAL_EXPAND), nn.Hardswish()
        )
        self.feature_mix = nn.Sequential(nn.Conv2d(FINAL_EXPAND, FEATURE_MIX, 1, bias=False), nn.Hardswish())
        self.classifier = nn.Linear(FEATURE_MIX, classes)
        batch_stats_only(self)

    def forward(self, x: Tensor, gates: Gates, edge_weights: Sequence[Tensor] | None = None) -> Tensor:
        x = self.first(self.stem(x))
        for op, (w, active) in zip(self.slots, gates, strict=True):
            x = op(x, w, active)
        x = self.feature_mix(self.final_expand(x).mean((2, 3), keepdim=True))
        return self.classifier(torch.flatten(x, 1))


def build_supernet(layout: Layout, channels: int, cells: int, partial: int, in_channels: int) -> nn.Module:
    if layout.space.name == "nb201":
        return NB201Supernet(layout, channels, cells, 10, in_channels, partial)
    return MobileSupernet(layout)
