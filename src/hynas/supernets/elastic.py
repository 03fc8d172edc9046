"""Dynamic operators: each holds its largest weight and runs an active slice of it.

The weight-sharing scheme of once-for-all (Cai et al., "Once-for-All: Train One Network and Specialize
it for Efficient Deployment", ICLR 2020): an operator stores the weight of the largest choice, and a
smaller choice uses a slice of it. Channels are the first ``c`` of the stored ones (so the most
important channels must come first, see :func:`channel_order`), and a smaller depthwise kernel is
the centre of the larger one passed through a learned *kernel transformation* (one small matrix
per kernel step, shared by all channels of the layer, initialised to the identity), so that the
centre of a 7×7 kernel can serve as a 5×5 kernel without being tied to the 7×7 kernel's centre.
BigNAS (Yu et al., ECCV 2020) shares weights the same way, by plain slicing.

``active_weight`` / ``active_state`` give the active slice in the layout of the plain PyTorch module
of the same shape (``nn.Conv2d``, ``nn.BatchNorm2d``, :class:`~hynas.models.mobile.SqueezeExcite`),
so an exported network carries no trace of the supernet.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hynas.spaces.mobile import make_divisible

__all__ = [
    "DynamicBatchNorm2d",
    "DynamicDepthwiseConv",
    "DynamicPointwiseConv",
    "DynamicSqueezeExcite",
    "channel_order",
    "se_channels",
]


def se_channels(c_mid: int) -> int:
    """Squeeze-excite width for ``c_mid`` expanded channels (as :attr:`MBBlock.c_se`)."""
    return make_divisible(c_mid // 4)


def channel_order(importance: Tensor) -> Tensor:
    """Indices sorting channels by decreasing importance (stable: ties keep their order)."""
    return torch.argsort(importance, descending=True, stable=True)


class DynamicBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm over the first ``x.shape[1]`` of ``num_features`` channels.

    Training updates the running statistics of the active channels only (the sliced buffers are
    views of the stored ones); the momentum rule is BatchNorm's own (``momentum=None``: cumulative).
    """

    def _stats(self) -> tuple[Tensor, Tensor, Tensor]:
        mean, var, count = self.running_mean, self.running_var, self.num_batches_tracked
        assert mean is not None and var is not None and count is not None  # always tracked
        return mean, var, count

    def forward(self, x: Tensor) -> Tensor:
        c = x.shape[1]
        mean, var, count = self._stats()
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training:
            count.add_(1)
            factor = 1.0 / float(count) if self.momentum is None else self.momentum
        return F.batch_norm(
            x, mean[:c], var[:c], self.weight[:c], self.bias[:c], self.training, factor, self.eps
        )

    def active_state(self, c: int) -> dict[str, Tensor]:
        """The state dict of a plain ``nn.BatchNorm2d(c)`` holding the active slice."""
        mean, var, count = self._stats()
        return {
            "weight": self.weight[:c],
            "bias": self.bias[:c],
            "running_mean": mean[:c],
            "running_var": var[:c],
            "num_batches_tracked": count,
        }

    def permute_(self, order: Tensor) -> None:
        mean, var, _ = self._stats()
        with torch.no_grad():
            for t in (self.weight, self.bias, mean, var):
                t.copy_(t[order])


class DynamicPointwiseConv(nn.Module):
    """1×1 convolution (no bias) with elastic input (from ``x``) and output channels."""

    def __init__(self, max_in: int, max_out: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(max_in, max_out, 1, bias=False)

    def active_weight(self, c_in: int, c_out: int) -> Tensor:
        return self.conv.weight[:c_out, :c_in]

    def forward(self, x: Tensor, c_out: int) -> Tensor:
        return F.conv2d(x, self.active_weight(x.shape[1], c_out))


class DynamicDepthwiseConv(nn.Module):
    """Depthwise k×k convolution (no bias) with elastic channels and elastic kernel size.

    ``kernel_transforms[f"{a}to{b}"]`` is the (b², b²) matrix applied to the flattened centre b×b
    of the a×a kernel; kernels shrink step by step from the largest (7 → 5 → 3 by default).
    """

    def __init__(self, max_channels: int, kernels: tuple[int, ...], stride: int) -> None:
        super().__init__()
        self.kernels = tuple(sorted(set(kernels)))
        self.stride = stride
        k = self.kernels[-1]
        self.conv = nn.Conv2d(max_channels, max_channels, k, stride, k // 2, groups=max_channels, bias=False)
        self.kernel_transforms = nn.ParameterDict(
            {f"{a}to{b}": nn.Parameter(torch.eye(b * b)) for a, b in self._steps(self.kernels[0])}
        )

    def _steps(self, kernel: int) -> list[tuple[int, int]]:
        """(source, target) kernel sizes from the largest down to ``kernel``."""
        ks = [k for k in self.kernels if k >= kernel]
        return [(ks[i], ks[i - 1]) for i in range(len(ks) - 1, 0, -1)]

    def active_weight(self, channels: int, kernel: int) -> Tensor:
        w = self.conv.weight[:channels]
        for a, b in self._steps(kernel):
            s = (a - b) // 2
            centre = w[:, :, s : s + b, s : s + b].reshape(channels, b * b)
            w = F.linear(centre, self.kernel_transforms[f"{a}to{b}"]).reshape(channels, 1, b, b)
        return w

    def forward(self, x: Tensor, kernel: int) -> Tensor:
        c = x.shape[1]
        return F.conv2d(x, self.active_weight(c, kernel), None, self.stride, kernel // 2, 1, c)


class DynamicSqueezeExcite(nn.Module):
    """Squeeze-excite whose reduced width follows the active channels (:func:`se_channels`)."""

    def __init__(self, max_channels: int) -> None:
        super().__init__()
        mid = se_channels(max_channels)
        self.reduce = nn.Conv2d(max_channels, mid, 1)
        self.expand = nn.Conv2d(mid, max_channels, 1)

    def _biases(self) -> tuple[Tensor, Tensor]:
        rb, eb = self.reduce.bias, self.expand.bias
        assert rb is not None and eb is not None  # built with biases
        return rb, eb

    def _active(self, c: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        m = se_channels(c)
        rb, eb = self._biases()
        return self.reduce.weight[:m, :c], rb[:m], self.expand.weight[:c, :m], eb[:c]

    def forward(self, x: Tensor) -> Tensor:
        rw, rb, ew, eb = self._active(x.shape[1])
        s = F.relu(F.conv2d(x.mean((2, 3), keepdim=True), rw, rb))
        return x * F.hardsigmoid(F.conv2d(s, ew, eb))

    def active_state(self, c: int) -> dict[str, Tensor]:
        """The state dict of a plain :class:`~hynas.models.mobile.SqueezeExcite` over ``c`` channels."""
        rw, rb, ew, eb = self._active(c)
        return {"reduce.weight": rw, "reduce.bias": rb, "expand.weight": ew, "expand.bias": eb}

    def sort_mid_(self) -> None:
        """Order the reduced channels by the L1 norm of their expand weights (function unchanged)."""
        order = channel_order(self.expand.weight.detach().abs().sum((0, 2, 3)))
        rb, _ = self._biases()
        with torch.no_grad():
            self.reduce.weight.copy_(self.reduce.weight[order])
            rb.copy_(rb[order])
            self.expand.weight.copy_(self.expand.weight[:, order])

    def permute_channels_(self, order: Tensor) -> None:
        """Reorder the input/output channels (the block's expanded channels)."""
        _, eb = self._biases()
        with torch.no_grad():
            self.reduce.weight.copy_(self.reduce.weight[:, order])
            self.expand.weight.copy_(self.expand.weight[order])
            eb.copy_(eb[order])
