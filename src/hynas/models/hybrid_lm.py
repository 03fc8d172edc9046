"""A plain-PyTorch causal LM for :class:`hynas.models.lm_spec.LMConfig` stacks (nanoGPT style).

Pre-norm residual blocks ``x + mixer(norm(x))`` then ``x + channel(norm(x))`` with RMSNorm, byte or
token embeddings and a (tied) output head. Token mixers:

* ``attn``: causal multi-head attention with grouped-query KV heads (Ainslie et al., "GQA", 2023) and
  rotary position embeddings (Su et al., "RoFormer", 2021).
* ``swa``: sliding-window attention (Beltagy et al., "Longformer", 2020) over the last ``window``
  tokens, plus ``sinks`` attention-sink tokens (Xiao et al., "StreamingLLM", ICLR 2024). It is
  computed window-wise (every query scores exactly ``window + sinks`` keys), so its FLOPs grow
  linearly in the context, and its cache holds ``window`` + ``sinks`` tokens.
* ``ssm``: the selective state-space layer of Mamba (Gu & Dao, "Mamba: Linear-Time Sequence
  Modeling with Selective State Spaces", 2023): input-dependent Δ, B, C; diagonal A; a short
  causal depthwise convolution; SiLU gate. Two equivalent forms: a parallel associative scan
  (Hillis–Steele, log2 T steps; Blelloch 1990) and the recurrent form used for decoding.
* ``conv``: gated short convolution (H3 / Zoology "BaseConv" style): ``out(silu(g) ⊙ conv(u))``.
* ``id``: nothing.

(``ssm`` and ``conv`` live in :mod:`hynas.models.lm_ssm`, re-exported here.)

Channel mixers: SwiGLU MLP (Shazeer, "GLU Variants Improve Transformer", 2020) or a top-k
mixture of SwiGLU experts with a fixed expert capacity (Fedus et al., "Switch Transformers", JMLR
2022; Lepikhin et al., "GShard", 2021): tokens beyond an expert's capacity are dropped (their
residual passes through). Static capacity buffers make the compute independent of the routing.

Incremental decoding: :meth:`HybridLM.new_cache` returns a cache that ``forward`` fills and
extends (KV caches, rolling window caches, SSM and convolution states).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hynas.models.lm_spec import LayerSpec, LMConfig, expert_capacity
from hynas.models.lm_ssm import GatedConv, SelectiveSSM, parallel_scan, recurrent_scan

__all__ = [
    "SSM_MODES",
    "GatedConv",
    "HybridLM",
    "LMCache",
    "MoE",
    "SelectiveSSM",
    "expert_capacity",
    "parallel_scan",
    "recurrent_scan",
]

#: parallel: Hillis–Steele associative scan; fused: one graph-free pass over time (default, fastest on
#: CPU); recurrent: the step-by-step decoding form with autograd through every step
SSM_MODES = ("fused", "parallel", "recurrent")


@dataclass
class LMCache:
    """Per-layer decoding state and the number of tokens already processed."""

    layers: list[dict[str, Tensor]]
    pos: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def tensors(self) -> list[Tensor]:
        return [t for layer in self.layers for t in layer.values()]

    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self.tensors())


def _rope(x: Tensor, pos0: int) -> Tensor:
    """Rotary embedding of ``x`` [..., T, hd] for positions ``pos0 .. pos0+T-1`` (hd even)."""
    hd, t = x.shape[-1], x.shape[-2]
    if hd % 2:
        return x
    inv = 1.0 / (10000 ** (torch.arange(0, hd, 2, device=x.device, dtype=torch.float32) / hd))
    ang = torch.arange(pos0, pos0 + t, device=x.device, dtype=torch.float32)[:, None] * inv[None, :]
    cos, sin = ang.cos().to(x.dtype), ang.sin().to(x.dtype)
    x1, x2 = x[..., ::2], x[..., 1::2]
    return torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1).flatten(-2)


class Attention(nn.Module):
    """Causal GQA attention; with ``window`` set, sliding-window attention with optional sinks."""

    def __init__(self, d: int, spec: LayerSpec, head_dim: int) -> None:
        super().__init__()
        self.h, self.kv, self.hd = spec.heads, spec.kv_heads, head_dim
        self.window = spec.window if spec.mixer == "swa" else 0
        self.sinks = spec.sinks if spec.mixer == "swa" else 0
        self.q = nn.Linear(d, self.h * head_dim, bias=False)
        self.k = nn.Linear(d, self.kv * head_dim, bias=False)
        self.v = nn.Linear(d, self.kv * head_dim, bias=False)
        self.o = nn.Linear(self.h * head_dim, d, bias=False)

    def forward(self, x: Tensor, cache: dict[str, Tensor] | None, pos0: int) -> Tensor:
        b, t, _ = x.shape
        g = self.h // self.kv
        q = self.q(x).view(b, t, self.kv, g, self.hd).permute(0, 2, 3, 1, 4)  # b k g t d
        k = self.k(x).view(b, t, self.kv, self.hd).transpose(1, 2)  # b k t d
        v = self.v(x).view(b, t, self.kv, self.hd).transpose(1, 2)
        q, k = _rope(q, pos0), _rope(k, pos0)
        scale = 1.0 / math.sqrt(self.hd)
        if self.window:
            y = self._windowed(q, k, v, cache, pos0, scale)
        else:
            if cache is not None and "k" in cache:
                k = torch.cat((cache["k"], k), dim=2)
                v = torch.cat((cache["v"], v), dim=2)
            if cache is not None:
                cache["k"], cache["v"] = k, v
            n_keys = k.shape[2]
            s = torch.einsum("bkgtd,bkld->bkgtl", q, k) * scale
            qpos = torch.arange(t, device=x.device)[:, None] + (n_keys - t)
            mask = torch.arange(n_keys, device=x.device)[None, :] <= qpos
            s = s.masked_fill(~mask, float("-inf"))
            y = torch.einsum("bkgtl,bkld->bkgtd", s.softmax(-1), v)
        y = y.permute(0, 3, 1, 2, 4).reshape(b, t, self.h * self.hd)
        return self.o(y)

    def _windowed(
        self, q: Tensor, k: Tensor, v: Tensor, cache: dict[str, Tensor] | None, pos0: int, scale: float
    ) -> Tensor:
        w, t = self.window, q.shape[3]
        prev_k = cache.get("k") if cache is not None else None
        prev_v = cache.get("v") if cache is not None else None
        kc = k if prev_k is None else torch.cat((prev_k, k), dim=2)
        vc = v if prev_v is None else torch.cat((prev_v, v), dim=2)
        n_prev = kc.shape[2] - t
        # every query sees exactly `w` key slots: the last w positions, zero-padded on the left
        kw = F.pad(kc, (0, 0, w - 1, 0)).unfold(2, w, 1)[:, :, -t:]  # b k t d w
        vw = F.pad(vc, (0, 0, w - 1, 0)).unfold(2, w, 1)[:, :, -t:]
        s_win = torch.einsum("bkgtd,bktdw->bkgtw", q, kw)
        slot = torch.arange(w, device=q.device)[None, :] + torch.arange(t, device=q.device)[:, None]
        valid = slot + (n_prev - w + 1) >= 0  # [t, w]: the slot holds a real token
        s_win = s_win * scale
        s_win = s_win.masked_fill(~valid, float("-inf"))
        parts = [s_win]
        sk = sv = None
        if self.sinks:
            old_sk = cache.get("sink_k") if cache is not None else None
            old_sv = cache.get("sink_v") if cache is not None else None
            sk = (k if old_sk is None else torch.cat((old_sk, k), dim=2))[:, :, : self.sinks]
            sv = (v if old_sv is None else torch.cat((old_sv, v), dim=2))[:, :, : self.sinks]
            s_sink = torch.einsum("bkgtd,bksd->bkgts", q, sk) * scale
            qpos = torch.arange(pos0, pos0 + t, device=q.device)[:, None]
            # a sink is used only once it has left the window (and never from the future)
            sink_ok = torch.arange(sk.shape[2], device=q.device)[None, :] <= qpos - w
            parts.append(s_sink.masked_fill(~sink_ok, float("-inf")))
        p = torch.cat(parts, dim=-1).softmax(-1)
        y = torch.einsum("bkgtw,bktdw->bkgtd", p[..., :w], vw)
        if sk is not None and sv is not None:
            y = y + torch.einsum("bkgts,bksd->bkgtd", p[..., w:], sv)
        if cache is not None:
            cache["k"], cache["v"] = kc[:, :, -w:], vc[:, :, -w:]
            if sk is not None and sv is not None:
                cache["sink_k"], cache["sink_v"] = sk, sv
        return y


class SwiGLU(nn.Module):
    def __init__(self, d: int, hidden: int) -> None:
        super().__init__()
        self.w1 = nn.Linear(d, hidden, bias=False)
        self.w3 = nn.Linear(d, hidden, bias=False)
        self.w2 = nn.Linear(hidden, d, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class MoE(nn.Module):
    """Top-k routed SwiGLU experts with a fixed capacity per expert (Switch/GShard dispatch).

    When there are no more assignments (tokens × top_k) than experts, as in decoding, each
    assignment runs on its expert's weights directly (same result, routed compute only).
    Assignment order: all first choices (in token order), then all second choices, ...; an
    assignment that finds its expert full is dropped. ``last_routing`` keeps (top-k experts, kept
    mask, capacity) of the last call, and ``aux_loss`` the Switch load-balancing loss.
    """

    def __init__(self, d: int, hidden: int, experts: int, top_k: int, capacity_factor: float) -> None:
        super().__init__()
        self.e, self.k, self.cf = experts, top_k, capacity_factor
        self.router = nn.Linear(d, experts, bias=False)
        self.w1 = nn.Parameter(torch.randn(experts, d, hidden) / math.sqrt(d))
        self.w3 = nn.Parameter(torch.randn(experts, d, hidden) / math.sqrt(d))
        self.w2 = nn.Parameter(torch.randn(experts, hidden, d) / math.sqrt(hidden))
        self.last_routing: tuple[Tensor, Tensor, int] | None = None
        self.aux_loss: Tensor | None = None

    def forward(self, x: Tensor) -> Tensor:
        shape = x.shape
        xf = x.reshape(-1, shape[-1])
        n, e, k = xf.shape[0], self.e, self.k
        probs = self.router(xf).float().softmax(-1)
        top_p, top_i = probs.topk(k, dim=-1)  # n k
        gates = (top_p / top_p.sum(-1, keepdim=True)).to(x.dtype)
        cap = expert_capacity(n, e, k, self.cf)
        onehot = (top_i.t().reshape(-1, 1) == torch.arange(e, device=x.device)).to(torch.int64)  # (k n) e
        pos = ((onehot.cumsum(0) - 1) * onehot).sum(-1)  # position of each assignment in its expert
        expert = top_i.t().reshape(-1)
        keep = pos < cap
        slot = torch.where(keep, expert * cap + pos, torch.full_like(pos, e * cap))
        src = xf.repeat(k, 1)
        w = gates.t().reshape(-1) * keep.to(x.dtype)
        if n * k <= e:  # few assignments (decoding): run each on its own expert's weights
            hs = src[:, None, :]
            out = torch.bmm(
                F.silu(torch.bmm(hs, self.w1[expert])) * torch.bmm(hs, self.w3[expert]), self.w2[expert]
            )
            y = (out[:, 0] * w[:, None]).view(k, n, shape[-1]).sum(0)
        else:  # static buffers of `cap` slots per expert
            buf = xf.new_zeros(e * cap + 1, shape[-1]).index_add(0, slot, src)
            hb = buf[: e * cap].view(e, cap, shape[-1])
            out = torch.bmm(F.silu(torch.bmm(hb, self.w1)) * torch.bmm(hb, self.w3), self.w2)
            out = torch.cat((out.reshape(e * cap, shape[-1]), out.new_zeros(1, shape[-1])))
            y = (out[slot] * w[:, None]).view(k, n, shape[-1]).sum(0)
        self.last_routing = (top_i.detach(), keep.view(k, n).t().detach(), cap)
        frac = onehot.view(k, n, e)[0].float().mean(0)
        self.aux_loss = e * (frac * probs.mean(0)).sum()
        return y.view(shape)


class Block(nn.Module):
    def __init__(self, cfg: LMConfig, spec: LayerSpec, ssm_mode: str) -> None:
        super().__init__()
        d = cfg.d_model
        self.spec = spec
        self.norm1 = nn.RMSNorm(d) if spec.mixer != "id" else None
        self.mixer: nn.Module | None
        if spec.mixer in ("attn", "swa"):
            self.mixer = Attention(d, spec, cfg.head_dim)
        elif spec.mixer == "ssm":
            self.mixer = SelectiveSSM(d, spec.state, cfg.ssm_expand, cfg.conv_kernel, ssm_mode)
        elif spec.mixer == "conv":
            self.mixer = GatedConv(d, cfg.conv_kernel)
        else:
            self.mixer = None
        self.norm2 = nn.RMSNorm(d) if spec.channel != "none" else None
        self.ffn: nn.Module | None
        if spec.channel == "mlp":
            self.ffn = SwiGLU(d, spec.hidden)
        elif spec.channel == "moe":
            self.ffn = MoE(d, spec.hidden, spec.experts, spec.top_k, cfg.capacity_factor)
        else:
            self.ffn = None

    def forward(self, x: Tensor, cache: dict[str, Tensor] | None, pos0: int) -> Tensor:
        if self.mixer is not None and self.norm1 is not None:
            x = x + self.mixer(self.norm1(x), cache, pos0)
        if self.ffn is not None and self.norm2 is not None:
            x = x + self.ffn(self.norm2(x))
        return x


class HybridLM(nn.Module):
    """Causal LM over a hybrid layer stack; ``forward(idx, cache=None) -> logits``."""

    def __init__(self, cfg: LMConfig, ssm_mode: str = "fused") -> None:
        super().__init__()
        if ssm_mode not in SSM_MODES:
            from hynas.core.errors import HynasError

            raise HynasError(f"ssm_mode must be one of {', '.join(SSM_MODES)}, not {ssm_mode!r}")
        self.cfg = cfg.check()
        self.tok = nn.Embedding(cfg.vocab, cfg.d_model)
        self.blocks = nn.ModuleList(Block(cfg, spec, ssm_mode) for spec in cfg.layers)
        self.norm = nn.RMSNorm(cfg.d_model)
        self.head = nn.Linear(cfg.d_model, cfg.vocab, bias=False)
        nn.init.normal_(self.tok.weight, std=0.02)
        if cfg.tie_embeddings:
            self.head.weight = self.tok.weight

    def set_ssm_mode(self, mode: str) -> None:
        for m in self.modules():
            if isinstance(m, SelectiveSSM):
                m.mode = mode

    def new_cache(self) -> LMCache:
        return LMCache([{} for _ in self.blocks])

    def forward(self, idx: Tensor, cache: LMCache | None = None) -> Tensor:
        pos0 = cache.pos if cache is not None else 0
        x = self.tok(idx)
        for i, block in enumerate(self.blocks):
            x = block(x, cache.layers[i] if cache is not None else None, pos0)
        if cache is not None:
            cache.pos += idx.shape[1]
        return self.head(self.norm(x))

    def aux_loss(self) -> Tensor | float:
        """Sum of the MoE load-balancing losses of the last forward (0 without MoE)."""
        losses = [m.aux_loss for m in self.modules() if isinstance(m, MoE) and m.aux_loss is not None]
        return sum(losses, torch.zeros(())) if losses else 0.0
