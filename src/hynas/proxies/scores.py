"""The zero-cost proxies themselves (PyTorch); see :mod:`hynas.proxies`."""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from hynas.core.errors import HynasError
from hynas.hw.measure import torch_threads
from hynas.proxies import NAMES

__all__ = ["PROXIES", "grad_norm", "jacov", "make_batch", "naswot", "score", "snip", "synflow", "token_batch"]


JACOV_NEEDS_IMAGES = (
    "zc@jacov needs a continuous input (its score is the input Jacobian), and this network reads "
    "token ids; use zc@synflow, zc@snip or zc@grad_norm"
)


def make_batch(
    batch: int = 64, shape: tuple[int, ...] = (3, 32, 32), num_classes: int = 10, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded standard-normal input batch and uniform random labels."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, *shape, generator=gen)
    y = torch.randint(0, num_classes, (batch,), generator=gen)
    return x, y


def _continuous(x: torch.Tensor) -> bool:
    return x.is_floating_point()


def _loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of logits ``out`` (N, C) or per-token logits (N, T, V) against labels ``y``."""
    return nn.functional.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))


def _weights(model: nn.Module) -> list[torch.Tensor]:
    return [m.weight for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)]


def synflow(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    net = copy.deepcopy(model).double().eval()
    with torch.no_grad():
        for p in net.state_dict().values():
            p.abs_()
    net.zero_grad()
    # an all-ones input (Tanaka et al. 2020); token ids have no "ones": the first sequence stands in,
    # which the absolute-valued embedding turns into positive activations all the same
    ones = torch.ones((1, *x.shape[1:]), dtype=torch.float64) if _continuous(x) else x[:1]
    net(ones).sum().backward()
    total = 0.0
    with torch.no_grad():
        for w in _weights(net):
            if w.grad is not None:
                total += float((w * w.grad).abs().sum())
    return total


def _ce_grads(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> nn.Module:
    net = copy.deepcopy(model).train()
    net.zero_grad()
    _loss(net(x), y).backward()
    return net


def grad_norm(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    net = _ce_grads(model, x, y)
    with torch.no_grad():
        return float(sum(float(w.grad.norm()) for w in _weights(net) if w.grad is not None))


def snip(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    net = _ce_grads(model, x, y)
    with torch.no_grad():
        return float(sum(float((w * w.grad).abs().sum()) for w in _weights(net) if w.grad is not None))


def jacov(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    if not _continuous(x):
        raise HynasError(JACOV_NEEDS_IMAGES)
    net = copy.deepcopy(model).train()
    xi = x.clone().requires_grad_(True)
    net(xi).sum().backward()
    assert xi.grad is not None
    jac = xi.grad.reshape(len(x), -1).double().numpy()
    corr = np.corrcoef(jac)
    corr = np.nan_to_num(corr, nan=0.0)
    eig = np.linalg.eigvalsh(corr)
    k = 1e-5
    return float(-np.sum(np.log(np.abs(eig) + k) + 1.0 / (np.abs(eig) + k)))


def naswot(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    net = copy.deepcopy(model).train()
    codes: list[torch.Tensor] = []

    def hook(_m: nn.Module, inp: tuple[torch.Tensor, ...], _out: torch.Tensor) -> None:
        codes.append((inp[0].detach().reshape(len(x), -1) > 0).double())

    handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, nn.ReLU)]
    try:
        with torch.no_grad():
            net(x)
    finally:
        for h in handles:
            h.remove()
    if not codes:
        raise HynasError("naswot needs a network with nn.ReLU modules; this model has none")
    c = torch.cat(codes, dim=1)
    kmat = (c @ c.T + (1 - c) @ (1 - c).T).numpy()
    sign, logdet = np.linalg.slogdet(kmat)
    if sign <= 0 or not np.isfinite(logdet):
        # a singular kernel (e.g. a cell of zero ops: every input gets the same code) has log|K| =
        # -inf. A non-singular K is a positive-definite integer matrix, so its log|K| >= 0: the
        # singular ones score below -1, ordered among themselves by log|K + ridge| (finite)
        ridge = 1e-6 * float(np.mean(np.diag(kmat)) or 1.0)
        _sign, ridged = np.linalg.slogdet(kmat + ridge * np.eye(len(kmat)))
        return float(min(ridged, 0.0) - 1.0)
    return float(logdet)


PROXIES: dict[str, Callable[[nn.Module, torch.Tensor, torch.Tensor], float]] = {
    name: globals()[name] for name in NAMES
}


def token_batch(model: nn.Module, tokens: torch.Tensor, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids and seeded random next-token labels over the vocabulary ``model`` predicts."""
    with torch.no_grad(), torch_threads(1):
        was_training = model.training
        model.eval()
        vocab = model(tokens[:1]).shape[-1]
        model.train(was_training)
    gen = torch.Generator().manual_seed(seed)
    return tokens, torch.randint(0, vocab, tokens.shape, generator=gen)


def score(
    model: nn.Module,
    proxy: str,
    batch: int = 64,
    shape: tuple[int, ...] = (3, 32, 32),
    num_classes: int = 10,
    seed: int = 0,
    inputs: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> float:
    """The ``proxy`` score of ``model`` on a seeded random batch (larger is better), or on
    ``inputs`` (x, y) when given (token ids for language models, see :func:`token_batch`)."""
    fn = PROXIES.get(proxy)
    if fn is None:
        raise HynasError(f"unknown zero-cost proxy {proxy!r}; valid: {', '.join(PROXIES)}")
    x, y = inputs if inputs is not None else make_batch(batch, shape, num_classes, seed)
    torch.manual_seed(seed)
    with torch_threads(1):
        return fn(model, x, y)
