"""Trained hybrid-LM models on disk, and the byte/recall batches conversion trains on.

A model file is one safetensors file (atomic, checksummed, never pickled; written by
:func:`hynas.training.checkpoint.write_file`) tagged ``hynas-lm`` whose JSON header holds the
model's layer spec (:func:`hynas.models.lm_spec.format_config`), the fingerprint of the data it was
trained on and free-form ``extra`` (steps, the teacher it was converted from, ...). :func:`load_lm`
rebuilds :class:`~hynas.models.hybrid_lm.HybridLM` from the spec and loads the weights strictly.

:class:`Batches` draws training batches: byte windows of a text corpus and, every ``mqar_every``-th
step, a batch of multi-query associative recall sequences from a generator the caller supplies
(the corpus and the recall task live in :mod:`hynas.evaluators.lm`, above this package).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from hynas.core.errors import HynasError
from hynas.models.hybrid_lm import HybridLM
from hynas.models.lm_spec import LMConfig, format_config, parse_config
from hynas.training.checkpoint import VERSION, fingerprint, read_file, write_file

__all__ = [
    "LM_FORMAT",
    "Batches",
    "bits_per_byte",
    "check_config_matches",
    "lm_loss",
    "load_lm",
    "recall",
    "save_lm",
]

LM_FORMAT = "hynas-lm"

#: (n, seq_len, rng) -> (inputs, targets with -100 where nothing is asked)
RecallMaker = Callable[[int, np.random.Generator], tuple[np.ndarray, np.ndarray]]


def save_lm(
    path: str | Path, model: HybridLM, data_fingerprint: str, extra: Mapping[str, Any] | None = None
) -> Path:
    """Write ``model`` with its spec, the data fingerprint and ``extra`` (atomically)."""
    tensors = {k: v.detach().cpu().clone().contiguous() for k, v in model.state_dict().items()}
    header = {
        "version": VERSION,
        "spec": format_config(model.cfg),
        "tie_embeddings": model.cfg.tie_embeddings,
        "data_fingerprint": data_fingerprint,
        "params": sum(p.numel() for p in model.parameters()),
        "extra": dict(extra or {}),
    }
    return write_file(path, tensors, header, LM_FORMAT)


def load_lm(path: str | Path, what: str = "model file") -> tuple[HybridLM, dict[str, Any]]:
    """The saved model (eval mode) and its header; one clear error for a corrupt or foreign file."""
    header, tensors = read_file(path, LM_FORMAT, what)
    try:
        cfg = parse_config(header["spec"], tie_embeddings=bool(header.get("tie_embeddings", True)))
    except (KeyError, HynasError) as exc:
        raise HynasError(f"{what} {path} has no valid model spec ({exc})") from None
    model = HybridLM(cfg)
    own = model.state_dict()
    if set(own) != set(tensors) or any(own[k].shape != tensors[k].shape for k in own):
        raise HynasError(f"{what} {path}: its weights do not fit the spec it names ({header['spec']})")
    model.load_state_dict(tensors)
    return model.eval(), header


@dataclass
class Batches:
    """Training batches: byte windows of ``text`` (``context`` + 1 bytes), and a recall batch from
    ``recall_maker`` at steps ``s`` with ``s % mqar_every == mqar_every - 1`` (0: text only)."""

    text: np.ndarray
    context: int = 64
    batch: int = 16
    recall_maker: RecallMaker | None = None
    mqar_every: int = 0

    def __post_init__(self) -> None:
        if len(self.text) < self.context + 2:
            raise HynasError(
                f"the training text has {len(self.text)} bytes, fewer than a context of {self.context}"
            )
        if self.mqar_every and self.recall_maker is None:
            raise HynasError("mqar_every needs a recall task (recall_maker)")

    def fingerprint(self) -> str:
        return fingerprint(self.text)

    def is_recall(self, step: int) -> bool:
        return bool(self.mqar_every) and step % self.mqar_every == self.mqar_every - 1

    def __call__(self, step: int, rng: np.random.Generator) -> tuple[Tensor, Tensor]:
        if self.is_recall(step) and self.recall_maker is not None:
            xn, yn = self.recall_maker(self.batch, rng)
            return torch.from_numpy(xn), torch.from_numpy(yn)
        starts = rng.integers(0, len(self.text) - self.context - 1, size=self.batch)
        chunk = torch.from_numpy(
            np.stack([self.text[s : s + self.context + 1] for s in starts]).astype(np.int64)
        )
        return chunk[:, :-1], chunk[:, 1:]


def lm_loss(logits: Tensor, targets: Tensor) -> Tensor:
    """Next-token cross-entropy (nats), positions with target -100 ignored."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100)


def bits_per_byte(model: HybridLM, data: np.ndarray, context: int = 64, windows: int = 32) -> float:
    """Cross-entropy in bits per byte on ``windows`` fixed, evenly spaced windows of ``data``."""
    starts = np.linspace(0, len(data) - context - 2, windows).astype(np.int64)
    chunk = torch.from_numpy(np.stack([data[s : s + context + 1] for s in starts]).astype(np.int64))
    with torch.no_grad():
        nats = lm_loss(model(chunk[:, :-1]), chunk[:, 1:])
    return float(nats) / math.log(2)


def recall(model: HybridLM, inputs: np.ndarray, targets: np.ndarray) -> float:
    """Percent of the asked positions (target != -100) whose arg-max prediction is the target."""
    with torch.no_grad():
        pred = model(torch.from_numpy(inputs)).argmax(-1).numpy()
    mask = targets != -100
    return float(100.0 * (pred[mask] == targets[mask]).mean())


def check_config_matches(cfg: LMConfig, want: LMConfig, what: str) -> None:
    """One clear error when ``cfg`` is not ``want`` (a teacher of another shape)."""
    if format_config(cfg) != format_config(want):
        raise HynasError(f"{what} is {format_config(cfg)}, but {format_config(want)} was expected")
