"""Turn a trained Transformer into a hybrid: carve attention layers into Mamba SSMs or
sliding-window attention and dense MLPs into mixtures of experts, then distil (``docs/convert.md``).

:mod:`~hynas.convert.teacher`: train / load the all-attention teacher; :mod:`~hynas.convert.plan`:
per-layer conversion plans and the converted spec; :mod:`~hynas.convert.carve`: the carving
operators; :mod:`~hynas.convert.distill`: staged, resumable distillation;
:mod:`~hynas.convert.lmfile`: model files and training batches; :mod:`~hynas.convert.stage`: one
resumable training stage.
"""

from __future__ import annotations
