"""Ask/tell with your own training loop: hynas proposes networks of the ``mobile`` space, this script
trains each one on Fashion-MNIST in plain PyTorch and tells hynas how it did.

    python examples/ask_tell_fmnist.py --trials 6 --steps 200 --store runs/asktell.db
    hynas show runs/asktell.db && hynas report runs/asktell.db

The objectives are the validation accuracy this script measures (``accuracy:max``) and the latency
of the deployed network on a Raspberry Pi 4 by hynas's roofline model (``latency@roofline:raspi4``,
computed by hynas when the trial is told). Every told trial is committed to the store at once: kill
the script (Ctrl-C, or SIGKILL) and run the same command again, and it continues where it stopped,
handing out the trial it was training first. A trial whose loss stops being finite is told as
``failed``; one whose validation accuracy halfway through is still near chance is ``pruned``.

Data: the Debian package ``dataset-fashion-mnist`` (``/usr/share/datasets/fashion-mnist``) or
``--data-dir`` with the four idx files; nothing is downloaded. Each network trains at a quarter of
its resolution gene (32 to 56 pixels, as the ``mobile-fmnist`` evaluator does) on 3 CPU threads.
"""

from __future__ import annotations

import argparse
import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

import hynas
from hynas.training.data import load_fmnist


def inputs(images: np.ndarray, data: dict[str, np.ndarray], size: int) -> torch.Tensor:
    """Standardised grey images, resized to ``size`` pixels and repeated to the 3 input channels."""
    x = torch.from_numpy(images).float().unsqueeze(1) / 255.0
    x = (x - float(data["mean"])) / float(data["std"])
    x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    return x.expand(-1, 3, -1, -1)


@torch.no_grad()
def accuracy(model: torch.nn.Module, data: dict[str, np.ndarray], size: int, n: int) -> float:
    """Validation accuracy in % on the first ``n`` held-out training images."""
    model.eval()
    correct = 0
    for i in range(0, n, 500):
        logits = model(inputs(data["val_x"][i : min(i + 500, n)], data, size))
        correct += int((logits.argmax(1) == torch.from_numpy(data["val_y"][i : min(i + 500, n)])).sum())
    model.train()
    return 100.0 * correct / n


@torch.no_grad()
def recalibrate(model: torch.nn.Module, data: dict[str, np.ndarray], size: int, n: int) -> None:
    """BatchNorm statistics recomputed on ``n`` training images (after few steps the running
    averages still mix in the first, random weights' statistics)."""
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None  # a plain average over the batches below
    for i in range(0, n, 250):
        model(inputs(data["train_x"][i : min(i + 250, n)], data, size))


def train(trial: Any, data: dict[str, np.ndarray], args: argparse.Namespace) -> tuple[str, float]:
    """Train the trial's network; ("completed", accuracy), or ("pruned", accuracy at half time)."""
    torch.manual_seed(args.seed + trial.number)
    model = trial.build(num_classes=10)  # the space's own PyTorch network, with a 10-class head
    size = max(8, round(trial.params["res"] / 4))
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, nesterov=True, weight_decay=4e-5)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.steps)
    rng = np.random.default_rng(args.seed + trial.number)
    for step in range(1, args.steps + 1):
        idx = rng.integers(0, len(data["train_y"]), args.batch)
        loss = F.cross_entropy(
            model(inputs(data["train_x"][idx], data, size)), torch.from_numpy(data["train_y"][idx])
        )
        if not torch.isfinite(loss):
            raise FloatingPointError(f"loss is {float(loss.detach())} at step {step}")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if step == args.steps // 2 and args.steps >= 4:
            recalibrate(model, data, size, args.bn_images)
            halfway = accuracy(model, data, size, args.eval_images)
            if halfway < args.prune_below:
                return "pruned", halfway
    recalibrate(model, data, size, args.bn_images)
    return "completed", accuracy(model, data, size, args.eval_images)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--trials", type=int, default=6, help="trials to tell in all (the study's budget)")
    p.add_argument("--steps", type=int, default=200, help="SGD steps per network")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--eval-images", type=int, default=2000, help="validation images scored per network")
    p.add_argument("--bn-images", type=int, default=500, help="images for the BatchNorm statistics")
    p.add_argument(
        "--prune-below", type=float, default=15.0, help="prune at half time below this accuracy (%%)"
    )
    p.add_argument("--strategy", default="nsga2")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--store", default="runs/ask_tell_fmnist.db", help="where the study lives (resumable)")
    p.add_argument("--data-dir", default=None, help="folder of the Fashion-MNIST idx files")
    p.add_argument("--threads", type=int, default=3)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    data = load_fmnist(args.data_dir)
    with hynas.create_study(
        space="mobile",
        objectives=["accuracy:max", "latency@roofline:raspi4"],
        strategy=args.strategy,
        store=args.store,
        seed=args.seed,
        dataset="fashion-mnist",
        budget=args.trials,
    ) as study:
        while len(study) < args.trials:
            trial = study.ask()
            print(f"trial {trial.number}: {trial.arch_string}", flush=True)
            try:
                state, acc = train(trial, data, args)
            except FloatingPointError as exc:
                study.tell(trial, state="failed", error=str(exc))
                print(f"  failed: {exc}", flush=True)
                continue
            if state == "pruned":
                study.tell(trial, state="pruned", error=f"{acc:.1f}% at half time")
            else:
                rec = study.tell(trial, {"accuracy": acc})
                print(
                    f"  accuracy {acc:.1f}%, {rec.metrics['latency@roofline:raspi4']:.2f} ms on a raspi4",
                    flush=True,
                )
        print(f"{len(study)} trials; the front (accuracy %, raspi4 ms):")
        for t in study.front():
            print(f"  {t.metrics['accuracy']:5.1f}  {t.metrics['latency@roofline:raspi4']:7.2f}  {t.arch}")
        if not math.isnan(study.hypervolume()):
            print(f"hypervolume: {study.hypervolume():.4g}")


if __name__ == "__main__":
    main()
