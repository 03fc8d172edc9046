"""Where an exported module's weights come from: a trained supernet, optional fine-tuning, or none.

- **Supernet** (once-for-all, Cai et al., ICLR 2020; BigNAS, Yu et al., ECCV 2020): the checkpoint
  that :func:`hynas.supernets.train.train_supernet` writes is loaded into an
  :class:`~hynas.supernets.ElasticMobileNet` built from the checkpoint's own configuration (its
  space's choice lists, head size and resolution scale), and :func:`~hynas.supernets.extract`
  copies the architecture's weights out. As once-for-all does before it scores a sub-network, the
  BatchNorm statistics are then recomputed on the first ``bn_images`` Fashion-MNIST training
  images (the same images :func:`~hynas.supernets.train.evaluate_subnet` uses), when the data is
  there; otherwise the supernet's running statistics are kept and the export says so.
- **Fine-tuning** (``mobile`` only): ``steps`` SGD steps on the Fashion-MNIST training split, the
  ``mobile-fmnist`` recipe (Nesterov momentum 0.9, weight decay 4e-5, warm-up + cosine) at a lower
  learning rate, then BatchNorm recalibration; validation accuracy is measured before and after.
  Data loading, input scaling, recalibration and scoring are the ``mobile-fmnist`` evaluator's
  (:mod:`hynas.evaluators.vision`).
- **From scratch** (``mobile`` only; once-for-all's "retrain the chosen sub-network"):
  ``space.build(arch)`` as initialised (seeded), then trained with the ``mobile-fmnist`` recipe at
  its learning rate 0.05 by the same loop as fine-tuning (:func:`finetune`). With a supernet, its
  space (which may be reduced) and input size are used, not its weights.
- **None**: ``space.build(arch)`` as initialised (seeded), stated as untrained everywhere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.core.space import SearchSpace

__all__ = [
    "FINETUNE_LR",
    "SCRATCH_LR",
    "SupernetSource",
    "check_finetune",
    "finetune",
    "fmnist_or_none",
    "inherit",
    "load_supernet",
    "parse_in_supernet",
]

SUPERNET_KIND = "supernet/mobile"


@dataclass
class SupernetSource:
    """A loaded supernet checkpoint: the network, its space, and what the checkpoint says."""

    path: Path
    net: Any  # ElasticMobileNet
    step: int
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def space(self) -> SearchSpace:
        space: SearchSpace = self.net.space
        return space

    def space_options(self) -> dict[str, Any]:
        return {k: list(v) for k, v in self.config.get("space_options", {}).items()}


def load_supernet(path: str | Path) -> SupernetSource:
    """The supernet of a checkpoint (:func:`hynas.supernets.load_supernet`: one clear error for a
    missing, damaged or foreign file), with what an export records of it."""
    from hynas.supernets import load_supernet as load

    net, info = load(path)
    return SupernetSource(Path(path), net, info.step, dict(info.config))


def parse_in_supernet(sup: SupernetSource, text: str) -> Architecture:
    """``text`` as an architecture of the supernet's space, or one clear error saying why not."""
    from hynas.supernets.saved import parse_in_space

    return parse_in_space(sup.net.space, text, f"the supernet {sup.path}")


def inherit(
    sup: SupernetSource, arch: Architecture, data: dict[str, np.ndarray] | None, bn_images: int
) -> nn.Module:
    """The static network of ``arch`` with the supernet's weights, BatchNorm recalibrated on ``data``."""
    from hynas.supernets import extract
    from hynas.supernets.train import fmnist_inputs, recalibrate_bn

    sub = extract(sup.net, arch)
    if data is not None and bn_images > 0:
        size = sup.net.input_size()
        calib = data["train_x"][:bn_images]
        batches = (_sized(fmnist_inputs(calib[i : i + 250], data), size) for i in range(0, len(calib), 250))
        recalibrate_bn(sub, batches)
    return sub.eval()


def _sized(x: torch.Tensor, size: int) -> torch.Tensor:
    if x.shape[-1] == size:
        return x
    return F.interpolate(
        x, size=(size, size), mode="bilinear", align_corners=False, antialias=size < x.shape[-1]
    )


#: learning rate of training from scratch (the ``mobile-fmnist`` evaluator's) and of fine-tuning
SCRATCH_LR, FINETUNE_LR = 0.05, 0.01
FMNIST_CLASSES = 10


def check_finetune(space: str, option: str = "--finetune-steps", classes: int | None = None) -> None:
    """Fine-tuning and training from scratch are on Fashion-MNIST: the ``mobile`` space only, with
    a 10-class head."""
    what = "fine-tunes" if option == "--finetune-steps" else "trains"
    if space != "mobile":
        raise HynasError(
            f"{option} {what} on Fashion-MNIST, which only the mobile space is trained on; "
            f"space {space!r} is exported with its inherited or initial weights (leave it out)"
        )
    if classes is not None and classes != FMNIST_CLASSES:
        raise HynasError(
            f"{option} {what} on Fashion-MNIST (10 classes), but the network has {classes} outputs "
            "(a supernet trained on other data); leave it out"
        )


def finetune(
    model: nn.Module,
    arch: Architecture,
    space: SearchSpace,
    steps: int,
    size: int,
    data_dir: str | None,
    seed: int = 0,
    lr: float = FINETUNE_LR,
    batch: int = 32,
    eval_images: int = 1000,
    option: str | None = None,
) -> dict[str, float]:
    """Train ``model`` in place for ``steps`` steps at ``size`` px; returns validation accuracy
    (%) and loss before and after (the first ``eval_images`` held-out images, BatchNorm
    recalibrated each time).
    Fine-tuning of inherited weights, or (``lr=SCRATCH_LR`` on a freshly built model) training from
    scratch."""
    from hynas.evaluators.vision import MobileFashionMNIST, load_fmnist
    from hynas.training.loop import deterministic

    check_finetune(space.name, option or ("--finetune-steps" if lr == FINETUNE_LR else "--train-steps"))
    resolution = space.config(arch).resolution  # type: ignore[attr-defined]
    ev = MobileFashionMNIST(
        data_dir=data_dir,
        batch=batch,
        lr=lr,
        seed=seed,
        resolution_scale=size / resolution,
        eval_images=eval_images,
    )
    data = load_fmnist(ev.data_dir)
    out: dict[str, float] = {}
    model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # faster on a CPU
    with deterministic(1):
        torch.manual_seed(seed)
        out["val_accuracy_before"], out["val_loss_before"] = ev._score(model.eval(), "val", size, data)
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, nesterov=True, weight_decay=4e-5)
        warm = max(1, steps // 10)
        rng = np.random.default_rng(seed)
        train_x, train_y = data["train_x"], data["train_y"]
        model.train()
        for step in range(steps):
            for group in opt.param_groups:
                group["lr"] = lr * min(1.0, (step + 1) / warm) * 0.5 * (1 + math.cos(math.pi * step / steps))
            idx = np.sort(rng.choice(len(train_y), batch, replace=False))
            loss = F.cross_entropy(
                model(ev._inputs(train_x[idx], size, data)), torch.from_numpy(train_y[idx])
            )
            if not torch.isfinite(loss):
                raise HynasError(f"training diverged at step {step + 1}: loss {float(loss)} (lr {lr:g})")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        ev._recalibrate_bn(model, size, data)
        out["val_accuracy_after"], out["val_loss_after"] = ev._score(model.eval(), "val", size, data)
    model.to(memory_format=torch.contiguous_format)  # type: ignore[call-overload]  # for safetensors
    out["steps"] = float(steps)
    out["eval_images"] = float(eval_images)
    out["lr"] = float(lr)
    return out


def fmnist_or_none(data_dir: str | None) -> tuple[dict[str, np.ndarray] | None, str]:
    """Fashion-MNIST's arrays, or None and why not (BatchNorm calibration is then skipped)."""
    from hynas.evaluators.vision import load_fmnist

    try:
        return load_fmnist(data_dir), ""
    except HynasError as exc:
        return None, str(exc)
