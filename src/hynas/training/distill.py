"""Distillation losses shared by supernet training, differentiable search and model conversion.

- :func:`soft_cross_entropy`: cross-entropy against a teacher's softmax, BigNAS's in-place
  distillation (Yu et al., "BigNAS", ECCV 2020): the largest sub-network teaches the others.
- :func:`kd_loss`: Hinton et al.'s knowledge distillation ("Distilling the Knowledge in a Neural
  Network", 2015), KL(teacher ‖ student) of temperature-softened distributions times ``T²`` so its
  gradients keep their size as ``T`` changes; the logit stage of mmMamba's distillation.
- :func:`alignment_loss`: the mean squared error between a converted layer's output and the
  teacher layer's, divided by the teacher output's mean square, so layers of any scale weigh alike
  (the per-layer stage of mmMamba, Liao et al., 2025).

Teacher tensors are detached: no gradient reaches the teacher.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from hynas.core.errors import HynasError

__all__ = ["alignment_loss", "kd_loss", "soft_cross_entropy"]


def soft_cross_entropy(student: Tensor, teacher: Tensor) -> Tensor:
    """``-Σ softmax(teacher) · log_softmax(student)`` over the last dimension, averaged over the rest."""
    target = F.softmax(teacher.detach(), -1)
    return -(target * F.log_softmax(student, -1)).sum(-1).mean()


def kd_loss(student: Tensor, teacher: Tensor, temperature: float = 1.0) -> Tensor:
    """``T² · KL(softmax(teacher/T) ‖ softmax(student/T))`` over the last dimension, averaged over the rest."""
    if not temperature > 0:
        raise HynasError(f"distillation temperature must be > 0, got {temperature!r}")
    if student.shape != teacher.shape:
        raise HynasError(
            f"student logits {tuple(student.shape)} and teacher logits {tuple(teacher.shape)} differ"
        )
    t = float(temperature)
    log_p = F.log_softmax(teacher.detach() / t, -1)
    log_q = F.log_softmax(student / t, -1)
    kl = (log_p.exp() * (log_p - log_q)).sum(-1)
    return kl.mean() * t * t


def alignment_loss(student: Tensor, teacher: Tensor, eps: float = 1e-8) -> Tensor:
    """``mean((student - teacher)²) / mean(teacher²)``: 0 when equal, 1 for an all-zero student."""
    if student.shape != teacher.shape:
        raise HynasError(
            f"student output {tuple(student.shape)} and teacher output {tuple(teacher.shape)} differ"
        )
    target = teacher.detach()
    return F.mse_loss(student, target) / (target.pow(2).mean() + eps)
