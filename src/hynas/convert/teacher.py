"""The teacher: a plain Transformer (every layer ``attn`` + ``mlp``) of the ``hybrid-lm`` builder.

:func:`teacher_config` writes its layer spec, :func:`train_teacher` trains it on a byte corpus
(resumable, :func:`hynas.convert.stage.run_stage`) and saves it with its spec and the data's
fingerprint (:func:`hynas.convert.lmfile.save_lm`); :func:`load_teacher` loads any saved
all-attention ``hybrid-lm`` model and refuses anything else with one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from hynas.convert.lmfile import Batches, lm_loss, load_lm, save_lm
from hynas.convert.stage import run_stage
from hynas.core.errors import HynasError
from hynas.models.hybrid_lm import HybridLM
from hynas.models.lm_spec import LayerSpec, LMConfig, format_config
from hynas.training.loop import deterministic

__all__ = ["TEACHER_FILE", "load_teacher", "teacher_config", "train_teacher"]

TEACHER_FILE = "teacher.safetensors"


def teacher_config(
    layers: int = 4, d_model: int = 64, heads: int = 4, kv_heads: int = 0, mlp: int = 4
) -> LMConfig:
    """``layers`` × (``attn-h{heads}-kv{kv_heads}`` / ``mlp-f{mlp·d_model}``), head size d_model/heads."""
    kv_heads = kv_heads or heads
    if layers < 1 or heads < 1 or mlp < 1 or d_model % heads:
        raise HynasError(f"teacher: need layers, heads, mlp >= 1 and heads dividing d_model={d_model}")
    layer = LayerSpec("attn", heads=heads, kv_heads=kv_heads, channel="mlp", hidden=mlp * d_model)
    return LMConfig(d_model, (layer,) * layers, head_dim=d_model // heads).check()


def check_teacher(cfg: LMConfig, where: str) -> None:
    """A teacher is all attention with dense MLPs."""
    bad = [i for i, ly in enumerate(cfg.layers) if ly.mixer != "attn" or ly.channel != "mlp"]
    if bad:
        raise HynasError(
            f"{where} is not a plain Transformer: layers {bad} are not attn/mlp ({format_config(cfg)}); "
            "a teacher has full attention and a dense MLP in every layer"
        )


def train_teacher(
    out: str | Path,
    cfg: LMConfig,
    batches: Batches,
    steps: int = 200,
    lr: float = 1e-3,
    seed: int = 0,
    every: int = 50,
    threads: int = 1,
    stop_after: int | None = None,
) -> Path:
    """Train ``cfg`` on ``batches`` for ``steps`` steps, checkpointing in ``out``; the teacher's file.

    Running it again with the same arguments resumes the checkpoint; the teacher file
    (``out/teacher.safetensors``) is written when all steps are done.
    """
    check_teacher(cfg, "the teacher's spec")
    out = Path(out)
    with deterministic(threads):
        torch.manual_seed(seed)
        model = HybridLM(cfg)
        config: dict[str, Any] = {
            "spec": format_config(cfg), "steps": steps, "lr": lr, "seed": seed, "context": batches.context,
            "batch": batches.batch, "mqar_every": batches.mqar_every,
        }  # fmt: skip
        done = run_stage(
            out / "teacher.ckpt.safetensors", model=model, params=model.parameters(),
            loss_fn=lambda x, y: lm_loss(model(x), y), batches=batches, steps=steps, lr=lr, seed=seed,
            kind="convert-teacher", config=config, every=every, stop_after=stop_after,
        )  # fmt: skip
    path = out / TEACHER_FILE
    if done == steps:
        save_lm(path, model, batches.fingerprint(), {"trained_steps": steps, **config})
    return path


def load_teacher(path: str | Path) -> tuple[HybridLM, dict[str, Any]]:
    """A saved all-attention ``hybrid-lm`` model (frozen) and its header."""
    model, header = load_lm(path, "teacher file")
    check_teacher(model.cfg, f"teacher {path}")
    for p in model.parameters():
        p.requires_grad_(False)
    return model, header
