"""Mobile macro space of MBConv networks (once-for-all / ProxylessNAS / FBNet style).

The skeleton is the once-for-all MobileNetV3 space (Cai et al., "Once-for-All: Train One Network
and Specialize it for Efficient Deployment", ICLR 2020), built from the inverted-residual MBConv
block of MobileNetV2 (Sandler et al., CVPR 2018) with squeeze-and-excitation and h-swish from
MobileNetV3 (Howard et al., ICCV 2019); ProxylessNAS (Cai et al., ICLR 2019) and FBNet (Wu et al.,
CVPR 2019) search the same per-layer kernel/expansion choices::

    stem      conv3x3 s2 (3 -> 16) + BN + h-swish, then MBConv1 3x3 (16 -> 16, residual)
    stage 1-5 depth ∈ {2,3,4} MBConv layers; width 24/40/80/112/160, first stride 2/2/2/1/2,
              ReLU/ReLU/h-swish/h-swish/h-swish, SE in stages 2, 4, 5
              each layer: kernel ∈ {3,5,7}, expand ratio ∈ {3,4,6}
    head      conv1x1 160 -> 960 + BN + h-swish, global pool, conv1x1 960 -> 1280 + h-swish, linear
    input     resolution ∈ {128, 160, 192, 224}

Genes: ``res``, ``depth1..5``, then ``s{stage}.l{layer}.k`` / ``.e`` for 4 layer slots per stage.
Slots past a stage's depth are set to 0 (:meth:`MobileSpace.canonicalize`), so equal networks are
equal values. The canonical string lists the resolution and each stage's layers, e.g.
``r192|k3e4-k5e6|k3e3-k3e3-k5e4|k7e6-k7e6|k3e4-k3e4-k3e4-k3e4|k5e6-k5e6``.

Encodings: ``onehot`` (every gene, dead slots included as their canonical 0), ``layers`` (the
once-for-all accuracy-predictor style: one-hot resolution and, per layer slot, one-hot kernel and
expansion, all zero for a skipped slot) and ``numeric`` (resolution, depths, kernels, expansions as
numbers, 0 for skipped slots).

No accuracy table exists for this space; its default evaluator ``mobile-fmnist``
(:mod:`hynas.evaluators.vision`) trains the built networks briefly on Fashion-MNIST, and the cost
objectives (params, FLOPs, latency) come from :mod:`hynas.hw`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.core.space import Dim, SearchSpace, SpaceDefaults
from hynas.models.mobile_config import (
    FEATURE_MIX,
    FINAL_EXPAND,
    STAGES,
    STEM_WIDTH,
    MBBlock,
    MobileConfig,
    make_divisible,
)

if TYPE_CHECKING:
    from hynas.core.opgraph import OpGraph

#: the network's description lives in :mod:`hynas.models.mobile_config`; its names are re-exported here
__all__ = [
    "FEATURE_MIX",
    "FINAL_EXPAND",
    "STAGES",
    "STEM_WIDTH",
    "MBBlock",
    "MobileConfig",
    "MobileSpace",
    "make_divisible",
]

_STAGE_RE = re.compile(r"k(\d+)e(\d+)")
_HINT = "expected e.g. 'r192|k3e4-k5e6|k3e3-k3e3-k5e4|k7e6-k7e6|k3e4-k3e4-k3e4-k3e4|k5e6-k5e6'"


class MobileSpace(SearchSpace):
    """Mobile MBConv macro space: kernel 3/5/7, expand 3/4/6, depth 2-4 × 5 stages, resolution."""

    name = "mobile"
    defaults = SpaceDefaults("mobile-fmnist", "fashion-mnist", ("accuracy", "latency@roofline:raspi4"))

    def __init__(
        self,
        resolutions: tuple[int, ...] = (128, 160, 192, 224),
        kernels: tuple[int, ...] = (3, 5, 7),
        expands: tuple[int, ...] = (3, 4, 6),
        depths: tuple[int, ...] = (2, 3, 4),
        num_classes: int = 1000,
    ) -> None:
        for fname, values in (("resolutions", resolutions), ("kernels", kernels), ("expands", expands)):
            if not values or any(int(v) < 1 for v in values):
                raise HynasError(
                    f"mobile: {fname} must be a non-empty list of positive integers, got {values}"
                )
        if any(k % 2 == 0 for k in kernels):
            raise HynasError(f"mobile: kernels must be odd (same padding), got {kernels}")
        if not depths or any(not 1 <= d <= 8 for d in depths):
            raise HynasError(f"mobile: depths must lie in 1..8, got {depths}")
        if num_classes < 1:
            raise HynasError(f"mobile: num_classes must be >= 1, got {num_classes}")
        self.resolutions = tuple(int(r) for r in resolutions)
        self.kernels, self.expands = tuple(int(k) for k in kernels), tuple(int(e) for e in expands)
        self.depths = tuple(int(d) for d in depths)
        self.num_classes = int(num_classes)
        self.max_depth = max(self.depths)
        dims = [Dim("res", self.resolutions)]
        dims += [Dim(f"depth{s + 1}", self.depths) for s in range(len(STAGES))]
        for s in range(len(STAGES)):
            for layer in range(self.max_depth):
                dims += [Dim(f"s{s + 1}.l{layer}.k", self.kernels), Dim(f"s{s + 1}.l{layer}.e", self.expands)]
        self.dims = tuple(dims)

    def size(self) -> int:
        per_stage = sum((len(self.kernels) * len(self.expands)) ** d for d in self.depths)
        return len(self.resolutions) * per_stage ** len(STAGES)

    # -- genes <-> structure ---------------------------------------------------------------------
    def _slot(self, stage: int, layer: int) -> int:
        """Gene index of the kernel of ``layer`` in ``stage`` (the expansion follows it)."""
        return 1 + len(STAGES) + 2 * (stage * self.max_depth + layer)

    def canonicalize(self, genes: tuple[int, ...]) -> tuple[int, ...]:
        g = list(genes)
        for s in range(len(STAGES)):
            depth = self.depths[g[1 + s]]
            for layer in range(depth, self.max_depth):
                i = self._slot(s, layer)
                g[i] = g[i + 1] = 0
        return tuple(g)

    def stage_layers(self, arch: Architecture) -> list[list[tuple[int, int]]]:
        """Per stage, the (kernel, expand) of each present layer."""
        g = arch.genes
        out = []
        for s in range(len(STAGES)):
            depth = self.depths[g[1 + s]]
            out.append(
                [
                    (self.kernels[g[self._slot(s, i)]], self.expands[g[self._slot(s, i) + 1]])
                    for i in range(depth)
                ]
            )
        return out

    def config(self, arch: Architecture) -> MobileConfig:
        """The :class:`MobileConfig` of ``arch``: what both the model builder and the cost models read."""
        self.validate(arch)
        blocks = [MBBlock(STEM_WIDTH, STEM_WIDTH, 3, 1, 1, "relu", False)]
        c = STEM_WIDTH
        for (width, stride, act, se), layers in zip(STAGES, self.stage_layers(arch), strict=True):
            for i, (k, e) in enumerate(layers):
                blocks.append(MBBlock(c, width, k, e, stride if i == 0 else 1, act, se))
                c = width
        return MobileConfig(self.resolutions[arch.genes[0]], tuple(blocks), num_classes=self.num_classes)

    # -- identity --------------------------------------------------------------------------------
    def format(self, arch: Architecture) -> str:
        stages = ["-".join(f"k{k}e{e}" for k, e in layers) for layers in self.stage_layers(arch)]
        return f"r{self.resolutions[arch.genes[0]]}|" + "|".join(stages)

    def parse(self, text: str) -> Architecture:
        parts = text.strip().split("|")
        if len(parts) != 1 + len(STAGES) or not parts[0].startswith("r"):
            raise HynasError(f"malformed mobile arch {text!r}: need r<RES> and {len(STAGES)} stages; {_HINT}")

        def index(fname: str, choices: tuple[int, ...], raw: str) -> int:
            try:
                value = int(raw)
            except ValueError:
                raise HynasError(f"malformed mobile arch {text!r}: {fname} {raw!r} is not a number") from None
            if value not in choices:
                raise HynasError(
                    f"mobile arch {text!r}: {fname}={value} is not a choice; valid: {', '.join(map(str, choices))}"
                )
            return choices.index(value)

        genes = [0] * len(self.dims)
        genes[0] = index("resolution", self.resolutions, parts[0][1:])
        for s, stage in enumerate(parts[1:]):
            layers = stage.split("-") if stage else []
            genes[1 + s] = index(f"stage {s + 1} depth", self.depths, str(len(layers)))
            for i, layer in enumerate(layers):
                m = _STAGE_RE.fullmatch(layer)
                if not m:
                    raise HynasError(
                        f"malformed mobile arch {text!r}: bad layer {layer!r} in stage {s + 1}; {_HINT}"
                    )
                genes[self._slot(s, i)] = index("kernel", self.kernels, m.group(1))
                genes[self._slot(s, i) + 1] = index("expand", self.expands, m.group(2))
        return Architecture(self.name, tuple(genes))

    # -- encodings -------------------------------------------------------------------------------
    def encode_layers(self, arch: Architecture) -> np.ndarray:
        """Once-for-all predictor style: one-hot resolution + per slot one-hot (kernel, expand), zero if absent."""
        nk, ne = len(self.kernels), len(self.expands)
        parts = [np.eye(len(self.resolutions), dtype=np.float32)[arch.genes[0]]]
        g = arch.genes
        for s in range(len(STAGES)):
            depth = self.depths[g[1 + s]]
            for i in range(self.max_depth):
                slot = np.zeros(nk + ne, dtype=np.float32)
                if i < depth:
                    slot[g[self._slot(s, i)]] = 1.0
                    slot[nk + g[self._slot(s, i) + 1]] = 1.0
                parts.append(slot)
        return np.concatenate(parts)

    def encode_numeric(self, arch: Architecture) -> np.ndarray:
        """Resolution, the 5 depths, then per slot (kernel, expand), 0 for skipped slots."""
        vec: list[float] = [float(self.resolutions[arch.genes[0]])]
        vec += [float(self.depths[arch.genes[1 + s]]) for s in range(len(STAGES))]
        layers = self.stage_layers(arch)
        for s in range(len(STAGES)):
            for i in range(self.max_depth):
                k, e = layers[s][i] if i < len(layers[s]) else (0, 0)
                vec += [float(k), float(e)]
        return np.asarray(vec, dtype=np.float32)

    # -- models ----------------------------------------------------------------------------------
    def build(self, arch: Architecture, **kwargs: Any) -> Any:
        from hynas.models.mobile import build_mobile

        return build_mobile(self.config(arch), **kwargs)

    # -- facts for cost models (hynas.spaces.mobile_costs) --------------------------------------------
    def op_graph(
        self,
        arch: Architecture,
        batch: int = 1,
        dtype_bytes: int = 4,
        resolution: int | None = None,
        **options: Any,
    ) -> OpGraph:
        """The network's operators (one ``mbconv`` per block); option ``num_classes``."""
        from hynas.core.opgraph import OpGraph
        from hynas.spaces.mobile_costs import op_graph

        g = OpGraph(batch, dtype_bytes)
        op_graph(g, self, arch, resolution, **options)
        return g

    def input_shape(
        self, arch: Architecture, batch: int = 1, resolution: int | None = None
    ) -> tuple[int, ...]:
        """Images at the architecture's own resolution unless ``resolution`` overrides it."""
        r = resolution or self.resolutions[arch.genes[0]]
        return (int(batch), 3, int(r), int(r))

    def lut_networks(self) -> list[Architecture]:
        from hynas.spaces.mobile_costs import lut_networks

        return lut_networks(self)

    def lut_modules(self, arch: Architecture, model: Any) -> dict[str, Any]:
        from hynas.spaces.mobile_costs import lut_modules

        return lut_modules(model)

    def lut_standalone(self, name: str, outputs: Mapping[str, tuple[int, ...]]) -> Callable[[], Any] | None:
        from hynas.spaces.mobile_costs import lut_standalone

        return lut_standalone(name, outputs)
