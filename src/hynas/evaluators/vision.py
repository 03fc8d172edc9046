"""Real-training evaluator for the ``mobile`` space: brief CPU training on Fashion-MNIST.

``mobile-fmnist`` builds the architecture's own PyTorch network (:meth:`MobileSpace.build`, the
once-for-all-style MBConv network of :mod:`hynas.models.mobile`, with a 10-class head) and trains it
from scratch for ``fidelity`` SGD steps on Fashion-MNIST (Xiao, Rasul & Vollgraf, "Fashion-MNIST: a
Novel Image Dataset for Benchmarking Machine Learning Algorithms", arXiv:1708.07747, 2017): 70,000
28×28 grey images of 10 clothing classes, 60,000 for training and 10,000 for test.

Data (:mod:`hynas.training.data`, shared with the supernet trainer). The idx files are read with numpy from the Debian package ``dataset-fashion-mnist``
(``/usr/share/datasets/fashion-mnist``, ``*-idx?-ubyte.gz``) or from the ``data_dir`` option
(gzipped or plain idx files). Nothing is downloaded. A fixed permutation (seed 0, independent of the
evaluator's ``seed``) holds out 10,000 of the 60,000 training images for **validation**; the search
sees accuracy on the first ``eval_images`` of them. The official **test** set is scored on its first
``eval_images`` images and reported as the hidden metric ``test_accuracy``, which never reaches a
strategy (the nb201-tabular convention). Pixels are scaled to [0, 1] and standardised with the mean
and standard deviation of the 50,000 training images.

Resolution. The space's input resolution choice (128–224) is an ImageNet-scale deployment setting;
training at it would take minutes per step on a CPU and would only upsample a 28-pixel image 5–8×.
The network is trained at ``round(resolution × resolution_scale)`` pixels instead, ``0.25`` by
default: 32, 40, 48, 56 px for 128, 160, 192, 224 (bilinear resampling of the 28-pixel images), so
the resolution gene still changes the feature-map sizes and the compute, in the same ratios as at
full size. The grey channel is replicated to the 3 input channels, so the stem and every other
layer are exactly the searched network's; only the classifier has 10 outputs instead of 1000. Cost
objectives (``params``, ``flops``, ``memory``, ``latency@roofline:<device>``, ``latency@lut:local``,
...) are not reported here: the ``hynas.hw`` resolvers compute them for the deployed network at its
full resolution with the 1000-class head, which is what the hardware would run.

Training. SGD with Nesterov momentum 0.9 and weight decay 4e-5 (MobileNet-style), learning rate
``lr`` (0.05) with a linear warm-up over the first 10% of steps and cosine decay to 0 at ``fidelity``
steps (multi-fidelity in training steps; every fidelity trains from scratch), batch ``batch`` (32),
no augmentation; the network and its inputs are held channels-last (NHWC), which makes a
training step 1.3–1.9× faster on a CPU than NCHW. After training, every BatchNorm's running
statistics are recomputed on the first ``bn_images`` (500) training images, as once-for-all does for each sub-network it scores (Cai et
al., "Once-for-All", ICLR 2020): after a few dozen steps the momentum averages still mix the initial
statistics with those of fast-changing weights, and without this a 25-step network scores at chance
in eval mode (10%, against 59% with recalibrated statistics). The batches walk fixed permutations
of the training split drawn from ``seed``; with ``torch.manual_seed(seed)``, deterministic
algorithms and ``threads`` (1) CPU threads the same architecture, fidelity and seed give the same
accuracy. A non-finite training loss raises a :class:`HynasError`, which the runner stores as a
failed trial with that reason.

``cost_s`` is the measured wall time of the evaluation (data loading on first use, training, BN
recalibration and both scorings). Measured at the default 100 steps on a 2-core machine shared with
another job (load average about 5): 13 s for the smallest network (r128, depth 2, all k3e3), 27 s
for a middle one (r160, depth 3, all k5e4), 105 s for the largest (r224, depth 4, all k7e6), 30–46 s
for random ones; see ``docs/hardware.md``. Those times predate channels-last, which made a
training step 1.3–1.9× faster.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from hynas.core import progress
from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.core.evaluator import Evaluation, Evaluator, Metric, check_fidelity, check_whole
from hynas.spaces import get_space
from hynas.spaces.mobile import MobileSpace
from hynas.training.data import DEFAULT_DATA_DIR, FMNIST_FILES, VAL_SIZE, find_fmnist, load_fmnist, read_idx
from hynas.training.loop import deterministic

__all__ = ["DEFAULT_DATA_DIR", "FMNIST_FILES", "MobileFashionMNIST", "find_fmnist", "load_fmnist", "read_idx"]

CLASSES = 10
_DATASETS = ("fashion-mnist",)


class MobileFashionMNIST(Evaluator):
    """Train the mobile network briefly on Fashion-MNIST (CPU, seconds to a minute); see the module docstring."""

    def __init__(
        self,
        dataset: str | None = None,
        fidelity: float | None = None,
        steps: tuple[int, ...] = (25, 50, 100, 200),
        batch: int = 32,
        lr: float = 0.05,
        resolution_scale: float = 0.25,
        eval_images: int = 1000,
        bn_images: int = 500,
        data_dir: str | None = None,
        seed: int = 0,
        threads: int = 1,
    ) -> None:
        if dataset not in (None, *_DATASETS):
            raise HynasError(f"unknown dataset {dataset!r} for mobile-fmnist; valid datasets: fashion-mnist")
        try:
            steps = tuple(sorted({int(s) for s in steps}))
        except (TypeError, ValueError):
            raise HynasError(f"steps must be a list of whole numbers >= 1, got {steps!r}") from None
        if not steps or steps[0] < 1:
            raise HynasError(f"steps must be whole numbers >= 1, got {steps}")
        for fname, val in (("batch", batch), ("threads", threads), ("eval_images", eval_images)):
            check_whole(fname, val)
        if isinstance(bn_images, bool) or not isinstance(bn_images, int) or not 0 <= bn_images <= 50_000:
            raise HynasError(f"bn_images must be a whole number in 0..50000, got {bn_images!r}")
        if eval_images > VAL_SIZE:
            raise HynasError(
                f"eval_images must be at most {VAL_SIZE} (the validation split), got {eval_images}"
            )
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise HynasError(f"seed must be a whole number >= 0, got {seed!r}")
        if isinstance(lr, bool) or not isinstance(lr, int | float) or not 0 < lr < math.inf:
            raise HynasError(f"lr must be a positive number, got {lr!r}")
        if (
            isinstance(resolution_scale, bool)
            or not isinstance(resolution_scale, int | float)
            or not 0 < resolution_scale <= 2
        ):
            raise HynasError(f"resolution_scale must lie in (0, 2], got {resolution_scale!r}")
        self.space: MobileSpace = get_space("mobile")  # type: ignore[assignment]
        self._fids = tuple(float(s) for s in steps)
        self._default = 100.0 if 100.0 in self._fids else self._fids[len(self._fids) // 2]
        if fidelity is not None:
            self._default = self._check(fidelity)
        self.batch, self.lr, self.resolution_scale = batch, float(lr), float(resolution_scale)
        self.eval_images, self.bn_images, self.seed, self.threads = eval_images, bn_images, seed, threads
        self.data_dir = None if data_dir is None else str(data_dir)
        find_fmnist(self.data_dir)  # missing data: one clear error now, not one per trial

    def _check(self, fidelity: float) -> float:
        return check_fidelity(fidelity, self._fids, "mobile-fmnist fidelities are", "training steps")

    def fidelities(self) -> tuple[float, ...]:
        return self._fids

    def default_fidelity(self) -> float:
        return self._default

    def metrics(self) -> dict[str, Metric]:
        n = self.eval_images
        return {
            "accuracy": Metric(
                "accuracy", "max", "%", f"Fashion-MNIST validation accuracy ({n} held-out images)"
            ),
            "val_loss": Metric("val_loss", "min", "nats", "Fashion-MNIST validation cross-entropy"),
            "test_accuracy": Metric(
                "test_accuracy", "max", "%", f"Fashion-MNIST test accuracy ({n} test images)", hidden=True
            ),
            "test_loss": Metric("test_loss", "min", "nats", "Fashion-MNIST test cross-entropy", hidden=True),
        }

    def train_resolution(self, arch: Architecture) -> int:
        """Side of the square training input for ``arch``: its resolution × ``resolution_scale``."""
        return max(1, round(self.space.config(arch).resolution * self.resolution_scale))

    # -- training --------------------------------------------------------------------------------
    def _inputs(self, images: np.ndarray, res: int, data: dict[str, np.ndarray]) -> Any:
        import torch
        import torch.nn.functional as F

        x = torch.from_numpy(images).to(torch.float32).unsqueeze(1)
        x = (x / 255.0 - float(data["mean"])) / float(data["std"])
        if res != x.shape[-1]:
            x = F.interpolate(x, size=(res, res), mode="bilinear", align_corners=False, antialias=res < 28)
        # channels-last: 1.3-1.9x faster convolutions on a CPU than NCHW (measured, 16-28 px)
        return x.expand(-1, 3, -1, -1).contiguous(memory_format=torch.channels_last)

    def _train(self, arch: Architecture, steps: int, res: int, data: dict[str, np.ndarray]) -> Any:
        import torch
        import torch.nn.functional as F

        torch.manual_seed(self.seed)
        model = self.space.build(arch, num_classes=CLASSES).to(memory_format=torch.channels_last)
        opt = torch.optim.SGD(model.parameters(), lr=self.lr, momentum=0.9, nesterov=True, weight_decay=4e-5)
        warm = max(1, steps // 10)
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps))
        )
        rng = np.random.default_rng(self.seed)
        train_x, train_y = data["train_x"], data["train_y"]
        order = rng.permutation(len(train_y))
        pos = 0
        model.train()
        for step in range(steps):
            if pos + self.batch > len(order):
                order, pos = rng.permutation(len(train_y)), 0
            idx = np.sort(order[pos : pos + self.batch])
            pos += self.batch
            x = self._inputs(train_x[idx], res, data)
            loss = F.cross_entropy(model(x), torch.from_numpy(train_y[idx]))
            if not torch.isfinite(loss):
                raise HynasError(
                    f"training diverged for {arch}: loss is {float(loss.detach())} at step {step + 1} of {steps} "
                    f"(lr {self.lr:g})"
                )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            progress.report(step + 1, steps, loss)
        self._recalibrate_bn(model, res, data)
        model.eval()
        return model

    def _recalibrate_bn(self, model: Any, res: int, data: dict[str, np.ndarray]) -> None:
        """Recompute every BatchNorm's running statistics on the first ``bn_images`` training images
        (a cumulative average, weights untouched); see the module docstring."""
        import torch

        if self.bn_images == 0:
            return
        bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
        for bn in bns:
            bn.reset_running_stats()
            bn.momentum = None  # cumulative moving average over the calibration batches
        model.train()
        with torch.no_grad():
            for i in range(0, self.bn_images, 250):
                model(self._inputs(data["train_x"][i : min(i + 250, self.bn_images)], res, data))

    def _score(self, model: Any, split: str, res: int, data: dict[str, np.ndarray]) -> tuple[float, float]:
        """(accuracy %, mean cross-entropy) on the first ``eval_images`` images of ``split``."""
        import torch
        import torch.nn.functional as F

        x_all, y_all = data[f"{split}_x"][: self.eval_images], data[f"{split}_y"][: self.eval_images]
        correct, nats = 0, 0.0
        with torch.no_grad():
            for i in range(0, len(y_all), 250):
                logits = model(self._inputs(x_all[i : i + 250], res, data))
                y = torch.from_numpy(y_all[i : i + 250])
                nats += float(F.cross_entropy(logits, y, reduction="sum"))
                correct += int((logits.argmax(1) == y).sum())
        return 100.0 * correct / len(y_all), nats / len(y_all)

    def evaluate(self, arch: Architecture, fidelity: float | None = None) -> Evaluation:
        steps = int(self._default if fidelity is None else self._check(fidelity))
        self.space.validate(arch)
        t0 = time.perf_counter()
        data = load_fmnist(self.data_dir)
        res = self.train_resolution(arch)
        with deterministic(self.threads):
            model = self._train(arch, steps, res, data)
            acc, loss = self._score(model, "val", res, data)
            test_acc, test_loss = self._score(model, "test", res, data)
        if not (math.isfinite(loss) and math.isfinite(test_loss)):
            raise HynasError(f"validation loss is not finite for {arch} (training diverged)")
        visible = {"accuracy": acc, "val_loss": loss}
        hidden = {"test_accuracy": test_acc, "test_loss": test_loss}
        return Evaluation(visible, hidden, time.perf_counter() - t0, float(steps))
