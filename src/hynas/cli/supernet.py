"""``hynas supernet train`` and ``hynas supernet eval``: train a weight-sharing supernet, score sub-networks.

``train`` trains the elastic ``mobile`` supernet (:mod:`hynas.supernets.train`: once-for-all's
progressive shrinking, or BigNAS's sandwich rule with in-place distillation) on Fashion-MNIST, an
image folder or a ``.npz`` file (:mod:`hynas.training.data`), checkpointing to
``OUT/supernet.safetensors``; ``--resume`` continues a killed run bit for bit. ``eval`` scores
architectures with inherited weights, as the ``supernet`` evaluator does. See ``docs/supernet.md``.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from hynas.cli import common
from hynas.core.errors import HynasError

__all__ = ["CHECKPOINT_NAME", "supernet_app"]

CHECKPOINT_NAME = "supernet.safetensors"

supernet_app = typer.Typer(
    name="supernet",
    help="Weight-sharing supernets: train one (once-for-all / BigNAS), score its sub-networks.",
    no_args_is_help=True,
)


def _numbers(text: str, what: str, kind: type[float] | type[int]) -> tuple[Any, ...]:
    """Comma-separated whole (``int``) or positive (``float``) numbers; one clear error otherwise."""
    example = "3,5,7" if kind is int else "1,1,2,2"
    try:
        values = tuple(kind(s) for s in text.split(",") if s.strip())
    except ValueError:
        words = "whole numbers" if kind is int else "numbers"
        raise HynasError(
            f"malformed {what} {text!r}; expected comma-separated {words}, e.g. {example}"
        ) from None
    if not values:
        raise HynasError(f"{what} is empty")
    if kind is float and not all(0 < v < math.inf for v in values):
        raise HynasError(f"{what} must be positive numbers, got {text!r}")
    return values


def _ints(text: str, what: str) -> tuple[int, ...]:
    return _numbers(text, what, int)


def _floats(text: str, what: str) -> tuple[float, ...]:
    return _numbers(text, what, float)


def _steps(steps: str | None, epochs: str | None, schedule: str, n_train: int, batch: int) -> tuple[int, ...]:
    """Steps per phase from ``--steps`` or ``--epochs`` (one value for every phase, or one per phase)."""
    phases = 4 if schedule == "progressive" else 1
    if steps is not None and epochs is not None:
        raise HynasError("give --steps or --epochs, not both")
    if epochs is not None:
        values: tuple[int, ...] = tuple(
            max(1, math.ceil(e * n_train / batch)) for e in _floats(epochs, "--epochs")
        )
    else:
        values = _ints(steps or ("100" if phases == 4 else "400"), "--steps")
    if len(values) == 1:
        values = values * phases
    if len(values) != phases:
        raise HynasError(
            f"{schedule} training has {phases} phase(s); give 1 or {phases} values, got {len(values)}"
        )
    return values


def _space_options(
    resolutions: str | None, kernels: str | None, expands: str | None, depths: str | None
) -> dict[str, list[int]]:
    from hynas.spaces import get_space

    full = get_space("mobile")
    out = {}
    for name, text in (
        ("resolutions", resolutions),
        ("kernels", kernels),
        ("expands", expands),
        ("depths", depths),
    ):
        allowed = tuple(getattr(full, name))
        values = allowed if text is None else _ints(text, f"--{name}")
        if not set(values) <= set(allowed):
            raise HynasError(
                f"--{name} {text} has choices outside the mobile space ({', '.join(map(str, allowed))})"
            )
        out[name] = sorted(set(values))
    return out


class _Progress:
    """A rich progress bar on a terminal, plain log lines otherwise."""

    def __init__(self, total: int, done: int) -> None:
        self.total, self.live = total, common.console.is_terminal
        self.loss, self.acc = float("nan"), "largest –  smallest –"
        self.bar: Any = None
        if self.live:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(
                TextColumn("[bold]{task.fields[phase]:>8}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("loss {task.fields[loss]}"), TextColumn("{task.fields[acc]}"), TimeElapsedColumn(),
                console=common.console,
            )  # fmt: skip
            self.task = self.bar.add_task(
                "train", total=total, completed=done, phase="", loss="–", acc=self.acc
            )
            self.bar.start()

    def step(self, step: int, phase: str, loss: float) -> None:
        self.loss = loss
        if self.bar is not None:
            self.bar.update(self.task, completed=step, phase=phase, loss=f"{loss:.3f}")

    def evaluated(self, step: int, phase: str, largest: float, smallest: float) -> None:
        self.acc = f"val acc largest {largest:.1f}%  smallest {smallest:.1f}%"
        if self.bar is not None:
            self.bar.update(self.task, acc=self.acc)
        else:
            common.console.print(
                f"step {step}/{self.total} {phase} loss {self.loss:.4f} {self.acc}", soft_wrap=True
            )

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()


@supernet_app.command("train")
def train(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="folder for the checkpoint (OUT/supernet.safetensors)")
    ],
    space: Annotated[str, typer.Option(help="search space of the supernet")] = "mobile",
    data: Annotated[
        str, typer.Option(help="fashion-mnist, an image folder (one sub-folder per class) or a .npz file")
    ] = "fashion-mnist",
    schedule: Annotated[
        str, typer.Option(help="progressive (once-for-all) or sandwich (BigNAS)")
    ] = "progressive",
    steps: Annotated[
        str | None, typer.Option(help="steps per phase: one number or one per phase (default 100 / 400)")
    ] = None,
    epochs: Annotated[
        str | None, typer.Option(help="epochs per phase instead of --steps (one or one per phase)")
    ] = None,
    batch: Annotated[int, typer.Option(help="images per step")] = 32,
    lr: Annotated[float, typer.Option(help="peak learning rate (cosine per phase)")] = 0.05,
    distill: Annotated[str, typer.Option(help="inplace, frozen (progressive only) or none")] = "inplace",
    sandwich_random: Annotated[int, typer.Option(help="random sub-networks per sandwich step")] = 2,
    sandwich_resolution: Annotated[
        str,
        typer.Option(
            help="extremes: the sandwich's largest/smallest at the extreme resolutions; random: at random "
            "ones; balanced: extremes, and the random sub-networks at the resolutions between them; "
            "shared: one random resolution a step for all of them; anchored: the largest at the largest "
            "resolution, one random resolution a step for the others"
        ),
    ] = "extremes",
    resolution_weights: Annotated[
        str | None,
        typer.Option(
            help="shared/anchored: odds of each resolution in the step's draw, e.g. 1,1,1,2 (default even)"
        ),
    ] = None,
    ema_decay: Annotated[
        float, typer.Option(help="keep a moving average of the weights (e.g. 0.998), scored instead; 0: none")
    ] = 0.0,
    seed: Annotated[int, typer.Option(help="seed of batches, sub-networks and initial weights")] = 0,
    resume: Annotated[bool, typer.Option(help="continue the checkpoint in OUT (same options)")] = False,
    checkpoint_every: Annotated[int, typer.Option(help="save every N steps (0: at the end only)")] = 50,
    eval_every: Annotated[
        int | None,
        typer.Option(
            help="score largest/smallest every N steps and at the end (default: per phase; 0: at the end)"
        ),
    ] = None,
    eval_images: Annotated[int, typer.Option(help="validation images per progress score")] = 300,
    bn_images: Annotated[int, typer.Option(help="training images recalibrating BatchNorm per score")] = 128,
    val_fraction: Annotated[
        float, typer.Option(help="held out for validation when the data has no split")
    ] = 0.1,
    train_images: Annotated[int | None, typer.Option(help="use only the first N training images")] = None,
    image_size: Annotated[int | None, typer.Option(help="resize folder images to N×N")] = None,
    resolution_scale: Annotated[
        float | None,
        typer.Option(
            help="pixels per resolution unit (default: 2 × input size / largest resolution, at most 1)"
        ),
    ] = None,
    resolutions: Annotated[
        str | None, typer.Option(help="train only these resolutions (e.g. 128,160)")
    ] = None,
    kernels: Annotated[str | None, typer.Option(help="only these kernel sizes (e.g. 3,5)")] = None,
    expands: Annotated[str | None, typer.Option(help="only these expand ratios (e.g. 3,4)")] = None,
    depths: Annotated[str | None, typer.Option(help="only these depths (e.g. 2,3)")] = None,
    threads: Annotated[int, typer.Option(help="CPU threads (the same number gives the same weights)")] = 1,
    step_delay: Annotated[float, typer.Option(hidden=True, help="sleep after each step (kill tests)")] = 0.0,
) -> None:
    """Train the supernet; the same command with --resume continues a killed run bit for bit.

    The recipe that ranked sub-networks best in the benchmark (docs/supernet.md): --schedule sandwich --steps 2000 --distill none --lr 0.0125 --sandwich-resolution shared --resolution-weights 1,1,1,2
    """
    import torch

    from hynas.supernets.saved import build_supernet
    from hynas.supernets.train import SupernetTrainConfig, evaluate_subnet, train_supernet
    from hynas.training import read_checkpoint
    from hynas.training.data import load_images

    if space != "mobile":
        raise HynasError(f"no supernet for space {space!r}; supernets exist for: mobile")
    if threads < 1:
        raise HynasError(f"--threads must be >= 1, got {threads}")
    ckpt = out / CHECKPOINT_NAME
    if ckpt.exists() and not resume:
        step = read_checkpoint(ckpt).step
        raise HynasError(
            f"{ckpt} already holds a training at step {step}; add --resume to continue it, or pick another --out"
        )
    images = load_images(data, val_fraction=val_fraction, train_images=train_images, image_size=image_size)
    opts = _space_options(resolutions, kernels, expands, depths)
    scale = resolution_scale or min(1.0, round(2 * images.input_size / max(opts["resolutions"]), 4))
    cfg = SupernetTrainConfig(
        method=schedule, steps=_steps(steps, epochs, schedule, len(images.arrays["train_y"]), batch), batch=batch,
        lr=lr, distill=distill, sandwich_random=sandwich_random, seed=seed, checkpoint_every=checkpoint_every,
        sandwich_resolution=sandwich_resolution, ema_decay=ema_decay,
        resolution_weights=_floats(resolution_weights, "--resolution-weights") if resolution_weights else (),
    )  # fmt: skip
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    net = build_supernet(opts, {"num_classes": images.classes, "resolution_scale": scale})
    start = read_checkpoint(ckpt).step if ckpt.exists() else 0
    bounds = {sum(cfg.steps[: i + 1]) for i in range(len(cfg.steps))}
    every = (
        eval_every
        if eval_every is not None
        else (max(1, cfg.total_steps // 4) if schedule == "sandwich" else 0)
    )
    common.console.print(
        f"training the {schedule} mobile supernet on {images.name} ({len(images.arrays['train_y'])} training images, "
        f"{images.classes} classes, {images.input_size} px → {scale:g} px per resolution unit), "
        f"{cfg.total_steps} steps{f', resuming after step {start}' if 0 < start < cfg.total_steps else ''}",
        soft_wrap=True, highlight=False,
    )  # fmt: skip
    progress = _Progress(cfg.total_steps, start)
    scores: dict[str, float] = {}

    def on_step(rec: Any) -> None:
        progress.step(rec.step, rec.phase, rec.loss)
        if (
            rec.step == cfg.total_steps
            or (every and rec.step % every == 0)
            or (eval_every is None and rec.step in bounds)
        ):
            was = net.training
            for name, arch in (("largest", net.largest()), ("smallest", net.smallest())):
                scores[name] = evaluate_subnet(net, arch, images.arrays, bn_images, eval_images)["accuracy"]
            net.train(was)
            progress.evaluated(rec.step, rec.phase, scores["largest"], scores["smallest"])
        if step_delay:
            time.sleep(step_delay)

    t0 = time.perf_counter()
    try:  # a resumed run is checked against the checkpoint (options, data) even when it is complete
        records = train_supernet(
            net, cfg, images.arrays, checkpoint=ckpt, on_step=on_step, extra={"data": images.spec}
        )
    finally:
        progress.stop()
    if not records:
        common.console.print(f"{ckpt} is complete ({start} steps); nothing to do", soft_wrap=True)
        return
    common.console.print(
        f"saved {ckpt} after {cfg.total_steps} steps ({time.perf_counter() - t0:.0f} s); "
        f"validation accuracy largest {scores.get('largest', float('nan')):.1f}%, "
        f"smallest {scores.get('smallest', float('nan')):.1f}%\n"
        f"search it: hynas search --space mobile --evaluator supernet --evaluator-option checkpoint={ckpt} "
        "--objective accuracy --objective latency@roofline:raspi4",
        soft_wrap=True, highlight=False,
    )  # fmt: skip


@supernet_app.command("eval")
def eval_(
    checkpoint: Annotated[Path, typer.Argument(help="a supernet checkpoint (OUT/supernet.safetensors)")],
    archs: Annotated[
        list[str] | None, typer.Argument(help="architectures, or 'largest' / 'smallest'")
    ] = None,
    bn_images: Annotated[int, typer.Option(help="training images recalibrating BatchNorm")] = 128,
    eval_images: Annotated[int, typer.Option(help="validation images scored")] = 300,
    data: Annotated[str | None, typer.Option(help="read the training data from here instead")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Accuracy of sub-networks with inherited weights (BatchNorm recalibrated), as the supernet evaluator scores."""
    from hynas.evaluators.supernet import SupernetEvaluator

    ev = SupernetEvaluator(str(checkpoint), bn_images=bn_images, eval_images=eval_images, data=data)
    named = {"largest": ev.net.largest(), "smallest": ev.net.smallest()}
    texts = archs or ["largest", "smallest"]
    parsed = [ev.space.parse(ev.net.space.format(named[t]) if t in named else t) for t in texts]
    rows = []
    for arch in parsed:
        e = ev.evaluate(arch)
        rows.append({"arch": ev.space.format(arch), **e.metrics, **e.hidden, "seconds": e.cost_s})
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    for r in rows:
        common.console.print(
            f"{r['accuracy']:6.2f}%  loss {r['val_loss']:.4f}  {r['seconds']:.2f} s  {r['arch']}",
            soft_wrap=True,
            highlight=False,
        )
