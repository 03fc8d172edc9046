"""Carving operators: a trained all-attention ``hybrid-lm`` teacher into a hybrid whose other
layers keep the teacher's weights bit for bit.

* **attention → Mamba SSM**, seeded from the attention weights after mmMamba (Liao et al.,
  "Multimodal Mamba: Decoder-only Multimodal Language Model via Quadratic to Linear Distillation",
  2025), which initialises each Mamba layer from the attention layer it replaces (V → the SSM's
  input x, K → B, Q → C, O → the output projection). Our SSM (:class:`~hynas.models.lm_ssm.SelectiveSSM`)
  computes B and C from the convolved input, so the mapping onto its projections is:

  - ``in_proj`` input half (the ``u`` / x path, ``inner`` rows) ← ``W_v`` with its KV heads repeated
    for their query heads (GQA) and tiled to ``inner`` rows;
  - ``conv`` ← the identity (last tap 1, bias 0), so ``u = silu(V x)``;
  - ``x_proj`` B rows ← ``2 · K̄ · pinv(W_u)`` and C rows ← ``2 · Q̄ · pinv(W_u) / sqrt(head_dim)``,
    where ``K̄`` / ``Q̄`` are the key / query projections averaged over heads and tiled / cut to the
    state size, ``W_u`` the ``u`` rows above and 2 the slope of SiLU at 0: ``B ≈ K̄ x``, ``C ≈ Q̄ x``;
  - ``out_proj`` ← ``W_o`` on the matching columns, divided by how often each column was tiled;
  - the gate half of ``in_proj``, Δ, A and D keep Mamba's initialisation.

  With calibration tokens, ``out_proj`` is then refit by ridge regression so that the layer's
  output best matches the attention output it replaces on those tokens (a closed-form start of the
  per-layer alignment stage; the zero output is feasible, so the start is never worse than it).
* **attention → sliding-window attention**, with or without attention sinks: the query / key / value
  / output weights are kept as they are (LongGen, Ge et al., "A Little Goes a Long Way: Efficient
  Long Context Training and Inference with Partial Contexts", 2024).
* **dense MLP → mixture of experts** after Read-ME (Cai et al., "Read-ME: Refactorizing LLMs as
  Router-Decoupled Mixture of Experts with System Co-Design", NeurIPS 2024): the MLP's hidden units
  are split into ``experts`` equal groups by balanced k-means on their activation profiles on the
  calibration tokens (on their gate weights without calibration); each expert is its group's
  SwiGLU slice, its output weights multiplied by ``top_k`` (the gates of the chosen experts sum
  to 1); the router row of an expert is the mean gate vector of its units, so a token goes to the
  experts whose units it excites.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hynas.models.hybrid_lm import Attention, HybridLM, MoE, SelectiveSSM, SwiGLU
from hynas.spaces.hybrid_convert import CarveOptions, Plan, converted_config

__all__ = ["carve", "layer_io"]


def layer_io(model: HybridLM, idx: Tensor) -> list[dict[str, Tensor]]:
    """Per layer: the mixer's input and output and the channel mixer's input and output on ``idx``."""
    out: list[dict[str, Tensor]] = [{} for _ in model.blocks]
    hooks = []
    for i, block in enumerate(model.blocks):
        for part in ("mixer", "ffn"):
            mod = getattr(block, part)
            if isinstance(mod, nn.Module):

                def hook(_m: object, args: tuple, res: Tensor, i: int = i, part: str = part) -> None:
                    out[i][f"{part}_in"], out[i][f"{part}_out"] = args[0].detach(), res.detach()

                hooks.append(mod.register_forward_hook(hook))
    try:
        with torch.no_grad():
            model(idx)
    finally:
        for h in hooks:
            h.remove()
    return out


def _heads_mean(w: Tensor, heads: int, rows: int) -> Tensor:
    """Mean over heads of a [heads·hd, d] projection, tiled or cut to ``rows`` rows."""
    m = w.view(heads, -1, w.shape[-1]).mean(0)
    return m[torch.arange(rows) % m.shape[0]]


def _ridge(feats: Tensor, target: Tensor, lam: float = 1e-3) -> Tensor:
    """``W`` minimising ``|feats Wᵀ - target|² + λ' |W|²`` (λ' relative to the features' scale)."""
    gram = feats.T @ feats
    reg = lam * gram.diagonal().mean().clamp_min(1e-12) * torch.eye(gram.shape[0], dtype=gram.dtype)
    return torch.linalg.solve(gram + reg, feats.T @ target).T


@torch.no_grad()
def seed_ssm(attn: Attention, ssm: SelectiveSSM, calib: dict[str, Tensor] | None) -> None:
    """Seed ``ssm`` from ``attn`` (the mapping in the module docstring)."""
    h, kv, hd, inner, n = attn.h, attn.kv, attn.hd, ssm.inner, ssm.state
    d = attn.q.weight.shape[1]
    v_exp = attn.v.weight.view(kv, 1, hd, d).expand(kv, h // kv, hd, d).reshape(h * hd, d)
    idx = torch.arange(inner) % (h * hd)
    copies = torch.bincount(idx, minlength=h * hd).float()
    w_u = v_exp[idx]
    ssm.in_proj.weight[:inner] = w_u
    ssm.conv_w.zero_()
    ssm.conv_w[:, 0, -1] = 1.0
    ssm.conv_b.zero_()
    pinv = torch.linalg.pinv(w_u)
    b_rows = 2.0 * _heads_mean(attn.k.weight, kv, n) @ pinv
    c_rows = 2.0 * _heads_mean(attn.q.weight, h, n) @ pinv / math.sqrt(hd)
    r = ssm.rank
    ssm.x_proj.weight[r : r + n] = b_rows
    ssm.x_proj.weight[r + n :] = c_rows
    ssm.out_proj.weight.copy_(attn.o.weight[:, idx] / copies[idx])
    if calib is not None:
        feats: list[Tensor] = []
        hook = ssm.out_proj.register_forward_hook(lambda _m, a, _r: feats.append(a[0].detach()))
        try:
            ssm(calib["mixer_in"], None, 0)
        finally:
            hook.remove()
        x, y = feats[0].reshape(-1, inner).double(), calib["mixer_out"].reshape(-1, d).double()
        ssm.out_proj.weight.copy_(_ridge(x, y).float())


def _balanced_kmeans(feats: Tensor, groups: int, iters: int = 10) -> list[Tensor]:
    """Split the rows of ``feats`` into ``groups`` equal groups of similar rows (cosine k-means with
    a greedy balanced assignment); deterministic."""
    units = feats.shape[0]
    size = units // groups
    f = F.normalize(feats, dim=1)
    cent = f[torch.linspace(0, units - 1, groups).long()].clone()
    assign = torch.zeros(units, dtype=torch.long)
    for _ in range(iters):
        sim = f @ cent.T  # units x groups
        order = torch.argsort(sim.flatten(), descending=True, stable=True)
        taken = torch.zeros(units, dtype=torch.bool)
        fill = torch.zeros(groups, dtype=torch.long)
        for flat in order.tolist():
            u, g = divmod(flat, groups)
            if not taken[u] and fill[g] < size:
                taken[u], assign[u] = True, g
                fill[g] += 1
        cent = F.normalize(torch.stack([f[assign == g].mean(0) for g in range(groups)]), dim=1)
    return [torch.nonzero(assign == g).flatten() for g in range(groups)]


@torch.no_grad()
def seed_moe(mlp: SwiGLU, moe: MoE, calib: dict[str, Tensor] | None) -> None:
    """Split ``mlp`` into ``moe``'s experts and initialise the router from the split (Read-ME)."""
    w1, w3, w2 = mlp.w1.weight, mlp.w3.weight, mlp.w2.weight  # [F, d], [F, d], [d, F]
    if calib is not None:
        x = calib["ffn_in"].reshape(-1, w1.shape[1])
        feats = (F.silu(x @ w1.T) * (x @ w3.T)).abs().T  # units x tokens
    else:
        feats = w1
    for e, units in enumerate(_balanced_kmeans(feats, moe.e)):
        moe.w1[e] = w1[units].T
        moe.w3[e] = w3[units].T
        moe.w2[e] = w2[:, units].T * moe.k
        moe.router.weight[e] = w1[units].mean(0)


def carve(
    teacher: HybridLM,
    plan: Plan,
    opts: CarveOptions | None = None,
    calib_idx: Tensor | None = None,
    seed: int = 0,
) -> HybridLM:
    """The converted model: the teacher's weights everywhere except the converted parts, which are
    seeded from the teacher's (see the module; with ``opts.ssm_init == "mamba"`` SSM layers keep
    Mamba's initialisation, seeded by ``seed``). ``calib_idx`` (token ids [B, T]) calibrates them."""
    opts = opts or CarveOptions()
    cfg = converted_config(teacher.cfg, plan, opts)
    torch.manual_seed(seed)
    student = HybridLM(cfg)
    calib = layer_io(teacher, calib_idx) if calib_idx is not None else None
    own, theirs = student.state_dict(), teacher.state_dict()
    with torch.no_grad():
        for key, value in own.items():
            if key in theirs and theirs[key].shape == value.shape:
                value.copy_(theirs[key])
        for i, (mix, moe) in enumerate(plan):
            sb, tb = student.blocks[i], teacher.blocks[i]
            seeded = mix == "ssm" and opts.ssm_init == "attention"  # "mamba": keep Mamba's own start
            if seeded and isinstance(sb.mixer, SelectiveSSM) and isinstance(tb.mixer, Attention):
                seed_ssm(tb.mixer, sb.mixer, calib[i] if calib else None)
            if moe and isinstance(sb.ffn, MoE) and isinstance(tb.ffn, SwiGLU):
                seed_moe(tb.ffn, sb.ffn, calib[i] if calib else None)
    return student.eval()
