"""MBConv mobile networks for :class:`~hynas.models.mobile_config.MobileConfig` descriptions (what a
:class:`hynas.spaces.mobile.MobileSpace` architecture decodes to), in plain PyTorch.

Inverted residual blocks (Sandler et al., "MobileNetV2", CVPR 2018) with squeeze-and-excitation and
h-swish (Howard et al., "Searching for MobileNetV3", ICCV 2019), arranged as the once-for-all
MobileNetV3 network (Cai et al., "Once-for-All", ICLR 2020). The stem, the blocks and the head are
read from a :class:`~hynas.models.mobile_config.MobileConfig`, the same object the analytic cost model reads.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from hynas.core.errors import HynasError
from hynas.models.mobile_config import MBBlock, MobileConfig

__all__ = ["MBConv", "MobileNet", "SqueezeExcite", "build_mobile"]


def activation(name: str) -> nn.Module:
    if name == "relu":
        return nn.ReLU()
    if name == "hswish":
        return nn.Hardswish()
    raise HynasError(f"unknown activation {name!r}; valid: relu, hswish")


class SqueezeExcite(nn.Module):
    """Channel attention: global pool, 1x1 reduce + ReLU, 1x1 expand + h-sigmoid, rescale."""

    def __init__(self, channels: int, mid: int) -> None:
        super().__init__()
        self.reduce = nn.Conv2d(channels, mid, 1)
        self.expand = nn.Conv2d(mid, channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        s = x.mean((2, 3), keepdim=True)
        s = nn.functional.hardsigmoid(self.expand(nn.functional.relu(self.reduce(s))))
        return x * s


class MBConv(nn.Module):
    """1x1 expand + BN + act (when expand > 1), k×k depthwise + BN + act, SE, 1x1 project + BN, residual."""

    def __init__(self, b: MBBlock) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        if b.expand != 1:
            layers += [nn.Conv2d(b.c_in, b.c_mid, 1, bias=False), nn.BatchNorm2d(b.c_mid), activation(b.act)]
        layers += [
            nn.Conv2d(b.c_mid, b.c_mid, b.kernel, b.stride, b.kernel // 2, groups=b.c_mid, bias=False),
            nn.BatchNorm2d(b.c_mid),
            activation(b.act),
        ]
        if b.se:
            layers.append(SqueezeExcite(b.c_mid, b.c_se))
        layers += [nn.Conv2d(b.c_mid, b.c_out, 1, bias=False), nn.BatchNorm2d(b.c_out)]
        self.body = nn.Sequential(*layers)
        self.residual = b.residual

    def forward(self, x: Tensor) -> Tensor:
        y = self.body(x)
        return x + y if self.residual else y


class MobileNet(nn.Module):
    """Stem conv, MBConv blocks, final 1x1 expand, global pool, 1x1 feature mix, linear classifier."""

    def __init__(self, cfg: MobileConfig) -> None:
        super().__init__()
        self.resolution = cfg.resolution
        self.stem = nn.Sequential(
            nn.Conv2d(3, cfg.stem, 3, 2, 1, bias=False), nn.BatchNorm2d(cfg.stem), nn.Hardswish()
        )
        self.blocks = nn.Sequential(*(MBConv(b) for b in cfg.blocks))
        c_last = cfg.blocks[-1].c_out
        self.final_expand = nn.Sequential(
            nn.Conv2d(c_last, cfg.final_expand, 1, bias=False),
            nn.BatchNorm2d(cfg.final_expand),
            nn.Hardswish(),
        )
        self.feature_mix = nn.Sequential(
            nn.Conv2d(cfg.final_expand, cfg.feature_mix, 1, bias=False), nn.Hardswish()
        )
        self.classifier = nn.Linear(cfg.feature_mix, cfg.num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.final_expand(self.blocks(self.stem(x)))
        x = self.feature_mix(x.mean((2, 3), keepdim=True))
        return self.classifier(torch.flatten(x, 1))


def build_mobile(cfg: MobileConfig, num_classes: int | None = None) -> nn.Module:
    """The network of ``cfg``; ``num_classes`` overrides the configuration's head size."""
    if num_classes is not None:
        if int(num_classes) < 1:
            raise HynasError(f"build_mobile: num_classes must be >= 1, got {num_classes}")
        from dataclasses import replace

        cfg = replace(cfg, num_classes=int(num_classes))
    return MobileNet(cfg)
