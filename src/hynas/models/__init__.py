"""PyTorch model builders for the search spaces (plain, readable modules, nanoGPT style).

Each space's ``build`` imports its builder from here lazily, so importing :mod:`hynas` does not
import torch: :mod:`hynas.models.nb201` (NAS-Bench-201 network), :mod:`hynas.models.mobile`
(MBConv mobile networks), :mod:`hynas.models.hybrid_lm` (hybrid causal LMs).
"""
