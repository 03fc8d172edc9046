"""The elastic MobileNet: one weight-sharing network that runs every architecture of ``mobile``.

Once-for-all (Cai et al., "Once-for-All: Train One Network and Specialize it for Efficient
Deployment", ICLR 2020) trains one network that holds the largest architecture of the space and
runs any smaller one by using part of its weights; BigNAS (Yu et al., "BigNAS: Scaling up Neural
Architecture Search with Big Single-Stage Models", ECCV 2020) trains the same kind of network in
one stage. :class:`ElasticMobileNet` is that network for :class:`~hynas.spaces.mobile.MobileSpace`:

- **kernel**: each depthwise convolution stores the largest kernel (7×7); 5×5 and 3×3 are its
  centre after learned kernel transformations (:class:`~hynas.supernets.elastic.DynamicDepthwiseConv`);
- **expand ratio**: each block stores the widest expansion (6×); a ratio ``e`` uses the first
  ``make_divisible(c_in·e)`` expanded channels, and squeeze-excite the first ``MBBlock.c_se``
  reduced ones; :meth:`ElasticMobileNet.reorganize_channels` puts the important channels first;
- **depth**: each stage stores 4 blocks and runs the first ``d``;
- **resolution**: the input is resized (bilinear) to ``resolution × resolution_scale`` pixels of
  the active architecture when it has another size.

The stem, the first MBConv1 block and the head are the static modules of
:class:`~hynas.models.mobile.MobileNet`. :func:`hynas.supernets.extract.extract` copies the active
part into the network that ``space.build(arch)`` gives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.models.mobile import MBConv, SqueezeExcite, activation
from hynas.spaces.mobile import (
    FEATURE_MIX,
    FINAL_EXPAND,
    STAGES,
    STEM_WIDTH,
    MBBlock,
    MobileSpace,
    make_divisible,
)
from hynas.supernets.elastic import (
    DynamicBatchNorm2d,
    DynamicDepthwiseConv,
    DynamicPointwiseConv,
    DynamicSqueezeExcite,
    channel_order,
)

__all__ = ["ElasticMBConv", "ElasticMobileConfig", "ElasticMobileNet"]


@dataclass(frozen=True)
class ElasticMobileConfig:
    """Options of the supernet beyond the space: head size and training-resolution scale.

    ``resolution_scale`` maps an architecture's resolution to the pixels the supernet runs at
    (0.25: 32–56 px for 128–224, as the ``mobile-fmnist`` evaluator trains).
    """

    num_classes: int = 1000
    resolution_scale: float = 1.0

    def __post_init__(self) -> None:
        if (
            isinstance(self.num_classes, bool)
            or not isinstance(self.num_classes, int)
            or self.num_classes < 1
        ):
            raise HynasError(f"supernet num_classes must be a whole number >= 1, got {self.num_classes!r}")
        if not 0 < float(self.resolution_scale) <= 2:
            raise HynasError(f"supernet resolution_scale must lie in (0, 2], got {self.resolution_scale!r}")


class ElasticMBConv(nn.Module):
    """An MBConv block of the largest kernel and expansion; runs ``(kernel, expand)`` slices of it."""

    def __init__(
        self,
        c_in: int,
        c_out: int,
        stride: int,
        act: str,
        se: bool,
        kernels: tuple[int, ...],
        expands: tuple[int, ...],
    ) -> None:
        super().__init__()
        self.c_in, self.c_out, self.stride, self.act, self.se_on = c_in, c_out, stride, act, se
        self.kernels, self.expands = tuple(sorted(kernels)), tuple(sorted(expands))
        if min(self.expands) < 2:
            raise HynasError(f"elastic MBConv needs expand ratios >= 2, got {expands}")
        c_max = self.mid_channels(self.expands[-1])
        self.expand = DynamicPointwiseConv(c_in, c_max)
        self.expand_bn = DynamicBatchNorm2d(c_max)
        self.depthwise = DynamicDepthwiseConv(c_max, self.kernels, stride)
        self.depthwise_bn = DynamicBatchNorm2d(c_max)
        self.se = DynamicSqueezeExcite(c_max) if se else None
        self.project = DynamicPointwiseConv(c_max, c_out)
        self.project_bn = nn.BatchNorm2d(c_out)
        self.act_fn = activation(act)
        self.active_kernel, self.active_expand = self.kernels[-1], self.expands[-1]

    def mid_channels(self, expand: int) -> int:
        return make_divisible(self.c_in * expand)

    @property
    def residual(self) -> bool:
        return self.stride == 1 and self.c_in == self.c_out

    def set_active(self, kernel: int, expand: int) -> None:
        if kernel not in self.kernels or expand not in self.expands:
            raise HynasError(
                f"block choice k{kernel}e{expand} is not in the supernet (kernels {self.kernels}, expands {self.expands})"
            )
        self.active_kernel, self.active_expand = kernel, expand

    def config(self) -> MBBlock:
        """The static block the active choice is."""
        return MBBlock(
            self.c_in, self.c_out, self.active_kernel, self.active_expand, self.stride, self.act, self.se_on
        )

    def forward(self, x: Tensor) -> Tensor:
        c = self.mid_channels(self.active_expand)
        y = self.act_fn(self.expand_bn(self.expand(x, c)))
        y = self.act_fn(self.depthwise_bn(self.depthwise(y, self.active_kernel)))
        if self.se is not None:
            y = self.se(y)
        y = self.project_bn(self.project(y, self.c_out))
        return x + y if self.residual else y

    @torch.no_grad()
    def export(self, into: MBConv | None = None) -> MBConv:
        """The static :class:`MBConv` of the active choice, with the active weights copied in.

        ``into``: an ``MBConv`` of the active choice (built on any device, e.g. ``meta``) to fill
        instead of building one.
        """
        b = self.config()
        if into is None:
            with torch.device("meta"):  # no random initialisation: every tensor is loaded below
                into = MBConv(b)
        block = into
        block.to_empty(device=self.project_bn.weight.device)
        c = b.c_mid
        convs = [m for m in block.body if isinstance(m, nn.Conv2d)]
        bns = [m for m in block.body if isinstance(m, nn.BatchNorm2d)]
        ses = [m for m in block.body if isinstance(m, SqueezeExcite)]
        weights = (
            self.expand.active_weight(self.c_in, c),
            self.depthwise.active_weight(c, b.kernel),
            self.project.active_weight(c, self.c_out),
        )
        for conv, w in zip(convs, weights, strict=True):
            conv.load_state_dict({"weight": w})
        states = (
            self.expand_bn.active_state(c),
            self.depthwise_bn.active_state(c),
            self.project_bn.state_dict(),
        )
        for bn, state in zip(bns, states, strict=True):
            bn.load_state_dict(state)
        if self.se is not None:
            ses[0].load_state_dict(self.se.active_state(c))
        return block

    @torch.no_grad()
    def reorganize_channels(self) -> None:
        """Sort expanded channels by the L1 norm of their projection weights (once-for-all's
        importance), most important first; the largest block computes the same function."""
        if self.se is not None:
            self.se.sort_mid_()
        order = channel_order(self.project.conv.weight.abs().sum((0, 2, 3)))
        w = self.expand.conv.weight
        w.copy_(w[order])
        self.expand_bn.permute_(order)
        d = self.depthwise.conv.weight
        d.copy_(d[order])
        self.depthwise_bn.permute_(order)
        if self.se is not None:
            self.se.permute_channels_(order)
        p = self.project.conv.weight
        p.copy_(p[:, order])


class ElasticMobileNet(nn.Module):
    """The largest network of a :class:`MobileSpace`; :meth:`set_active` picks the sub-network."""

    def __init__(self, space: MobileSpace | None = None, config: ElasticMobileConfig | None = None) -> None:
        super().__init__()
        if space is None:
            from hynas.spaces import get_space

            space = get_space("mobile")  # type: ignore[assignment]
        if not isinstance(space, MobileSpace):
            raise HynasError(f"ElasticMobileNet needs a mobile space, got {type(space).__name__}")
        self.space = space
        self.config = config or ElasticMobileConfig()
        stem = STEM_WIDTH
        first = MBBlock(stem, stem, 3, 1, 1, "relu", False)
        self.stem = nn.Sequential(
            nn.Conv2d(3, stem, 3, 2, 1, bias=False), nn.BatchNorm2d(stem), nn.Hardswish()
        )
        self.first_block = MBConv(first)
        stages: list[nn.ModuleList] = []
        c = stem
        for width, stride, act, se in STAGES:
            blocks = [
                ElasticMBConv(
                    c if i == 0 else width,
                    width,
                    stride if i == 0 else 1,
                    act,
                    se,
                    space.kernels,
                    space.expands,
                )
                for i in range(space.max_depth)
            ]
            stages.append(nn.ModuleList(blocks))
            c = width
        self.stages = nn.ModuleList(stages)
        final, mix = FINAL_EXPAND, FEATURE_MIX
        self.final_expand = nn.Sequential(
            nn.Conv2d(c, final, 1, bias=False), nn.BatchNorm2d(final), nn.Hardswish()
        )
        self.feature_mix = nn.Sequential(nn.Conv2d(final, mix, 1, bias=False), nn.Hardswish())
        self.classifier = nn.Linear(mix, self.config.num_classes)
        self.active_depths = [space.max_depth] * len(STAGES)
        self.active_resolution = max(space.resolutions)

    # -- the active sub-network -------------------------------------------------------------------
    def largest(self) -> Architecture:
        """The space's largest architecture: the network this supernet stores."""
        s = self.space
        layer = f"k{max(s.kernels)}e{max(s.expands)}"
        depth = max(s.depths)
        return s.parse(f"r{max(s.resolutions)}|" + "|".join("-".join([layer] * depth) for _ in STAGES))

    def smallest(self) -> Architecture:
        s = self.space
        layer = f"k{min(s.kernels)}e{min(s.expands)}"
        depth = min(s.depths)
        return s.parse(f"r{min(s.resolutions)}|" + "|".join("-".join([layer] * depth) for _ in STAGES))

    def set_active(self, arch: Architecture) -> None:
        """Run ``arch`` from now on (an architecture of this supernet's space)."""
        if arch.space != self.space.name:
            raise HynasError(f"the mobile supernet runs architectures of space 'mobile', not {arch.space!r}")
        self.space.validate(arch)
        for s, layers in enumerate(self.space.stage_layers(arch)):
            self.active_depths[s] = len(layers)
            for block, (k, e) in zip(self.stage_blocks(s), layers, strict=False):
                block.set_active(k, e)
        self.active_resolution = self.space.resolutions[arch.genes[0]]

    def stage_blocks(self, stage: int) -> list[ElasticMBConv]:
        """All elastic blocks of ``stage`` (0-based), the inactive ones included."""
        return [cast(ElasticMBConv, b) for b in cast(nn.ModuleList, self.stages[stage])]

    def active_blocks(self) -> list[ElasticMBConv]:
        """The elastic blocks the active architecture runs, in order."""
        return [b for s, d in enumerate(self.active_depths) for b in self.stage_blocks(s)[:d]]

    def input_size(self) -> int:
        """Side of the square input the active architecture runs at."""
        return max(1, round(self.active_resolution * self.config.resolution_scale))

    def forward(self, x: Tensor, arch: Architecture | None = None) -> Tensor:
        if arch is not None:
            self.set_active(arch)
        size = self.input_size()
        if x.shape[-2:] != (size, size):
            x = F.interpolate(
                x, size=(size, size), mode="bilinear", align_corners=False, antialias=size < x.shape[-1]
            )
        x = self.first_block(self.stem(x))
        for block in self.active_blocks():
            x = block(x)
        x = self.final_expand(x)
        x = self.feature_mix(x.mean((2, 3), keepdim=True))
        return self.classifier(torch.flatten(x, 1))

    @torch.no_grad()
    def reorganize_channels(self) -> None:
        """Sort every block's expanded channels by importance (the largest network is unchanged).

        Call it before a phase that shrinks the expand ratio, and build the optimiser afterwards:
        per-parameter optimiser state is not permuted.
        """
        for s in range(len(self.stages)):
            for block in self.stage_blocks(s):
                block.reorganize_channels()
