"""The description of one mobile network: its MBConv blocks and head widths (no torch).

The once-for-all MobileNetV3 skeleton (Cai et al., "Once-for-All", ICLR 2020): the stages' widths,
strides, activations and squeeze-excite, and the :class:`MobileConfig` a
:class:`~hynas.spaces.mobile.MobileSpace` architecture decodes to. The network
(:mod:`hynas.models.mobile`), its operator graph (:mod:`hynas.spaces.mobile_costs`) and the
supernet read the same object.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FEATURE_MIX", "FINAL_EXPAND", "STAGES", "STEM_WIDTH", "MBBlock", "MobileConfig", "make_divisible"]

#: the once-for-all MobileNetV3 stages: (width, first stride, activation, squeeze-excite)
STAGES: tuple[tuple[int, int, str, bool], ...] = (
    (24, 2, "relu", False),
    (40, 2, "relu", True),
    (80, 2, "hswish", False),
    (112, 1, "hswish", True),
    (160, 2, "hswish", True),
)
STEM_WIDTH = 16
FINAL_EXPAND = 960
FEATURE_MIX = 1280


def make_divisible(v: float, divisor: int = 8) -> int:
    """Round channels to a multiple of ``divisor``, never below 90% of ``v`` (MobileNet rule)."""
    new = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new < 0.9 * v:
        new += divisor
    return new


@dataclass(frozen=True)
class MBBlock:
    """One inverted-residual block: 1x1 expand (skipped when expand=1), k×k depthwise, SE, 1x1 project."""

    c_in: int
    c_out: int
    kernel: int
    expand: int
    stride: int
    act: str
    se: bool

    @property
    def c_mid(self) -> int:
        return make_divisible(self.c_in * self.expand) if self.expand != 1 else self.c_in

    @property
    def c_se(self) -> int:
        return make_divisible(self.c_mid // 4)

    @property
    def residual(self) -> bool:
        return self.stride == 1 and self.c_in == self.c_out

    def key(self) -> str:
        """Shape key without the input size (the lookup table adds it)."""
        return (
            f"i{self.c_in}_o{self.c_out}_k{self.kernel}_e{self.expand}_s{self.stride}_"
            f"{self.act}{'_se' if self.se else ''}"
        )


@dataclass(frozen=True)
class MobileConfig:
    """A whole mobile network: input resolution and the ordered MBConv blocks after the stem."""

    resolution: int
    blocks: tuple[MBBlock, ...]
    stem: int = STEM_WIDTH
    final_expand: int = FINAL_EXPAND
    feature_mix: int = FEATURE_MIX
    num_classes: int = 1000
