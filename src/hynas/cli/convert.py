"""``hynas convert teacher|carve|distill``: train a Transformer, carve it into a hybrid, distil it.

``teacher`` trains a plain Transformer of the ``hybrid-lm`` builder on the standard-library corpus
(resumable: run it again to continue) and writes ``OUT/teacher.safetensors``; ``carve`` writes the
converted model of a plan without training; ``distill`` carves and runs the three distillation
stages with checkpoints in ``OUT`` (run it again after a kill to continue). See ``docs/convert.md``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from hynas.core.errors import HynasError

__all__ = ["convert_app"]

convert_app = typer.Typer(
    name="convert",
    help="Turn a trained Transformer into a hybrid: train a teacher, carve layers, distil.",
    no_args_is_help=True,
)

_Steps = Annotated[int, typer.Option(help="training steps")]


def _batches(context: int, batch: int, mqar_every: int) -> Any:
    from hynas.convert.lmfile import Batches
    from hynas.evaluators.lm import make_mqar, stdlib_corpus

    def maker(n: int, rng: Any) -> Any:
        return make_mqar(n, 32, 4, rng)

    return Batches(stdlib_corpus()["train"], context, batch, maker if mqar_every else None, mqar_every)


def _scores(model: Any, context: int) -> dict[str, float]:
    import numpy as np

    from hynas.convert.lmfile import bits_per_byte, recall
    from hynas.evaluators.lm import make_mqar, stdlib_corpus

    xn, yn = make_mqar(256, 32, 4, np.random.default_rng(10_000))
    return {"bpb": bits_per_byte(model, stdlib_corpus()["val"], context), "recall": recall(model, xn, yn)}


@convert_app.command("teacher")
def teacher(
    out: Annotated[Path, typer.Argument(help="folder for the checkpoint and teacher.safetensors")],
    preset: Annotated[
        str, typer.Option(help="shape: tiny (4×32) or bench (6×256), the search spaces' teachers")
    ] = "tiny",
    spec: Annotated[
        str | None,
        typer.Option(
            help="any all-attention hybrid-lm spec instead of --preset, e.g. d64.hd16.v256:attn-h4-kv4/mlp-f128,attn-h4-kv4/mlp-f128"
        ),
    ] = None,
    steps: _Steps = 300,
    batch: Annotated[int, typer.Option(help="sequences per step")] = 16,
    context: Annotated[int, typer.Option(help="bytes per sequence")] = 64,
    lr: Annotated[float, typer.Option(help="peak learning rate (warm-up + cosine)")] = 1e-3,
    mqar_every: Annotated[
        int, typer.Option(help="every N-th batch is associative recall (0: text only)")
    ] = 4,
    seed: Annotated[int, typer.Option(help="seed of weights and batches")] = 0,
    every: Annotated[int, typer.Option(help="checkpoint every N steps")] = 50,
    threads: Annotated[int, typer.Option(help="CPU threads (the same number gives the same weights)")] = 1,
) -> None:
    """Train (or continue training) a plain Transformer teacher on the standard-library corpus."""
    from hynas.convert.teacher import load_teacher, train_teacher
    from hynas.spaces.hybrid_convert import TEACHERS
    from hynas.spaces.hybrid_lm import parse_config

    if preset not in TEACHERS:
        raise HynasError(f"unknown teacher preset {preset!r}; valid presets: {', '.join(TEACHERS)}")
    path = train_teacher(
        out,
        parse_config(TEACHERS[preset] if spec is None else spec),
        _batches(context, batch, mqar_every),
        steps,
        lr,
        seed,
        every,
        threads,
    )
    model, _ = load_teacher(path)
    typer.echo(json.dumps({"teacher": str(path), **_scores(model, context)}))


def _carve(teacher_path: Path, plan_text: str, calib: int, overrides: dict[str, Any]) -> tuple[Any, ...]:
    """Teacher, its header's ``extra``, the carved student, the plan and the training context."""
    from dataclasses import replace

    from hynas.convert.carve import carve
    from hynas.convert.teacher import load_teacher
    from hynas.evaluators.convert import conversion_space_for, windows
    from hynas.evaluators.lm import stdlib_corpus
    from hynas.spaces.hybrid_convert import CarveOptions, parse_plan

    model, header = load_teacher(teacher_path)
    try:
        opts = conversion_space_for(model, "teacher").options
    except HynasError:
        opts = CarveOptions()
    opts = replace(opts, **{k: v for k, v in overrides.items() if v is not None}).check()
    plan = parse_plan(plan_text, len(model.cfg.layers))
    extra = header.get("extra", {})
    context = int(extra.get("context", 64))
    idx = windows(stdlib_corpus()["train"], calib, context) if calib else None
    return model, extra, carve(model, plan, opts, idx), plan, context


_Plan = Annotated[str, typer.Argument(help="per layer keep|ssm|swa[+moe], e.g. keep,ssm,swa+moe,moe")]
_Teacher = Annotated[Path, typer.Argument(help="teacher file (hynas convert teacher)")]
_State = Annotated[int | None, typer.Option(help="SSM state size")]
_Window = Annotated[int | None, typer.Option(help="sliding window")]
_Sinks = Annotated[int | None, typer.Option(help="attention sinks of the window (0: none)")]
_Experts = Annotated[int | None, typer.Option(help="experts per MoE layer")]
_TopK = Annotated[int | None, typer.Option("--top-k", help="experts per token")]
_Calib = Annotated[int, typer.Option(help="calibration windows for the seeding (0: weights only)")]
_SsmInit = Annotated[
    str | None, typer.Option(help="new SSM layers: attention (seeded from the attention weights) or mamba")
]


def _overrides(
    state: int | None,
    window: int | None,
    sinks: int | None,
    experts: int | None,
    top_k: int | None,
    ssm_init: str | None,
) -> dict[str, Any]:
    """The carving options given on the command line (``None``: the teacher's space's)."""
    return {
        "state": state,
        "window": window,
        "sinks": sinks,
        "experts": experts,
        "top_k": top_k,
        "ssm_init": ssm_init,
    }


@convert_app.command("carve")
def carve_cmd(
    teacher_file: _Teacher, plan: _Plan,
    out: Annotated[Path, typer.Option("--out", help="file for the carved model")],
    state: _State = None, window: _Window = None, sinks: _Sinks = None, experts: _Experts = None,
    top_k: _TopK = None, calib: _Calib = 8, ssm_init: _SsmInit = None,
) -> None:  # fmt: skip
    """Carve the teacher into the hybrid of PLAN (no training) and save it."""
    from hynas.convert.lmfile import save_lm
    from hynas.models.lm_spec import format_config

    over = _overrides(state, window, sinks, experts, top_k, ssm_init)
    _, _, student, _, context = _carve(teacher_file, plan, calib, over)
    save_lm(out, student, "", {"plan": plan, "teacher": str(teacher_file)})
    typer.echo(
        json.dumps({"model": str(out), "spec": format_config(student.cfg), **_scores(student, context)})
    )


@convert_app.command("distill")
def distill_cmd(
    teacher_file: _Teacher, plan: _Plan,
    out: Annotated[Path, typer.Option("--out", help="folder for stage checkpoints and student.safetensors")],
    align_steps: Annotated[int, typer.Option(help="stage 1: per-layer alignment steps")] = 100,
    kd_steps: Annotated[int, typer.Option(help="stage 2: logit distillation steps")] = 100,
    finetune_steps: Annotated[int, typer.Option(help="stage 3: fine-tune steps on the data (0: skip)")] = 0,
    temperature: Annotated[float, typer.Option(help="KD temperature")] = 1.0,
    batch: Annotated[int, typer.Option(help="sequences per step")] = 16,
    every: Annotated[int, typer.Option(help="checkpoint every N steps")] = 25,
    seed: Annotated[int, typer.Option(help="seed of the batches")] = 0,
    state: _State = None, window: _Window = None, sinks: _Sinks = None, experts: _Experts = None,
    top_k: _TopK = None, calib: _Calib = 8, ssm_init: _SsmInit = None,
    threads: Annotated[int, typer.Option(help="CPU threads (the same number gives the same weights)")] = 1,
) -> None:  # fmt: skip
    """Carve the teacher and distil the hybrid in stages; run again after a kill to continue."""
    from hynas.convert.distill import STUDENT_FILE, DistillOptions, distill

    over = _overrides(state, window, sinks, experts, top_k, ssm_init)
    model, extra, student, parsed, context = _carve(teacher_file, plan, calib, over)
    opts = DistillOptions(
        align_steps, kd_steps, finetune_steps, temperature=temperature, every=every, seed=seed
    )
    batches = _batches(context, batch, int(extra.get("mqar_every", 0)))  # the teacher's share of recall
    report = distill(out, model, student, parsed, batches, opts.check(), threads=threads)
    result = {"student": str(out / STUDENT_FILE), "stages": report, **_scores(student, context)}
    typer.echo(json.dumps({**result, "teacher": _scores(model, context)}))
