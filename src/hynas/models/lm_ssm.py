"""The recurrent token mixers of the hybrid LM (:mod:`hynas.models.hybrid_lm`), in plain PyTorch.

* ``ssm``: the selective state-space layer of Mamba (Gu & Dao, "Mamba: Linear-Time Sequence
  Modeling with Selective State Spaces", 2023): input-dependent Δ, B, C; diagonal A; a short
  causal depthwise convolution; SiLU gate. Two equivalent forms of its linear recurrence: a parallel
  associative scan (Hillis–Steele, log2 T steps; Blelloch 1990) and the recurrent form used for
  decoding.
* ``conv``: gated short convolution (H3 / Zoology "BaseConv" style): ``out(silu(g) ⊙ conv(u))``.

Both carry their state between calls in the layer's cache dict (``conv``, ``ssm``).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["GatedConv", "SelectiveSSM", "parallel_scan", "recurrent_scan"]


def _causal_conv(u: Tensor, weight: Tensor, bias: Tensor, cache: dict[str, Tensor] | None) -> Tensor:
    """Depthwise causal convolution of ``u`` [b, c, t] with kernel ``weight`` [c, 1, k]; the last
    ``k-1`` inputs are carried in ``cache['conv']`` between calls."""
    k = weight.shape[-1]
    prev = cache.get("conv") if cache is not None else None
    if prev is None:
        prev = u.new_zeros(u.shape[0], u.shape[1], k - 1)
    full = torch.cat((prev, u), dim=-1)
    if cache is not None:
        cache["conv"] = full[:, :, full.shape[-1] - (k - 1) :]
    return F.conv1d(full, weight, bias, groups=u.shape[1])


def _hillis_steele(a: Tensor, b: Tensor) -> Tensor:
    t = a.shape[1]
    step = 1
    while step < t:
        b = torch.cat((b[:, :step], torch.addcmul(b[:, step:], a[:, step:], b[:, :-step])), dim=1)
        if 2 * step < t:
            a = torch.cat((a[:, :step], a[:, step:] * a[:, :-step]), dim=1)
        step *= 2
    return b


def _sequential(a: Tensor, b: Tensor) -> Tensor:
    """The same recurrence as one fused pass over time (no autograd graph; CPU-friendly)."""
    h = torch.empty_like(b)
    prev = torch.zeros_like(b[:, 0])
    for i in range(a.shape[1]):
        prev = torch.addcmul(b[:, i], a[:, i], prev)
        h[:, i] = prev
    return h


class _Scan(torch.autograd.Function):
    """Linear recurrence with a scan-based backward: the gradient is itself a reverse scan
    (``δ_t = g_t + a_{t+1} δ_{t+1}``; ``∂b_t = δ_t``, ``∂a_t = δ_t h_{t-1}``), as in Mamba."""

    @staticmethod
    def forward(ctx: Any, a: Tensor, b: Tensor, fused: bool) -> Tensor:
        kernel = _sequential if fused else _hillis_steele
        h = kernel(a, b)
        ctx.save_for_backward(a, h)
        ctx.kernel = kernel
        return h

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Tensor, Tensor, None]:
        a, h = ctx.saved_tensors
        a_next = torch.cat((a[:, 1:], torch.ones_like(a[:, :1])), dim=1)
        delta = ctx.kernel(a_next.flip(1), g.flip(1)).flip(1)
        h_prev = torch.cat((torch.zeros_like(h[:, :1]), h[:, :-1]), dim=1)
        return delta * h_prev, delta, None


def parallel_scan(a: Tensor, b: Tensor, h0: Tensor | None = None, fused: bool = False) -> Tensor:
    """All states of ``h_t = a_t ⊙ h_{t-1} + b_t`` along dim 1 by a Hillis–Steele associative scan
    (log2 T steps of the operator (a1, b1)∘(a2, b2) = (a1 a2, a2 b1 + b2)); ``fused`` runs the
    same recurrence as one graph-free pass over time instead (faster on CPU). Both differentiate
    by a reverse scan."""
    if h0 is not None:
        b = torch.cat((b[:, :1] + a[:, :1] * h0[:, None], b[:, 1:]), dim=1)
    out: Tensor = _Scan.apply(a, b, fused)
    return out


def recurrent_scan(a: Tensor, b: Tensor, h0: Tensor | None = None) -> Tensor:
    """The same states, one step at a time (the decoding form)."""
    h = torch.zeros_like(b[:, 0]) if h0 is None else h0
    out = []
    for i in range(a.shape[1]):
        h = a[:, i] * h + b[:, i]
        out.append(h)
    return torch.stack(out, dim=1)


class SelectiveSSM(nn.Module):
    """Mamba's selective SSM block (Gu & Dao 2023), S6 with diagonal A and Δ-discretisation."""

    def __init__(self, d: int, state: int, expand: int, kernel: int, mode: str = "fused") -> None:
        super().__init__()
        inner, rank = expand * d, -(-d // 16)
        self.inner, self.state, self.rank, self.mode = inner, state, rank, mode
        self.in_proj = nn.Linear(d, 2 * inner, bias=False)
        self.conv_w = nn.Parameter(torch.randn(inner, 1, kernel) / math.sqrt(kernel))
        self.conv_b = nn.Parameter(torch.zeros(inner))
        self.x_proj = nn.Linear(inner, rank + 2 * state, bias=False)
        self.dt_proj = nn.Linear(rank, inner, bias=True)
        with torch.no_grad():  # Δ initialised in [1e-3, 1e-1] as in Mamba
            dt = torch.exp(torch.rand(inner) * (math.log(0.1) - math.log(1e-3)) + math.log(1e-3))
            self.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))
        self.A_log = nn.Parameter(torch.log(torch.arange(1, state + 1, dtype=torch.float32)).repeat(inner, 1))
        self.D = nn.Parameter(torch.ones(inner))
        self.out_proj = nn.Linear(inner, d, bias=False)

    def forward(self, x: Tensor, cache: dict[str, Tensor] | None, pos0: int = 0) -> Tensor:
        u, z = self.in_proj(x).chunk(2, dim=-1)
        u = F.silu(_causal_conv(u.transpose(1, 2), self.conv_w, self.conv_b, cache)).transpose(1, 2)
        dt, bm, cm = self.x_proj(u).split([self.rank, self.state, self.state], dim=-1)
        dt = F.softplus(self.dt_proj(dt))  # b t D
        a = torch.exp(dt[..., None] * -torch.exp(self.A_log))  # b t D N
        bu = (dt * u)[..., None] * bm[:, :, None, :]  # b t D N
        h0 = cache.get("ssm") if cache is not None else None
        if self.mode == "recurrent":
            h = recurrent_scan(a, bu, h0)
        else:
            h = parallel_scan(a, bu, h0, fused=self.mode == "fused")
        if cache is not None:
            cache["ssm"] = h[:, -1]
        y = (h * cm[:, :, None, :]).sum(-1) + self.D * u
        return self.out_proj(y * F.silu(z))


class GatedConv(nn.Module):
    """Gated short causal depthwise convolution: ``out(silu(g) ⊙ conv(u))``."""

    def __init__(self, d: int, kernel: int) -> None:
        super().__init__()
        self.in_proj = nn.Linear(d, 2 * d, bias=False)
        self.conv_w = nn.Parameter(torch.randn(d, 1, kernel) / math.sqrt(kernel))
        self.conv_b = nn.Parameter(torch.zeros(d))
        self.out_proj = nn.Linear(d, d, bias=False)

    def forward(self, x: Tensor, cache: dict[str, Tensor] | None, pos0: int = 0) -> Tensor:
        u, g = self.in_proj(x).chunk(2, dim=-1)
        c = _causal_conv(u.transpose(1, 2), self.conv_w, self.conv_b, cache).transpose(1, 2)
        return self.out_proj(F.silu(g) * c)
