"""Analytic costs from the architecture alone: per-operator FLOPs, bytes and params, peak activations.

:func:`arch_ops` lists the operators of the network in execution order as :class:`OpCost` rows
(the row type every hardware cost model shares) without building a PyTorch model;
:func:`analytic_costs` sums them and adds the peak activation memory.

Conventions (the same as ``torch.utils.flop_counter.FlopCounterMode``, which the tests check
against the built models): FLOPs count the multiply-accumulates of convolutions and linear layers,
two FLOPs each; biases, normalisation, activations, pooling and additions count 0 FLOPs (they are
memory-bound and show up in ``bytes``). ``bytes`` is what each fused kernel (conv + BN + activation)
reads and writes: input and output feature maps and weights at ``dtype_bytes`` each. ``params``
counts trainable parameters (BatchNorm's affine weights included, running statistics excluded), so
it equals ``sum(p.numel() for p in model.parameters())``.

Peak activation memory follows the MCUNet convention (Lin et al., "MCUNet: Tiny Deep Learning on IoT
Devices", NeurIPS 2020): the network runs operator by operator, each tensor is freed after its last
use, a conv + BN + activation is one fused kernel, and the peak is the largest total size of feature
maps alive at once (inputs kept for residuals and cell nodes included, weights excluded).

Spaces: ``nb201``, ``mobile`` and ``ecnas`` (NAS-Bench-101 cells) here; ``hybrid-lm`` rows come from :mod:`hynas.hw.lm_costs`
(prefill of the space's context; ``resolution`` then means the number of tokens).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.hw.ops import OpCost, total

__all__ = ["SUPPORTED_SPACES", "analytic_costs", "arch_ops", "input_shape"]


@dataclass
class _Op:
    cost: OpCost
    inputs: tuple[str, ...]
    output: str
    work: float  # bytes of feature maps alive during the op (its inputs and output included)


@dataclass
class _Graph:
    """Accumulates operators and the feature maps between them (sizes in bytes)."""

    batch: int
    dtype_bytes: int
    ops: list[_Op] = field(default_factory=list)
    sizes: dict[str, float] = field(default_factory=dict)

    def fmap(self, name: str, c: int, h: int) -> str:
        self.sizes[name] = float(self.batch * c * h * h * self.dtype_bytes)
        return name

    def add(
        self,
        name: str,
        kind: str,
        shape: str,
        inputs: tuple[str, ...],
        output: str,
        macs: float = 0.0,
        params: int = 0,
        extra_bytes: float = 0.0,
        work: float | None = None,
    ) -> None:
        io = sum(self.sizes[t] for t in inputs) + self.sizes[output]
        nbytes = io + params * self.dtype_bytes + extra_bytes
        self.ops.append(
            _Op(
                OpCost(name, kind, shape, 2.0 * macs, nbytes, params),
                inputs,
                output,
                io if work is None else work,
            )
        )

    def peak(self) -> float:
        """Largest bytes of feature maps alive at once, each freed after its last use."""
        last: dict[str, int] = {}
        born: dict[str, int] = {}
        for k, op in enumerate(self.ops):
            for t in op.inputs:
                last[t] = k
            born.setdefault(op.output, k)
        final = self.ops[-1].output
        last[final] = len(self.ops)
        best = 0.0
        for k, op in enumerate(self.ops):
            held = sum(
                size
                for t, size in self.sizes.items()
                if t not in op.inputs and t != op.output and born.get(t, -1) < k < last.get(t, -1)
            )
            best = max(best, held + op.work)
        return best


def _conv_out(h: int, kernel: int, stride: int) -> int:
    return (h + 2 * (kernel // 2) - kernel) // stride + 1


# -- NAS-Bench-201 -------------------------------------------------------------------------------


def _nb201(
    g: _Graph, arch: Architecture, resolution: int | None, C: int = 16, N: int = 5, num_classes: int = 10
) -> None:
    from hynas.spaces.nb201 import EDGES, OPS

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
            ho = _conv_out(h, 3, 2)
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
    _pool_classifier(g, y, c, h, num_classes)


def _pool_classifier(g: _Graph, x: str, c: int, h: int, num_classes: int) -> None:
    """Global average pool of ``x`` (``c`` channels, ``h``×``h``) and the linear classifier."""
    p = g.fmap("pool", c, 1)
    g.add("pool", "global_avgpool", f"c{c}_r{h}", (x,), p)
    out = g.fmap("logits", num_classes, 1)
    g.add(
        "classifier",
        "linear",
        f"i{c}_o{num_classes}",
        (p,),
        out,
        g.batch * c * num_classes,
        c * num_classes + num_classes,
    )


# -- mobile ----------------------------------------------------------------------------------------


def _mobile(g: _Graph, arch: Architecture, resolution: int | None, num_classes: int | None = None) -> None:
    from hynas.spaces import get_space
    from hynas.spaces.mobile import MobileSpace

    space = get_space("mobile")
    assert isinstance(space, MobileSpace)
    cfg = space.config(arch)
    h = resolution or cfg.resolution
    classes = num_classes or cfg.num_classes
    x = g.fmap("input", 3, h)
    ho = _conv_out(h, 3, 2)
    y = g.fmap("stem", cfg.stem, ho)
    g.add(
        "stem",
        "stem_conv3x3_bn_hswish",
        f"i3_o{cfg.stem}_r{h}_s2",
        (x,),
        y,
        g.batch * ho * ho * cfg.stem * 27,
        27 * cfg.stem + 2 * cfg.stem,
    )
    x, h = y, ho
    d = g.dtype_bytes * g.batch
    for i, b in enumerate(cfg.blocks):
        ho = _conv_out(h, b.kernel, b.stride)
        name = f"block{i}"
        out = g.fmap(name, b.c_out, ho)
        mid_in, mid_out = d * b.c_mid * h * h, d * b.c_mid * ho * ho
        macs = g.batch * (ho * ho * b.c_mid * b.kernel**2 + ho * ho * b.c_mid * b.c_out)
        params = b.c_mid * b.kernel**2 + 2 * b.c_mid + b.c_mid * b.c_out + 2 * b.c_out
        extra: float = mid_out * 2  # depthwise output written, read by the projection
        work_steps = [g.sizes[x] + mid_out]  # depthwise: its input is x itself when expand = 1
        if b.expand != 1:
            macs += g.batch * h * h * b.c_in * b.c_mid
            params += b.c_in * b.c_mid + 2 * b.c_mid
            extra += mid_in * 2
            work_steps = [g.sizes[x] + mid_in, g.sizes[x] * b.residual + mid_in + mid_out]
        if b.se:
            macs += g.batch * 2 * b.c_mid * b.c_se
            params += 2 * b.c_mid * b.c_se + b.c_se + b.c_mid
            extra += mid_out * 3  # read for the pool, read and written by the rescale
            work_steps.append(g.sizes[x] * b.residual + 2 * mid_out)
        work_steps.append(g.sizes[x] * b.residual + mid_out + g.sizes[out])
        if b.residual:
            extra += 2 * g.sizes[out] + g.sizes[x]  # projection output written and read, input re-read
            work_steps.append(g.sizes[x] + 2 * g.sizes[out])
        g.add(
            name,
            "mbconv",
            f"{b.key()}_r{h}",
            (x,),
            out,
            macs,
            params,
            extra_bytes=extra,
            work=max(work_steps),
        )
        x, h = out, ho
    c = cfg.blocks[-1].c_out
    y = g.fmap("final_expand", cfg.final_expand, h)
    g.add(
        "final_expand",
        "conv1x1_bn_hswish",
        f"i{c}_o{cfg.final_expand}_r{h}",
        (x,),
        y,
        g.batch * h * h * c * cfg.final_expand,
        c * cfg.final_expand + 2 * cfg.final_expand,
    )
    p = g.fmap("pool", cfg.final_expand, 1)
    g.add("pool", "global_avgpool", f"c{cfg.final_expand}_r{h}", (y,), p)
    f = g.fmap("feature_mix", cfg.feature_mix, 1)
    g.add(
        "feature_mix",
        "conv1x1_hswish",
        f"i{cfg.final_expand}_o{cfg.feature_mix}_r1",
        (p,),
        f,
        g.batch * cfg.final_expand * cfg.feature_mix,
        cfg.final_expand * cfg.feature_mix,
    )
    out = g.fmap("logits", classes, 1)
    g.add(
        "classifier",
        "linear",
        f"i{cfg.feature_mix}_o{classes}",
        (f,),
        out,
        g.batch * cfg.feature_mix * classes,
        cfg.feature_mix * classes + classes,
    )


# -- EC-NAS (NAS-Bench-101 cells) -------------------------------------------------------------------


def _ecnas(
    g: _Graph,
    arch: Architecture,
    resolution: int | None,
    num_classes: int = 10,
    channels: int = 128,
    num_stacks: int = 3,
    cells_per_stack: int = 3,
) -> None:
    """The NAS-Bench-101 network (:mod:`hynas.models.ecnas`). A truncated input (the first channels of
    an interior vertex) is a view, not a kernel: the sum that reads it is charged its full size."""
    from hynas.spaces import get_space
    from hynas.spaces.ecnas import SHORT_OPS, ECNASSpace, vertex_channels

    space = get_space("ecnas")
    assert isinstance(space, ECNASSpace)
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
    _pool_classifier(g, x, c, h, num_classes)


_BUILDERS: dict[str, Callable[..., None]] = {"nb201": _nb201, "mobile": _mobile, "ecnas": _ecnas}
SUPPORTED_SPACES = (*_BUILDERS, "hybrid-lm")
_DEFAULT_RES = {"nb201": 32, "ecnas": 32}


def _lm_ops(arch: Architecture, batch: int, dtype_bytes: int, context: int | None) -> list[OpCost]:
    """Hybrid-LM prefill operators, from the long-context cost model (:mod:`hynas.hw.lm_costs`)."""
    from hynas.hw.lm_costs import prefill_ops
    from hynas.spaces import get_space
    from hynas.spaces.hybrid_lm import HybridLMSpace

    space = get_space("hybrid-lm")
    assert isinstance(space, HybridLMSpace)
    dtypes = {4: "fp32", 2: "fp16"}
    if dtype_bytes not in dtypes:
        raise HynasError(f"hybrid-lm analytic costs: dtype_bytes must be 4 or 2, got {dtype_bytes}")
    space.validate(arch)
    return prefill_ops(space.config(arch), context or space.context, int(batch), dtypes[dtype_bytes])


def _graph(
    arch: Architecture, batch: int, dtype_bytes: int, resolution: int | None, **options: Any
) -> _Graph:
    if arch.space not in _BUILDERS:
        raise HynasError(
            f"no analytic cost model for space {arch.space!r}; supported spaces: {', '.join(SUPPORTED_SPACES)}"
        )
    for fname, value in (("batch", batch), ("dtype_bytes", dtype_bytes)):
        if int(value) < 1:
            raise HynasError(f"analytic costs: {fname} must be >= 1, got {value}")
    if resolution is not None and int(resolution) < 1:
        raise HynasError(f"analytic costs: resolution must be >= 1, got {resolution}")
    from hynas.spaces import get_space

    get_space(arch.space).validate(arch)
    g = _Graph(int(batch), int(dtype_bytes))
    try:
        _BUILDERS[arch.space](g, arch, resolution, **options)
    except TypeError as exc:
        raise HynasError(f"bad size options for {arch.space!r} analytic costs: {exc}") from None
    return g


def arch_ops(
    arch: Architecture, batch: int = 1, dtype_bytes: int = 4, resolution: int | None = None, **options: Any
) -> list[OpCost]:
    """The operators of ``arch``'s network in execution order, computed without building it.

    ``resolution`` overrides the input size (NB201 default 32; mobile: the architecture's own).
    ``options`` are the builder's size options (NB201: ``C``, ``N``, ``num_classes``; mobile:
    ``num_classes``).
    """
    if arch.space == "hybrid-lm" and not options:
        return _lm_ops(arch, batch, dtype_bytes, resolution)
    return [op.cost for op in _graph(arch, batch, dtype_bytes, resolution, **options).ops]


def analytic_costs(
    arch: Architecture, batch: int = 1, dtype_bytes: int = 4, resolution: int | None = None, **options: Any
) -> dict[str, float]:
    """Params, FLOPs, MACs, bytes moved, peak activation bytes and operator count of ``arch``.

    For ``hybrid-lm`` (prefill of ``resolution`` or the space's context tokens) the peak activation
    memory is not modelled and the key is absent; params include the embeddings.
    """
    if arch.space == "hybrid-lm" and not options:
        from hynas.hw.lm_costs import lm_params
        from hynas.spaces import get_space

        ops = _lm_ops(arch, batch, dtype_bytes, resolution)
        f, b, _ = total(ops)
        cfg = get_space("hybrid-lm").config(arch)  # type: ignore[attr-defined]
        return {
            "params": float(lm_params(cfg)),
            "flops": f,
            "macs": f / 2,
            "bytes": b,
            "n_ops": float(len(ops)),
        }
    g = _graph(arch, batch, dtype_bytes, resolution, **options)
    flops, nbytes, params = total([op.cost for op in g.ops])
    return {
        "params": float(params),
        "flops": flops,
        "macs": flops / 2,
        "bytes": nbytes,
        "peak_activation_bytes": g.peak(),
        "n_ops": float(len(g.ops)),
    }


def input_shape(arch: Architecture, batch: int = 1, resolution: int | None = None) -> tuple[int, ...]:
    """The image input shape the network of ``arch`` takes (N, 3, H, W)."""
    if arch.space in _DEFAULT_RES:
        r = resolution or _DEFAULT_RES[arch.space]
    elif arch.space == "mobile":
        from hynas.spaces import get_space
        from hynas.spaces.mobile import MobileSpace

        space = get_space("mobile")
        assert isinstance(space, MobileSpace)
        r = resolution or space.resolutions[arch.genes[0]]
    else:
        raise HynasError(
            f"no image input shape for space {arch.space!r}; supported: {', '.join(SUPPORTED_SPACES)}"
        )
    return (int(batch), 3, int(r), int(r))
