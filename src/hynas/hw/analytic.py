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

Spaces: every space that provides ``op_graph`` (:mod:`hynas.core.space`; nb201, mobile and ecnas
describe their networks in ``hynas/spaces/<space>_costs.py``); a language-model space (one that
provides ``lm_config``) gets its rows from :mod:`hynas.hw.lm_costs` (prefill of the space's context;
``resolution`` then means the number of tokens).

Constant folding (``arch_ops(..., fold_constants=True)``): what a graph compiler such as the TFLite
converter runs. A ``none`` operator (NB201's zero edge) yields a constant zero map; an operator
whose inputs are all constant is folded away; an ``add`` of a constant zero passes its other input
on; an operator whose result never reaches the network output is removed. A network whose output does
not depend on its input (an NB201 cell with no input-to-output path) keeps no operator at all.
"""

from __future__ import annotations

from typing import Any, NoReturn

from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.core.opgraph import GraphOp, OpGraph
from hynas.core.space import SearchSpace
from hynas.hw.devices import Device
from hynas.hw.ops import OpCost, total

__all__ = ["analytic_costs", "arch_latency", "arch_ops", "folded", "input_shape"]


def _space(arch: Architecture) -> SearchSpace:
    from hynas.spaces import SPACES, get_space

    if arch.space not in SPACES.names():
        _unsupported(arch.space, "it is not a registered space")
    return get_space(arch.space)


def _unsupported(name: str, why: str) -> NoReturn:
    from hynas.spaces import SPACES, get_space

    ok = [
        n for n in SPACES.names() if get_space(n).provides("op_graph") or get_space(n).provides("lm_config")
    ]
    raise HynasError(f"no analytic cost model for space {name!r} ({why}); supported spaces: {', '.join(ok)}")


def _lm_ops(
    space: SearchSpace, arch: Architecture, batch: int, dtype_bytes: int, context: int | None
) -> list[OpCost]:
    """Language-model prefill operators, from the long-context cost model (:mod:`hynas.hw.lm_costs`)."""
    from hynas.hw.lm_costs import prefill_ops

    dtypes = {4: "fp32", 2: "fp16"}
    if dtype_bytes not in dtypes:
        raise HynasError(f"{space.name} analytic costs: dtype_bytes must be 4 or 2, got {dtype_bytes}")
    space.validate(arch)
    return prefill_ops(
        space.lm_config(arch), context or space.sequence_length(arch), int(batch), dtypes[dtype_bytes]
    )


def _graph(
    space: SearchSpace,
    arch: Architecture,
    batch: int,
    dtype_bytes: int,
    resolution: int | None,
    **options: Any,
) -> OpGraph:
    if not space.provides("op_graph"):
        _unsupported(space.name, "it does not provide op_graph, see SearchSpace.op_graph")
    for fname, value in (("batch", batch), ("dtype_bytes", dtype_bytes)):
        if int(value) < 1:
            raise HynasError(f"analytic costs: {fname} must be >= 1, got {value}")
    if resolution is not None and int(resolution) < 1:
        raise HynasError(f"analytic costs: resolution must be >= 1, got {resolution}")
    space.validate(arch)
    try:
        return space.op_graph(arch, int(batch), int(dtype_bytes), resolution, **options)
    except TypeError as exc:
        raise HynasError(f"bad size options for {arch.space!r} analytic costs: {exc}") from None


def _is_lm(space: SearchSpace, options: dict[str, Any]) -> bool:
    return space.provides("lm_config") and not space.provides("op_graph") and not options


def folded(ops: list[GraphOp]) -> list[OpCost]:
    """The operators left after constant folding and dead-code elimination (module docstring)."""
    if not ops:
        return []
    const: set[str] = set()
    alias: dict[str, str] = {}  # output of an add of a zero -> the input it passes on
    kept: list[tuple[GraphOp, tuple[str, ...]]] = []
    for op in ops:
        ins = tuple(alias.get(t, t) for t in op.inputs)
        if op.cost.kind == "none" or all(t in const for t in ins):
            const.add(op.output)
            continue
        live = tuple(t for t in ins if t not in const)
        if op.cost.kind == "add" and len(live) == 1:
            alias[op.output] = live[0]
            continue
        kept.append((op, live))
    needed = {alias.get(ops[-1].output, ops[-1].output)}
    out: list[OpCost] = []
    for op, live in reversed(kept):
        if op.output in needed:
            out.append(op.cost)
            needed.update(live)
    return out[::-1]


def arch_ops(
    arch: Architecture,
    batch: int = 1,
    dtype_bytes: int = 4,
    resolution: int | None = None,
    *,
    fold_constants: bool = False,
    **options: Any,
) -> list[OpCost]:
    """The operators of ``arch``'s network in execution order, computed without building it.

    ``resolution`` overrides the input size (NB201 default 32; mobile: the architecture's own).
    ``options`` are the space's size options (NB201: ``C``, ``N``, ``num_classes``; mobile:
    ``num_classes``), passed to its ``op_graph``. ``fold_constants``: only the operators left after
    constant folding and dead-code elimination (module docstring; language models: no change).
    """
    space = _space(arch)
    if _is_lm(space, options):
        return _lm_ops(space, arch, batch, dtype_bytes, resolution)
    g = _graph(space, arch, batch, dtype_bytes, resolution, **options)
    return folded(g.ops) if fold_constants else g.costs()


def arch_latency(arch: Architecture, device: Device, dtype: str = "fp32") -> float:
    """Roofline seconds of the network of ``arch`` on ``device`` (:func:`~hynas.hw.roofline.roofline_latency`
    over the operators its toolchain runs: constants folded where ``device.fold_constants``)."""
    from hynas.hw.roofline import DTYPE_BYTES, roofline_latency

    ops = arch_ops(arch, dtype_bytes=DTYPE_BYTES.get(dtype, 4), fold_constants=device.fold_constants)
    return roofline_latency(ops, device, dtype)


def analytic_costs(
    arch: Architecture, batch: int = 1, dtype_bytes: int = 4, resolution: int | None = None, **options: Any
) -> dict[str, float]:
    """Params, FLOPs, MACs, bytes moved, peak activation bytes and operator count of ``arch``.

    For a language-model space (prefill of ``resolution`` or the space's context tokens) the peak
    activation memory is not modelled and the key is absent; params include the embeddings.
    """
    space = _space(arch)
    if _is_lm(space, options):
        from hynas.hw.lm_costs import lm_params

        ops = _lm_ops(space, arch, batch, dtype_bytes, resolution)
        f, b, _ = total(ops)
        return {
            "params": float(lm_params(space.lm_config(arch))),
            "flops": f,
            "macs": f / 2,
            "bytes": b,
            "n_ops": float(len(ops)),
        }
    g = _graph(space, arch, batch, dtype_bytes, resolution, **options)
    flops, nbytes, params = total(g.costs())
    return {
        "params": float(params),
        "flops": flops,
        "macs": flops / 2,
        "bytes": nbytes,
        "peak_activation_bytes": g.peak(),
        "n_ops": float(len(g.ops)),
    }


def input_shape(arch: Architecture, batch: int = 1, resolution: int | None = None) -> tuple[int, ...]:
    """The input shape the network of ``arch`` takes, e.g. (N, 3, H, W) (the space's ``input_shape``)."""
    space = _space(arch)
    if not space.provides("input_shape"):
        space.lacks("input_shape", "an image input shape")
    return space.input_shape(arch, batch, resolution)
