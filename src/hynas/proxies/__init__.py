"""Zero-cost proxies: score an untrained network from one minibatch, no training.

Computed on real PyTorch models (``space.build(arch)``), following Abdelfattah, Mehrotra, Dudziak &
Lane, "Zero-Cost Proxies for Lightweight NAS", ICLR 2021:

- ``synflow``: Tanaka, Kunin, Yamins & Ganguli, "Pruning neural networks without any data by
  iteratively conserving synaptic flow", NeurIPS 2020. Weights replaced by their absolute values,
  an all-ones input, ``R = sum(output)``; score ``Σ |θ ⊙ ∂R/∂θ|`` (in float64, BatchNorm in eval
  mode, i.e. the identity at initialisation, as in the zero-cost paper's BN-free variant).
- ``grad_norm``: sum over parameters of ``‖∂L/∂θ‖₂`` for the cross-entropy loss ``L``.
- ``snip``: Lee, Ajanthan & Torr, "SNIP: Single-shot Network Pruning based on Connection
  Sensitivity", ICLR 2019: ``Σ |θ ⊙ ∂L/∂θ|`` over convolution and linear weights.
- ``jacov``: Mellor, Turner, Storkey & Crowley, "Neural Architecture Search without Training"
  (arXiv v1, 2020): correlations of the input Jacobians across a batch; score
  ``−Σ log(λ + k) + 1/(λ + k)`` over the eigenvalues ``λ`` of the correlation matrix.
- ``naswot``: the same authors, ICML 2021: binary ReLU activation codes ``c`` of the batch; score
  ``log |K|`` with ``K = c cᵀ + (1 − c)(1 − c)ᵀ`` (Hamming-similarity kernel).

Inputs are a seeded Gaussian batch (no data is downloaded) with seeded random labels, so every score
is deterministic given ``seed``. Larger is better for every proxy here.

A proxy is usable as a search objective through the cost-model resolver ``zc@<proxy>`` (for example
``--objective zc@synflow``), and as a warm start (``-o warm_start=zc@naswot`` for ``bananas``, ``rea``
and ``optuna-*``).

The functions live in :mod:`hynas.proxies.scores` and are imported from here on first use, so that
importing this package (the CLI does, to list ``zc@<proxy>``) does not import PyTorch.
"""

from __future__ import annotations

from typing import Any

__all__ = ["NAMES", "PROXIES", "grad_norm", "jacov", "make_batch", "naswot", "score", "snip", "synflow"]

#: every proxy, by name (:data:`hynas.proxies.scores.PROXIES` maps them to their functions)
NAMES = ("synflow", "grad_norm", "snip", "jacov", "naswot")


def __getattr__(name: str) -> Any:
    if name in __all__:
        from hynas.proxies import scores

        return getattr(scores, name)
    raise AttributeError(f"module 'hynas.proxies' has no attribute {name!r}")
