"""What the EC-NAS space provides to cost models (see :mod:`hynas.core.space`): the operator graph
of the NAS-Bench-101 network :mod:`hynas.models.ecnas` builds."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hynas.core.arch import Architecture
from hynas.core.opgraph import OpGraph
from hynas.models.nb101_graph import SHORT_OPS, vertex_channels

if TYPE_CHECKING:
    from hynas.spaces.ecnas import ECNASSpace

__all__ = ["op_graph"]


def op_graph(
    g: OpGraph,
    space: ECNASSpace,
    arch: Architecture,
    resolution: int | None,
    num_classes: int = 10,
    channels: int = 128,
    num_stacks: int = 3,
    cells_per_stack: int = 3,
) -> None:
    """Fill ``g`` with the NAS-Bench-101 network of ``arch``. A truncated input (the first channels
    of an interior vertex) is a view, not a kernel: the sum that reads it is charged its full size."""
    matrix, labels = space.spec(arch)
    n = len(labels)
    if channels < 3 or min(num_classes, num_stacks, cells_per_stack) < 1:
        raise TypeError("channels must be >= 3 and num_classes, num_stacks, cells_per_stack >= 1")
    h = resolution or 32
    x = g.fmap("input", 3, h)
    y = g.fmap("stem", channels, h)
    g.add("stem", "conv3x3", f"i3_o{channels}_r{h}", (x,), y, g.batch * h * h * channels * 27, 29 * channels)
    x = y
    c_in = c = channels
    for stack in range(num_stacks):
        if stack > 0:
            h2 = h // 2
            name = f"stack{stack}.down"
            y = g.fmap(name, c, h2)
            g.add(name, "maxpool2x2", f"c{c}_r{h}", (x,), y)
            x, h, c = y, h2, 2 * c
        for cell in range(cells_per_stack):
            prefix = f"stack{stack}.cell{cell}"
            ch = vertex_channels(c_in, c, matrix)
            t = [x]
            for v in range(1, n):
                parts = [t[u] for u in range(1, min(v, n - 1)) if matrix[u][v]]
                if v == n - 1 and len(parts) > 1:
                    cat = g.fmap(f"{prefix}.concat", c, h)
                    g.add(f"{prefix}.concat", "concat", f"c{c}_r{h}", tuple(parts), cat)
                    parts = [cat]
                if matrix[0][v]:
                    p = g.fmap(f"{prefix}.proj{v}", ch[v], h)
                    g.add(
                        f"{prefix}.proj{v}",
                        "conv1x1",
                        f"i{c_in}_o{ch[v]}_r{h}",
                        (x,),
                        p,
                        g.batch * h * h * c_in * ch[v],
                        c_in * ch[v] + 2 * ch[v],
                    )
                    parts.append(p)
                acc = parts[0]
                for k, part in enumerate(parts[1:]):
                    s = g.fmap(f"{prefix}.sum{v}.{k}", ch[v], h)
                    g.add(f"{prefix}.add{v}.{k}", "add", f"c{ch[v]}_r{h}", (acc, part), s)
                    acc = s
                if v == n - 1:
                    t.append(acc)
                    break
                op = SHORT_OPS[labels[v]]
                out = g.fmap(f"{prefix}.v{v}", ch[v], h)
                kernel = {"conv3x3": 9, "conv1x1": 1}.get(op, 0)
                macs = g.batch * h * h * ch[v] * ch[v] * kernel
                params = kernel * ch[v] * ch[v] + 2 * ch[v] if kernel else 0
                g.add(f"{prefix}.v{v}", op, f"c{ch[v]}_r{h}", (acc,), out, macs, params)
                t.append(out)
            x, c_in = t[-1], c
    g.pool_classifier(x, c, h, num_classes)
