"""Training machinery shared by weight-sharing supernets, differentiable search and model conversion.

:mod:`hynas.training.checkpoint`: bit-exact resumable checkpoints (safetensors + JSON header);
:mod:`hynas.training.network`: a built network's weights with its space, architecture and options.
"""

from __future__ import annotations

from hynas.training.checkpoint import (
    CheckpointInfo,
    fingerprint,
    load_checkpoint,
    read_checkpoint,
    save_checkpoint,
)

__all__ = ["CheckpointInfo", "fingerprint", "load_checkpoint", "read_checkpoint", "save_checkpoint"]
