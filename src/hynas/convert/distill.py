"""Staged distillation of a carved hybrid from its teacher (after mmMamba's three stages, Liao et
al., "Multimodal Mamba", 2025):

1. ``align``: per-layer alignment. Only the converted parts train; each sees the teacher's input to
   that layer and is pulled towards the teacher's output there
   (:func:`hynas.training.distill.alignment_loss`, mean over the converted parts).
2. ``kd``: end-to-end distillation, every weight trains on ``KL(teacher ‖ student)`` of the logits
   (:func:`hynas.training.distill.kd_loss`, temperature ``temperature``).
3. ``finetune`` (optional, 0 steps by default): next-byte cross-entropy on the data.

MoE layers add their load-balancing loss (×0.01) in stages 2 and 3. Each stage is a
:func:`~hynas.convert.stage.run_stage` with its own checkpoint in ``out``
(``align.ckpt.safetensors``, ...), so a run killed at any moment and started again with the same
arguments continues from the last checkpoint and ends with the same weights; the result is
``out/student.safetensors``.
"""

from __future__ import annotations

import resource
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from hynas.convert.carve import layer_io
from hynas.convert.lmfile import Batches, lm_loss, save_lm
from hynas.convert.stage import run_stage
from hynas.core.errors import HynasError
from hynas.models.hybrid_lm import HybridLM
from hynas.models.lm_spec import format_config
from hynas.spaces.hybrid_convert import Plan, format_plan
from hynas.training.checkpoint import fingerprint
from hynas.training.distill import alignment_loss, kd_loss
from hynas.training.loop import deterministic

__all__ = ["STAGES", "STUDENT_FILE", "DistillOptions", "converted_parts", "distill", "model_digest"]

STAGES = ("align", "kd", "finetune")
STUDENT_FILE = "student.safetensors"


@dataclass(frozen=True)
class DistillOptions:
    """Steps and learning rates of the three stages, KD temperature, checkpoint interval, seed."""

    align_steps: int = 100
    kd_steps: int = 100
    finetune_steps: int = 0
    align_lr: float = 3e-3
    kd_lr: float = 1e-3
    finetune_lr: float = 5e-4
    temperature: float = 1.0
    every: int = 25
    seed: int = 0

    def check(self) -> DistillOptions:
        for name in ("align_steps", "kd_steps", "finetune_steps", "every", "seed"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise HynasError(f"distillation option {name} must be a whole number >= 0, got {v!r}")
        for name in ("align_lr", "kd_lr", "finetune_lr", "temperature"):
            if not getattr(self, name) > 0:
                raise HynasError(f"distillation option {name} must be > 0, got {getattr(self, name)!r}")
        return self


def converted_parts(plan: Plan) -> list[tuple[int, str]]:
    """(layer, ``mixer`` or ``ffn``) of every converted part of ``plan``."""
    out = [(i, "mixer") for i, (mix, _) in enumerate(plan) if mix != "keep"]
    return out + [(i, "ffn") for i, (_, moe) in enumerate(plan) if moe]


def model_digest(model: nn.Module) -> str:
    """A fingerprint of a model's weights (names a teacher in a student's checkpoints)."""
    return fingerprint(*(v for _, v in sorted(model.state_dict().items())))


def _align_loss(teacher: HybridLM, student: HybridLM, parts: list[tuple[int, str]], x: Tensor) -> Tensor:
    io = layer_io(teacher, x)
    losses = []
    for i, part in parts:
        module: Any = getattr(student.blocks[i], part)
        out = module(io[i]["mixer_in"], None, 0) if part == "mixer" else module(io[i]["ffn_in"])
        losses.append(alignment_loss(out, io[i][f"{part}_out"]))
    return torch.stack(losses).mean()


def distill(
    out: str | Path | None,
    teacher: HybridLM,
    student: HybridLM,
    plan: Plan,
    batches: Batches,
    opts: DistillOptions | None = None,
    stop: tuple[str, int] | None = None,
    threads: int = 1,
) -> dict[str, Any]:
    """Run the three stages on ``student`` (in place), checkpointing in ``out`` (``None``: no files).

    ``stop=(stage, n)`` ends the run after ``n`` steps of that stage, as a kill would (for tests).
    Returns per-stage wall time (s), peak resident memory of the process (MB) and steps run.
    """
    opts = (opts or DistillOptions()).check()
    parts = converted_parts(plan)
    teacher.eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    folder = None if out is None else Path(out)
    base = {
        "teacher": model_digest(teacher), "student": format_config(student.cfg), "plan": format_plan(plan),
        "start": model_digest(student),  # the carved weights: another seeding is another run
        "context": batches.context, "batch": batches.batch, "mqar_every": batches.mqar_every, **asdict(opts),
    }  # fmt: skip
    aux = 0.01

    def student_loss(target: str) -> Any:
        def loss(x: Tensor, y: Tensor) -> Tensor:
            logits = student(x)
            main = lm_loss(logits, y) if target == "data" else kd_loss(logits, teacher(x), opts.temperature)
            return main + aux * student.aux_loss()

        return loss

    converted = [p for i, part in parts for p in getattr(student.blocks[i], part).parameters()]
    stages = (
        ("align", opts.align_steps if parts else 0, opts.align_lr, converted,
         lambda x, _y: _align_loss(teacher, student, parts, x)),
        ("kd", opts.kd_steps, opts.kd_lr, list(student.parameters()), student_loss("teacher")),
        ("finetune", opts.finetune_steps, opts.finetune_lr, list(student.parameters()), student_loss("data")),
    )  # fmt: skip
    report: dict[str, Any] = {}
    with deterministic(threads):
        for k, (name, steps, lr, params, loss_fn) in enumerate(stages):
            t0 = time.perf_counter()
            done = run_stage(
                None if folder is None else folder / f"{name}.ckpt.safetensors", model=student, params=params,
                loss_fn=loss_fn, batches=batches, steps=steps, lr=lr, seed=opts.seed + 1000 * (k + 1),
                kind=f"convert-{name}", config={**base, "stage": name}, every=opts.every,
                stop_after=stop[1] if stop is not None and stop[0] == name else None,
            )  # fmt: skip
            report[name] = {
                "steps": done,
                "wall_s": time.perf_counter() - t0,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
            if done < steps:
                return report
    if folder is not None:
        save_lm(folder / STUDENT_FILE, student, batches.fingerprint(), {"plan": format_plan(plan), **base})
    return report
