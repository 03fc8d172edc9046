"""Training machinery shared by weight-sharing supernets, differentiable search and model conversion.

:mod:`hynas.training.checkpoint`: bit-exact resumable checkpoints (safetensors + JSON header);
:mod:`hynas.training.network`: a built network's weights with its space, architecture and options;
:mod:`hynas.training.data`: image-classification data (Fashion-MNIST, image folders, ``.npz``).
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

__all__ = [
    "CheckpointInfo",
    "ImageData",
    "fingerprint",
    "load_checkpoint",
    "load_images",
    "read_checkpoint",
    "save_checkpoint",
]
