"""What the mobile space provides to cost models (see :mod:`hynas.core.space`).

The operator graph of the MobileNetV3-style network :mod:`hynas.models.mobile` builds (one fused
``mbconv`` operator per block), the covering networks and module map of its latency lookup table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

from hynas.core.arch import Architecture
from hynas.core.opgraph import OpGraph, conv_out
from hynas.models.mobile_config import STAGES

if TYPE_CHECKING:
    from hynas.spaces.mobile import MobileSpace

__all__ = ["lut_modules", "lut_networks", "lut_standalone", "op_graph"]


def op_graph(
    g: OpGraph, space: MobileSpace, arch: Architecture, resolution: int | None, num_classes: int | None = None
) -> None:
    """Fill ``g`` with the operators of the mobile network of ``arch``."""
    cfg = space.config(arch)
    h = resolution or cfg.resolution
    classes = num_classes or cfg.num_classes
    x = g.fmap("input", 3, h)
    ho = conv_out(h, 3, 2)
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
        ho = conv_out(h, b.kernel, b.stride)
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


# -- latency lookup table ---------------------------------------------------------------------------


def lut_networks(space: MobileSpace) -> list[Architecture]:
    """Deepest networks at every resolution with one kernel and one expansion everywhere: every
    block shape of the space appears in one of them."""
    deepest = space.depths.index(max(space.depths))
    out = []
    for r in range(len(space.resolutions)):
        for k in range(len(space.kernels)):
            for e in range(len(space.expands)):
                genes = [r] + [deepest] * len(STAGES) + [k, e] * (len(STAGES) * space.max_depth)
                out.append(space.make(genes))
    return out


def lut_modules(model: Any) -> dict[str, Any]:
    """Operator name (as in :func:`op_graph`) -> the module of the built mobile ``model`` that runs it."""
    out: dict[str, Any] = {"stem": model.stem}
    for i, b in enumerate(model.blocks):
        out[f"block{i}"] = b
    out["final_expand"], out["feature_mix"], out["classifier"] = (
        model.final_expand,
        model.feature_mix,
        model.classifier,
    )
    return out


def lut_standalone(name: str, outputs: Mapping[str, tuple[int, ...]]) -> Callable[[], Any] | None:
    """The global pool (a function in the model, no module), timed alone on the final features."""
    if name != "pool":
        return None
    import torch

    return partial(torch.mean, torch.randn(outputs["final_expand"]), (2, 3), keepdim=True)
