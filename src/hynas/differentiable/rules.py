"""The methods' rules: how architecture weights turn into the supernet's gates, and the update of
the architecture weights (bilevel: weights on the training split, α on the validation split).

- ``darts`` / ``darts2``: Liu et al., "DARTS: Differentiable Architecture Search", ICLR 2019. Gates
  ``softmax(α)`` over every operation. First order: ``∇_α L_val(w, α)``. Second order: the
  unrolled gradient ``∇_α L_val(w − ξ∇_w L_train(w, α), α)``, its Hessian-vector product by the
  paper's finite difference ``(∇_α L_train(w⁺, α) − ∇_α L_train(w⁻, α)) / 2ε`` with
  ``w± = w ± ε∇_{w'} L_val``, ``ε = 0.01 / ‖∇_{w'} L_val‖`` (the virtual step is plain SGD with
  weight decay, without momentum).
- ``pcdarts``: Xu et al., "PC-DARTS: Partial Channel Connections for Memory-Efficient
  Architecture Search", ICLR 2020. DARTS' first-order update on a supernet whose mixed ops see
  ``1/K`` of the channels, plus edge normalisation: each node weights its incoming edges by
  ``softmax(β)`` (β trained with α).
- ``gdas``: Dong & Yang, "Searching for a Robust Neural Architecture in Four GPU Hours", CVPR 2019.
  Per slot one operation sampled by Gumbel-max, a straight-through one-hot gate whose gradient is
  the Gumbel-softmax's at temperature τ; only the sampled operation is computed, in the weight and
  the architecture step. τ falls linearly from ``tau_max`` to ``tau_min`` over the epochs.
- ``fbnet``: Wu et al., "FBNet: Hardware-Aware Efficient ConvNet Design via Differentiable Neural
  Architecture Search", CVPR 2019. Soft Gumbel-softmax gates over every operation, τ annealed
  exponentially from ``tau_max`` to ``tau_min``; the expected cost uses the same gates.
- ``proxyless``: Cai et al., "ProxylessNAS: Direct Neural Architecture Search on Target Task and
  Hardware", ICLR 2019. Binarised paths: the weight step runs one path sampled from ``softmax(α)``;
  the architecture step samples two paths, computes both, and passes the gradient to α through
  binary gates ``g = onehot − p + p`` (``p`` the softmax over the two α), which is the paper's
  estimator ``∂L/∂α_i = Σ_j ∂L/∂g_j p_j (δ_ij − p_i)``.

Derivation (every method): per slot the choice with the largest α (the NB201 convention, ``none``
included).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

__all__ = ["Gates", "arch_parameters", "derive", "gates_for", "second_order_step", "temperature"]

Gates = list[tuple[Tensor, Sequence[int] | None]]


def arch_parameters(sizes: Sequence[int], method: str) -> tuple[nn.ParameterList, nn.ParameterList]:
    """α per slot (DARTS' 1e-3 · N(0, 1) start) and, for pcdarts, β per NB201 node (1, 2, 3 edges)."""
    alphas = nn.ParameterList(nn.Parameter(1e-3 * torch.randn(n)) for n in sizes)
    betas = (
        nn.ParameterList(nn.Parameter(1e-3 * torch.randn(n)) for n in (1, 2, 3))
        if method == "pcdarts"
        else nn.ParameterList()
    )
    return alphas, betas  # fmt: skip


def temperature(method: str, epoch: int, epochs: int, tau_max: float, tau_min: float) -> float:
    """GDAS: linear; FBNet: exponential, from ``tau_max`` (first epoch) to ``tau_min`` (last)."""
    frac = epoch / max(1, epochs - 1)
    if method == "fbnet":
        return tau_max * (tau_min / tau_max) ** frac
    return tau_max - (tau_max - tau_min) * frac


def entropy(alphas: Sequence[Tensor]) -> Tensor:
    """Mean over slots of the entropy of ``softmax(α)``, each divided by ``log K`` (0: one choice
    certain, 1: uniform). Penalised, it closes the gap between the mixture the architecture step
    optimises and the single network derived from it (the discretisation gap; the softmax
    counterpart of Fair DARTS's zero-one loss, Chu et al., ECCV 2020)."""
    terms = [
        -(torch.softmax(a, 0) * torch.log_softmax(a, 0)).sum() / math.log(len(a))
        for a in alphas
        if len(a) > 1
    ]
    return torch.stack(terms).mean() if terms else torch.zeros(())


def _gumbel(a: Tensor) -> Tensor:
    u = torch.rand_like(a).clamp_(1e-10, 1.0 - 1e-10)
    return -torch.log(-torch.log(u))


def _onehot(n: int, i: int) -> Tensor:
    v = torch.zeros(n)
    v[i] = 1.0
    return v


def gates_for(method: str, alphas: Sequence[Tensor], step: str, tau: float) -> tuple[Gates, list[Tensor]]:
    """The supernet's gates for a ``"weights"`` or ``"arch"`` step, and the choice probabilities
    the expected cost uses. In a weights step α is detached (only the weights learn)."""
    gates: Gates = []
    probs: list[Tensor] = []
    for raw in alphas:
        a = raw.detach() if step == "weights" else raw
        p = torch.softmax(a, 0)
        if method in ("darts", "darts2", "pcdarts"):
            gates.append((p, None))
            probs.append(p)
        elif method == "fbnet":
            soft = torch.softmax((a + _gumbel(a)) / tau, 0)
            gates.append((soft, None))
            probs.append(soft)
        elif method == "gdas":
            soft = torch.softmax((a + _gumbel(a)) / tau, 0)
            i = int(soft.argmax())
            gates.append((_onehot(len(a), i) - soft.detach() + soft, [i]))
            probs.append(p)
        elif step == "weights":  # proxyless, one path
            i = int(torch.multinomial(p, 1))
            gates.append((_onehot(len(a), i), [i]))
            probs.append(p)
        else:  # proxyless, two paths
            pair = [int(i) for i in torch.multinomial(p, 2, replacement=False)]
            p2 = torch.softmax(a[pair], 0)
            j = int(torch.multinomial(p2.detach(), 1))
            g = _onehot(2, j) - p2.detach() + p2
            full = torch.zeros(len(a)).index_put((torch.tensor(pair),), g)
            gates.append((full, pair))
            probs.append(p)
    return gates, probs


def edge_weights(betas: Sequence[Tensor], step: str) -> list[Tensor] | None:
    if len(betas) == 0:
        return None
    return [torch.softmax(b.detach() if step == "weights" else b, 0) for b in betas]


def derive(alphas: Sequence[Tensor]) -> list[int]:
    return [int(a.detach().argmax()) for a in alphas]


def second_order_step(
    weights: Sequence[nn.Parameter],
    archs: Sequence[nn.Parameter],
    train_loss: Callable[[], Tensor],
    val_loss: Callable[[], Tensor],
    xi: float,
    decay: float,
) -> None:
    """Set ``.grad`` of ``archs`` to DARTS' second-order gradient (see the module docstring)."""
    w0 = [p.detach().clone() for p in weights]
    g = torch.autograd.grad(train_loss(), weights, allow_unused=True)
    with torch.no_grad():
        for p, gi in zip(weights, g, strict=True):
            if gi is not None:
                p.sub_(xi * (gi + decay * p))
    grads = torch.autograd.grad(val_loss(), [*archs, *weights], allow_unused=True)
    d_arch, d_w = grads[: len(archs)], grads[len(archs) :]
    norm = math.sqrt(sum(float((d * d).sum()) for d in d_w if d is not None))
    eps = 0.01 / max(norm, 1e-12)

    def arch_grad(sign: float) -> tuple[Tensor | None, ...]:
        with torch.no_grad():
            for p, p0, d in zip(weights, w0, d_w, strict=True):
                p.copy_(p0 if d is None else p0 + sign * eps * d)
        return torch.autograd.grad(train_loss(), archs, allow_unused=True)

    pos, neg = arch_grad(1.0), arch_grad(-1.0)
    with torch.no_grad():
        for p, p0 in zip(weights, w0, strict=True):
            p.copy_(p0)
    for a, da, gp, gn in zip(archs, d_arch, pos, neg, strict=True):
        grad = torch.zeros_like(a) if da is None else da.clone()
        if gp is not None and gn is not None:
            grad -= xi * (gp - gn) / (2 * eps)
        a.grad = grad
