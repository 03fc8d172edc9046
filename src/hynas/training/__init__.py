"""Training machinery shared by weight-sharing supernets, differentiable search and model conversion.

:mod:`hynas.training.checkpoint`: bit-exact resumable checkpoints (safetensors + JSON header);
:mod:`hynas.training.network`: a built network's weights with its space, architecture and options;
:mod:`hynas.training.data`: image-classification data (Fashion-MNIST, image folders, ``.npz``);
:mod:`hynas.training.loop`: :class:`ResumableRun`, the checkpoint-every-N-steps, resume-after-a-kill loop;
:mod:`hynas.training.distill`: distillation losses (soft cross-entropy, KL with temperature, layer alignment).
"""

from __future__ import annotations

from hynas.training.checkpoint import (
    CheckpointInfo,
    fingerprint,
    load_checkpoint,
    read_checkpoint,
    save_checkpoint,
)
from hynas.training.data import ImageData, load_images
from hynas.training.distill import alignment_loss, kd_loss, soft_cross_entropy
from hynas.training.loop import ResumableRun

__all__ = [
    "CheckpointInfo",
    "ImageData",
    "ResumableRun",
    "alignment_loss",
    "fingerprint",
    "kd_loss",
    "load_checkpoint",
    "load_images",
    "read_checkpoint",
    "save_checkpoint",
    "soft_cross_entropy",
]
