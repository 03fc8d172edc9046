"""One resumable training stage: AdamW with warm-up + cosine, on :class:`~hynas.training.loop.ResumableRun`.

The teacher's training and each distillation stage run through :func:`run_stage`: the learning rate
is a pure function of the step (no scheduler state), the batches come from a numpy generator saved
in the checkpoint, and the torch RNG is saved too, so a stage killed at any moment and started
again with the same arguments ends with the same weights, bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from hynas.convert.lmfile import Batches
from hynas.core import progress
from hynas.training.loop import ResumableRun

__all__ = ["lr_at", "run_stage"]

#: what a stage minimises for one batch (inputs, targets)
LossFn = Callable[[Tensor, Tensor], Tensor]


def lr_at(step: int, total: int, lr: float) -> float:
    """Linear warm-up over the first tenth of the steps, then cosine decay to 0."""
    warm = max(1, total // 10)
    return lr * min(1.0, (step + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(step, total) / max(1, total)))


def run_stage(
    path: str | Path | None,
    *,
    model: nn.Module,
    params: Iterable[nn.Parameter],
    loss_fn: LossFn,
    batches: Batches,
    steps: int,
    lr: float,
    seed: int,
    kind: str,
    config: Mapping[str, Any],
    every: int = 0,
    stop_after: int | None = None,
) -> int:
    """Train ``params`` for ``steps`` steps (resuming from ``path``); the number of finished steps."""
    params = [p for p in params if p.requires_grad]
    if steps == 0 or not params:
        return 0
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.01, betas=(0.9, 0.98))
    rng = np.random.default_rng(seed)
    run = ResumableRun(
        path, model=model, space="hybrid-lm", config=config, kind=kind, data_fingerprint=batches.fingerprint(),
        optimizers={"adamw": opt}, generators={"data": rng}, every=every,
    )  # fmt: skip
    done = 0
    model.train()
    for step in run.steps(steps, stop_after):
        for group in opt.param_groups:
            group["lr"] = lr_at(step, steps, lr)
        x, y = batches(step, rng)
        loss = loss_fn(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        progress.report(step + 1, steps, loss)
        done = step + 1
    model.eval()
    return max(done, run.resumed.step if run.resumed is not None else 0)
