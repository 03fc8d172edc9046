"""``hynas export``: a store's trial, or an architecture string, as a standalone model folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from hynas.cli import common
from hynas.cli.common import app

__all__ = ["export"]


@app.command()
def export(
    store: Annotated[
        str | None, typer.Argument(help="store of a search (leave out with --arch --space)")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="new folder for the model files (required)")
    ] = None,
    trial: Annotated[int | None, typer.Option(help="export this trial number of the store")] = None,
    best: Annotated[
        str | None, typer.Option(help="export the feasible trial best on this objective of the run")
    ] = None,
    arch: Annotated[str | None, typer.Option(help="export this architecture string instead")] = None,
    space: Annotated[str | None, typer.Option(help="space of --arch (without a store)")] = None,
    format_: Annotated[
        str, typer.Option("--format", help="comma-separated: safetensors, torchscript, onnx")
    ] = "safetensors,torchscript,onnx",
    supernet: Annotated[
        str | None, typer.Option(help="supernet checkpoint to inherit the weights from (mobile)")
    ] = None,
    finetune_steps: Annotated[
        int, typer.Option(help="fine-tune this many SGD steps on Fashion-MNIST (mobile)")
    ] = 0,
    train_steps: Annotated[
        int, typer.Option(help="train from scratch this many SGD steps on Fashion-MNIST instead (mobile)")
    ] = 0,
    data: Annotated[
        str | None, typer.Option(help="Fashion-MNIST folder (default /usr/share/datasets/fashion-mnist)")
    ] = None,
    bn_images: Annotated[
        int, typer.Option(help="training images to recalibrate BatchNorm on after inheriting (0: off)")
    ] = 500,
    seed: Annotated[int, typer.Option(help="seed of the initial weights and of fine-tuning")] = 0,
    eval_images: Annotated[
        int, typer.Option(help="validation images scored before and after --finetune-steps / --train-steps")
    ] = 1000,
    lr: Annotated[
        float | None,
        typer.Option(
            help="SGD learning rate of --finetune-steps (default 0.01) / --train-steps (default 0.05)"
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="replace an existing --out folder")] = False,
) -> None:
    """Export a trial (default: the knee of the Pareto front) or --arch as safetensors, TorchScript, ONNX."""
    from hynas.core.errors import HynasError
    from hynas.export import export_model

    if out is None:
        raise HynasError("give --out DIR: a new folder for the exported model")
    result = export_model(
        out, store=store, trial=trial, best=best, arch=arch, space=space, formats=format_,
        supernet=supernet, finetune_steps=finetune_steps, train_steps=train_steps, data_dir=data, bn_images=bn_images,
        seed=seed, force=force, eval_images=eval_images, lr=lr,
    )  # fmt: skip
    cfg, con = result.config, common.wide()

    def say(text: str) -> None:
        con.print(escape(text), highlight=False, soft_wrap=True)

    say(f"exported {cfg['arch']} ({cfg['how']})")
    say(f"weights: {cfg['weights']['summary']}")
    for note in result.notes:
        say(f"note: {note}")
    for fmt, res in cfg["files"].items():
        diff = res.get("max_abs_diff")
        say(
            f"{fmt}: {result.out / res['file']}"
            + ("" if diff is None else f" (max |diff| to PyTorch {diff:.2g})")
        )
    say(f"model card: {result.out / 'MODEL_CARD.md'}")
