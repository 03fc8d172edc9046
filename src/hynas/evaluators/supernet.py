"""Evaluator ``supernet``: accuracy of any ``mobile`` architecture with weights inherited from a
trained supernet, in about a second on a CPU.

Once-for-all (Cai et al., "Once-for-All: Train One Network and Specialize it for Efficient
Deployment", ICLR 2020) specialises one trained supernet to many devices by scoring sub-networks
with inherited weights instead of training them: extract the sub-network
(:func:`hynas.supernets.extract.extract`), recompute its BatchNorm statistics on a fixed set of
training images (:func:`hynas.supernets.train.recalibrate_bn`), score it on held-out images. This
evaluator does that for the checkpoint ``checkpoint`` (written by ``hynas supernet train``,
:func:`hynas.supernets.saved.load_supernet`), so any strategy, hardware objective
(``latency@roofline:*``, ``latency@lut:*``, ``params``, ``flops``, ...; computed by ``hynas.hw`` for
the deployed network, not here) and constraint of ``hynas search --space mobile`` works with it.

Options: ``checkpoint`` (required), ``bn_images`` (128: the first that many training images
recalibrate BatchNorm, the same images for every sub-network), ``eval_images`` (300: the first that
many validation images are scored), ``test_images`` (0: the first that many test images give the
hidden ``test_accuracy``, when the data has a test split; each costs as much as a validation
image), ``data`` (read the training data from here instead of the
place recorded in the checkpoint, e.g. after moving it; its fingerprint must match), ``threads``
(1 CPU thread, deterministic). Metrics: ``accuracy`` (%, max) and ``val_loss``; the hidden
``test_accuracy`` with ``test_images``. Results are cached per process (the store keeps
them across runs anyway); ``cost_s`` is the measured wall time. An architecture with a choice the
supernet was not trained for fails with one clear line.
"""

from __future__ import annotations

import time
from pathlib import Path

from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.core.evaluator import Evaluation, Evaluator, Metric, check_whole
from hynas.spaces import get_space
from hynas.spaces.mobile import MobileSpace

__all__ = ["SupernetEvaluator"]


class SupernetEvaluator(Evaluator):
    """Accuracy with weights inherited from a trained supernet (BN recalibrated); see the module."""

    def __init__(
        self,
        checkpoint: str | None = None,
        bn_images: int = 128,
        eval_images: int = 300,
        test_images: int = 0,
        data: str | None = None,
        dataset: str | None = None,
        threads: int = 1,
    ) -> None:
        from hynas.supernets.saved import load_supernet
        from hynas.training.data import load_images, load_spec

        if not checkpoint:
            raise HynasError(
                "the supernet evaluator needs a checkpoint: --evaluator-option checkpoint=PATH "
                "(train one with `hynas supernet train`)"
            )
        self.bn_images = check_whole("bn_images", bn_images, 1, "supernet evaluator: ")
        self.eval_images = check_whole("eval_images", eval_images, 1, "supernet evaluator: ")
        self.test_images = check_whole("test_images", test_images, 0, "supernet evaluator: ")
        self.threads = check_whole("threads", threads, 1, "supernet evaluator: ")
        self.space: MobileSpace = get_space("mobile")  # type: ignore[assignment]
        self.checkpoint = str(Path(checkpoint).expanduser())
        self.net, info = load_supernet(self.checkpoint)
        spec = info.extra.get("data")
        if data is None and not isinstance(spec, dict):
            raise HynasError(
                f"{self.checkpoint} does not say which data it was trained on; give --evaluator-option data=PATH"
            )
        if data is not None:
            base = spec if isinstance(spec, dict) else {}
            keep = ("val_fraction", "split_seed", "train_images", "image_size")
            images = load_images(data, **{k: base[k] for k in keep if k in base})
        else:
            assert isinstance(spec, dict)
            images = load_spec(spec)
        if images.fingerprint != info.data_fingerprint:
            raise HynasError(
                f"{self.checkpoint} was trained on other data than {images.name} (data fingerprints differ); "
                "give the data it was trained on with --evaluator-option data=PATH"
            )
        if dataset is not None and dataset not in (images.spec["kind"], images.name):
            raise HynasError(
                f"the supernet in {self.checkpoint} was trained on {images.name}, not {dataset!r}"
            )
        self.data = images
        self._test = self.test_images > 0 and "test_y" in images.arrays
        self._cache: dict[str, Evaluation] = {}

    def metrics(self) -> dict[str, Metric]:
        name, n = self.data.name, min(self.eval_images, len(self.data.arrays["val_y"]))
        out = {
            "accuracy": Metric(
                "accuracy", "max", "%", f"{name} validation accuracy, inherited weights ({n} images)"
            ),
            "val_loss": Metric(
                "val_loss", "min", "nats", f"{name} validation cross-entropy, inherited weights"
            ),
        }
        if self._test:
            out["test_accuracy"] = Metric(
                "test_accuracy", "max", "%", f"{name} test accuracy, inherited weights", hidden=True
            )
        return out

    def evaluate(self, arch: Architecture, fidelity: float | None = None) -> Evaluation:
        from hynas.supernets.saved import to_supernet_arch
        from hynas.supernets.train import evaluate_subnet
        from hynas.training.loop import deterministic

        if fidelity is not None:
            raise HynasError("the supernet evaluator has one fidelity (inherited weights); give none")
        self.space.validate(arch)
        key = self.space.format(arch)
        if key in self._cache:
            return self._cache[key]
        t0 = time.perf_counter()
        sub = to_supernet_arch(self.net, arch, f"the supernet in {self.checkpoint}")
        arrays = self.data.arrays
        with deterministic(self.threads):
            val = evaluate_subnet(self.net, sub, arrays, self.bn_images, self.eval_images, "val")
            test = (
                evaluate_subnet(self.net, sub, arrays, self.bn_images, self.test_images, "test")
                if self._test
                else None
            )
        hidden = {} if test is None else {"test_accuracy": test["accuracy"]}
        result = Evaluation(
            {"accuracy": val["accuracy"], "val_loss": val["loss"]}, hidden, time.perf_counter() - t0
        )
        self._cache[key] = result
        return result
