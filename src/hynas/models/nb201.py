"""The NAS-Bench-201 network in plain PyTorch (Dong & Yang, "NAS-Bench-201: Extending the Scope of
Reproducible Neural Architecture Search", ICLR 2020).

The paper's skeleton, for a cell string::

    stem:    conv3x3(3 -> C) + BN
    stage 1: N cells at C channels            (32×32 on CIFAR)
    reduce:  ResNet basic block, stride 2, C -> 2C
    stage 2: N cells at 2C channels           (16×16)
    reduce:  ResNet basic block, stride 2, 2C -> 4C
    stage 3: N cells at 4C channels           (8×8)
    head:    BN + ReLU, global average pool, linear

A cell is a DAG of 4 nodes; node ``i`` is the sum over ``j < i`` of ``op_{i<-j}(node_j)``. The five
operations are ``none`` (zero), ``skip_connect`` (identity), ``nor_conv_1x1`` and ``nor_conv_3x3``
(ReLU → conv → BN) and ``avg_pool_3x3`` (stride 1, padding not counted). With C=16, N=5 and 10
classes the parameter count equals the benchmark's ``params`` column.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from hynas.core import lookup
from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.models.nb201_cell import EDGES, OPS

__all__ = ["NB201Cell", "NB201Net", "ReLUConvBN", "ResNetBasicBlock", "Zero", "build_nb201", "nb201_op"]


class Zero(nn.Module):
    """The ``none`` operation: a zero tensor of the input's shape (no parameters)."""

    def forward(self, x: Tensor) -> Tensor:
        return x.mul(0.0)


class ReLUConvBN(nn.Sequential):
    """ReLU → Conv2d (no bias) → BatchNorm2d, the NAS-Bench-201 convolution unit."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(c_out),
        )


def nb201_op(name: str, channels: int) -> nn.Module:
    """One cell-edge operation at ``channels`` channels, stride 1."""
    if name == "none":
        return Zero()
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return ReLUConvBN(channels, channels, 1)
    if name == "nor_conv_3x3":
        return ReLUConvBN(channels, channels, 3)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise HynasError(f"unknown NAS-Bench-201 op {name!r}; valid ops: {', '.join(OPS)}")


class NB201Cell(nn.Module):
    """The 4-node cell: ``edges[k]`` maps node ``EDGES[k][1]`` into node ``EDGES[k][0]``."""

    def __init__(self, ops: tuple[str, ...], channels: int) -> None:
        super().__init__()
        self.ops = tuple(ops)
        self.edges = nn.ModuleList(nb201_op(op, channels) for op in ops)

    def forward(self, x: Tensor) -> Tensor:
        nodes = [x]
        for i in (1, 2, 3):
            node = None
            for k, (to, frm) in enumerate(EDGES):
                if to == i:
                    y = self.edges[k](nodes[frm])
                    node = y if node is None else node + y
            nodes.append(node)  # type: ignore[arg-type]
        return nodes[3]


class ResNetBasicBlock(nn.Module):
    """Reduction block: two ReLU-conv3x3-BN units (first strided) plus avgpool+conv1x1 shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int = 2) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, stride)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1)
        self.downsample: nn.Module
        if stride == 2:
            self.downsample = nn.Sequential(
                nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
                nn.Conv2d(c_in, c_out, 1, bias=False),
            )
        elif c_in != c_out:
            self.downsample = ReLUConvBN(c_in, c_out, 1)
        else:
            self.downsample = nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        return self.downsample(x) + self.conv_b(self.conv_a(x))


class NB201Net(nn.Module):
    """The NAS-Bench-201 macro skeleton around one repeated cell."""

    def __init__(self, ops: tuple[str, ...], num_classes: int = 10, C: int = 16, N: int = 5) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, C, 3, padding=1, bias=False), nn.BatchNorm2d(C))
        layers: list[nn.Module] = []
        c = C
        for stage in range(3):
            if stage > 0:
                layers.append(ResNetBasicBlock(c, 2 * c, stride=2))
                c *= 2
            layers.extend(NB201Cell(ops, c) for _ in range(N))
        self.cells = nn.Sequential(*layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(inplace=False))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.lastact(self.cells(self.stem(x)))
        return self.classifier(torch.flatten(self.pool(x), 1))


def build_nb201(arch: Architecture | str, num_classes: int = 10, C: int = 16, N: int = 5) -> nn.Module:
    """The NAS-Bench-201 network of ``arch`` (an architecture or its cell string; the registered
    ``nb201`` space, found through :mod:`hynas.core.lookup`, reads and checks it)."""
    space = lookup.space("nb201")
    if isinstance(arch, str):
        arch = space.parse(arch)
    space.validate(arch)
    for fname, value in (("num_classes", num_classes), ("C", C), ("N", N)):
        if int(value) < 1:
            raise HynasError(f"build_nb201: {fname} must be >= 1, got {value}")
    return NB201Net(tuple(OPS[g] for g in arch.genes), num_classes=num_classes, C=C, N=N)
