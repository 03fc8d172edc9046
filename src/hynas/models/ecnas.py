"""The NAS-Bench-101 network in plain PyTorch (Ying et al., "NAS-Bench-101: Towards Reproducible Neural
Architecture Search", ICML 2019), as trained by EC-NAS-Bench (Bakhtiarifard et al., ICASSP 2024).

The paper's skeleton, for one cell (a pruned DAG, :mod:`hynas.models.nb101_graph`)::

    stem:    conv3x3(3 -> 128) + BN + ReLU          (32×32 on CIFAR-10)
    stack 1: 3 cells at 128 channels
    down:    max-pool 2×2, stride 2; the next stack's first cell doubles the channels
    stack 2: 3 cells at 256 channels                (16×16)
    down:    max-pool 2×2, stride 2
    stack 3: 3 cells at 512 channels                (8×8)
    head:    global average pool, linear (10 classes)

Inside a cell with ``c_in`` input and ``c_out`` output channels, the output concatenates the interior
vertices that feed it, so they split ``c_out`` between them
(:func:`hynas.models.nb101_graph.vertex_channels`). An interior vertex sums its inputs: other interior
vertices truncated to its channel count (their first channels), and a 1×1 conv-BN-ReLU projection of
the cell input if the input feeds it; then applies its operation (conv3x3-BN-ReLU, conv1x1-BN-ReLU,
or 3×3 max-pool with stride 1). An input-to-output edge adds a 1×1 projection of the cell input to
the concatenation (or is the whole output when no interior vertex feeds the output). Convolutions
have no bias; BatchNorm uses NAS-Bench-101's momentum 0.997 (PyTorch 0.003) and epsilon 1e-5.

With the defaults the parameter count equals EC-NAS-Bench's ``trainable_params`` for every one of
the 2,532 cells: EC-NAS trains the full NAS-Bench-101 skeleton, not a reduced one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from hynas.core import lookup
from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.models.nb101_graph import vertex_channels

__all__ = ["ConvBNReLU", "ECNASCell", "ECNASNet", "build_ecnas"]

_BN_MOMENTUM = 1.0 - 0.997
_BN_EPS = 1e-5


class ConvBNReLU(nn.Sequential):
    """Conv2d (no bias, same padding) → BatchNorm2d → ReLU, NAS-Bench-101's convolution unit."""

    def __init__(self, c_in: int, c_out: int, kernel: int) -> None:
        super().__init__(
            nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(c_out, eps=_BN_EPS, momentum=_BN_MOMENTUM),
            nn.ReLU(inplace=False),
        )


def _vertex_op(label: int, channels: int) -> nn.Module:
    if label == 0:
        return ConvBNReLU(channels, channels, 3)
    if label == 1:
        return ConvBNReLU(channels, channels, 1)
    if label == 2:
        return nn.MaxPool2d(3, stride=1, padding=1)
    raise HynasError(f"unknown NAS-Bench-101 op label {label}; valid: 0 conv3x3, 1 conv1x1, 2 maxpool3x3")


class ECNASCell(nn.Module):
    """One NAS-Bench-101 cell (pruned ``matrix``, labels -1 in, 0/1/2 ops, -2 out)."""

    def __init__(self, matrix: Sequence[Sequence[int]], labels: Sequence[int], c_in: int, c_out: int) -> None:
        super().__init__()
        self.matrix = tuple(tuple(int(x) for x in row) for row in matrix)
        n = len(self.matrix)
        self.n = n
        self.channels = vertex_channels(c_in, c_out, self.matrix)
        self.proj = nn.ModuleDict(
            {str(v): ConvBNReLU(c_in, self.channels[v], 1) for v in range(1, n) if self.matrix[0][v]}
        )
        self.ops = nn.ModuleDict(
            {str(v): _vertex_op(int(labels[v]), self.channels[v]) for v in range(1, n - 1)}
        )

    def forward(self, x: Tensor) -> Tensor:
        m, n, ch = self.matrix, self.n, self.channels
        t: list[Tensor] = [x]
        for v in range(1, n - 1):
            parts = [t[u][:, : ch[v]] for u in range(1, v) if m[u][v]]
            if m[0][v]:
                parts.append(self.proj[str(v)](x))
            s = parts[0]
            for p in parts[1:]:
                s = s + p
            t.append(self.ops[str(v)](s))
        outs = [t[u] for u in range(1, n - 1) if m[u][n - 1]]
        if not outs:
            return self.proj[str(n - 1)](x)
        y = torch.cat(outs, dim=1) if len(outs) > 1 else outs[0]
        if m[0][n - 1]:
            y = y + self.proj[str(n - 1)](x)
        return y


class ECNASNet(nn.Module):
    """The NAS-Bench-101 macro skeleton around one repeated cell."""

    def __init__(
        self,
        matrix: Sequence[Sequence[int]],
        labels: Sequence[int],
        num_classes: int = 10,
        channels: int = 128,
        num_stacks: int = 3,
        cells_per_stack: int = 3,
    ) -> None:
        super().__init__()
        self.stem = ConvBNReLU(3, channels, 3)
        layers: list[nn.Module] = []
        c_in = c = channels
        for stack in range(num_stacks):
            if stack > 0:
                layers.append(nn.MaxPool2d(2, stride=2))
                c *= 2
            for _ in range(cells_per_stack):
                layers.append(ECNASCell(matrix, labels, c_in, c))
                c_in = c
        self.cells = nn.Sequential(*layers)
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.cells(self.stem(x))
        return self.classifier(x.mean(dim=(2, 3)))


def build_ecnas(
    arch: Architecture | str,
    num_classes: int = 10,
    channels: int = 128,
    num_stacks: int = 3,
    cells_per_stack: int = 3,
) -> nn.Module:
    """The NAS-Bench-101 network of ``arch`` (an architecture or its cell string; the registered
    ``ecnas`` space, found through :mod:`hynas.core.lookup`, reads it and gives its pruned cell)."""
    space: Any = lookup.space("ecnas")  # an ECNASSpace: spec() is its own
    if isinstance(arch, str):
        arch = space.parse(arch)
    matrix, labels = space.spec(arch)
    for fname, value in (
        ("num_classes", num_classes),
        ("channels", channels),
        ("num_stacks", num_stacks),
        ("cells_per_stack", cells_per_stack),
    ):
        if int(value) < 1:
            raise HynasError(f"build_ecnas: {fname} must be >= 1, got {value}")
    if int(channels) < 3:  # up to 3 interior vertices split a cell's output channels
        raise HynasError(f"build_ecnas: channels must be >= 3, got {channels}")
    return ECNASNet(matrix, labels, int(num_classes), int(channels), int(num_stacks), int(cells_per_stack))
