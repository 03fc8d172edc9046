"""What the NAS-Bench-201 space provides to cost models (see :mod:`hynas.core.space`).

The operator graph of the benchmark network (Dong & Yang 2020: 3×3 stem, 3 stages of ``N`` cells
at ``C``/2C/4C channels, residual reduction blocks, BN-ReLU, global pooling, linear classifier; the
network :mod:`hynas.models.nb201` builds), the covering networks and module map of its latency
lookup table, the HW-NAS-Bench latency tables (:mod:`hynas.benchmarks.nb201`) and the few-shot predictor's connectivity feature.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from hynas.core.arch import Architecture
from hynas.core.opgraph import OpGraph, conv_out
from hynas.core.space import SearchSpace
from hynas.models.nb201_cell import EDGES, OPS

__all__ = ["connected", "latency_samples", "lut_modules", "lut_standalone", "op_graph"]


def op_graph(
    g: OpGraph, arch: Architecture, resolution: int | None, C: int = 16, N: int = 5, num_classes: int = 10
) -> None:
    """Fill ``g`` with the operators of the NB201 network of ``arch``."""
    ops = [OPS[x] for x in arch.genes]
    h = resolution or 32
    x = g.fmap("input", 3, h)
    y = g.fmap("stem", C, h)
    g.add(
        "stem",
        "stem_conv3x3_bn",
        f"i3_o{C}_r{h}",
        (x,),
        y,
        macs=g.batch * h * h * C * 3 * 9,
        params=27 * C + 2 * C,
    )
    x, c = y, C
    for stage in range(3):
        if stage > 0:
            ho = conv_out(h, 3, 2)
            name = f"stage{stage}.reduce"
            a = g.fmap(f"{name}.a", 2 * c, ho)
            ds = g.fmap(f"{name}.ds", 2 * c, ho)
            out = g.fmap(name, 2 * c, ho)
            m = g.batch * ho * ho
            macs = m * (9 * c * 2 * c + 9 * 2 * c * 2 * c + c * 2 * c)
            params = 9 * c * 2 * c + 2 * 2 * c + 9 * (2 * c) ** 2 + 2 * 2 * c + c * 2 * c
            inter = 2 * (g.sizes[a] + g.sizes[ds])  # conv_a and shortcut outputs, written then read
            work = g.sizes[x] + 2 * g.sizes[a] + g.sizes[ds]  # x, shortcut, conv_a out, conv_b out
            g.add(
                name,
                "resblock",
                f"i{c}_o{2 * c}_r{h}_s2",
                (x,),
                out,
                macs,
                params,
                extra_bytes=inter,
                work=work,
            )
            del g.sizes[a], g.sizes[ds]
            x, c, h = out, 2 * c, ho
        for cell in range(N):
            prefix = f"stage{stage}.cell{cell}"
            nodes = [x]
            for i in (1, 2, 3):
                acc: str | None = None
                for k, (to, frm) in enumerate(EDGES):
                    if to != i:
                        continue
                    op = ops[k]
                    ename = f"{prefix}.edge{to}<-{frm}"
                    shape = f"c{c}_r{h}"
                    if op == "skip_connect":
                        e = nodes[frm]  # identity: no kernel, the input itself flows on
                    else:
                        e = g.fmap(ename, c, h)
                        macs, params = 0, 0
                        if op == "nor_conv_3x3":
                            macs, params = g.batch * h * h * c * c * 9, 9 * c * c + 2 * c
                        elif op == "nor_conv_1x1":
                            macs, params = g.batch * h * h * c * c, c * c + 2 * c
                        g.add(ename, op, shape, (nodes[frm],), e, macs, params)
                    if acc is None:
                        acc = e
                    else:
                        s = g.fmap(f"{prefix}.sum{i}.{k}", c, h)
                        g.add(f"{prefix}.add{i}.{k}", "add", shape, (acc, e), s)
                        acc = s
                assert acc is not None
                nodes.append(acc)
            x = nodes[3]
    y = g.fmap("lastact", c, h)
    g.add("lastact", "bn_relu", f"c{c}_r{h}", (x,), y, params=2 * c)
    g.pool_classifier(y, c, h, num_classes)


# -- latency lookup table ---------------------------------------------------------------------------


def lut_modules(model: Any) -> dict[str, Any]:
    """Operator name (as in :func:`op_graph`) -> the module of the built NB201 ``model`` that runs it."""
    from hynas.models.nb201 import NB201Cell, ResNetBasicBlock

    out: dict[str, Any] = {"stem": model.stem}
    stage, cell = 0, 0
    for m in model.cells:
        if isinstance(m, ResNetBasicBlock):
            stage, cell = stage + 1, 0
            out[f"stage{stage}.reduce"] = m
        elif isinstance(m, NB201Cell):
            for k, (to, frm) in enumerate(EDGES):
                out[f"stage{stage}.cell{cell}.edge{to}<-{frm}"] = m.edges[k]
            cell += 1
    out["lastact"], out["pool"], out["classifier"] = model.lastact, model.pool, model.classifier
    return out


class _Add:
    """The node-sum of NB201 cells: ``a + b`` on two maps of one shape."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        import torch

        self.a, self.b = torch.randn(shape), torch.randn(shape)

    def __call__(self) -> Any:
        return self.a + self.b


def lut_standalone(name: str, outputs: Mapping[str, tuple[int, ...]]) -> Callable[[], Any] | None:
    """The node sums of a cell, timed alone on two maps of the cell's shape."""
    if ".add" not in name:
        return None
    edge = name.rsplit(".add", 1)[0] + ".edge1<-0"  # every map of a cell has one shape
    return _Add(outputs[edge])


# -- HW-NAS-Bench tables and predictor features ---------------------------------------------------------


def latency_samples(
    space: SearchSpace, device: str, n: int | None, seed: int
) -> tuple[list[Architecture], np.ndarray]:
    """``n`` seeded random cells (all 15,625 when None) and their HW-NAS-Bench latency on ``device``."""
    from hynas.benchmarks.nb201 import load_table

    size = 15_625
    idx = np.arange(size) if n is None or n >= size else np.random.default_rng(seed).choice(size, n, False)
    archs = [space.from_index(int(i)) for i in idx]  # type: ignore[attr-defined]
    return archs, load_table()[f"latency@{device}"][idx]


def connected(genes: tuple[int, ...]) -> float:
    """1 if some input-to-output path of the cell has no ``none`` edge (NB201 op 0 is ``none``)."""
    reach = {0}
    for gene, (to, frm) in zip(genes, EDGES, strict=True):
        if gene != 0 and frm in reach:
            reach.add(to)
    return float(3 in reach)
