"""A resumable training run: the one step loop under supernet training, differentiable search and
model conversion.

A :class:`ResumableRun` owns a checkpoint path and the objects whose state makes a run continue
bit for bit: the model (every trained tensor, architecture parameters included), further named
modules (a moving average of the weights), named optimisers,
named numpy generators, the torch and Python RNGs. :meth:`ResumableRun.steps` yields the step
numbers still to run and saves a checkpoint every ``every`` steps and after the last one, each
time after the loop body of a step has finished, so a kill at any moment leaves the previous
checkpoint or the new one (writes are atomic, :func:`hynas.training.checkpoint.write_file`), and a
run started again with the same arguments continues after the last saved step::

    run = ResumableRun(path, model=net, optimizers={"weights": w, "arch": a},
                       generators={"data": rng}, space="nb201", config=cfg, every=10)
    for step in run.steps(total=200):   # resumes from ``path`` when it exists
        ...                             # one step (or one epoch: the unit is the caller's)

A checkpoint written for another space, configuration or data set is refused with one line; the
body may replace an optimiser between steps (``run.optimizers["weights"] = new``, or
``run.optimizer = new`` for a run with one unnamed optimiser), and the new one is what the next
checkpoint saves. A caller that must know where the run starts before looping (the supernet
trainer rebuilds its frozen teacher) calls :meth:`ResumableRun.resume` first; ``steps`` then
starts there without reading the file again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from hynas.core.errors import HynasError
from hynas.training.checkpoint import CheckpointInfo, load_checkpoint, save_checkpoint

__all__ = ["ResumableRun", "deterministic", "moving_average"]


class ResumableRun:
    """Checkpoint every ``every`` steps (0: only at the end) and resume from ``path``; see the module."""

    def __init__(
        self,
        path: str | Path | None,
        *,
        model: nn.Module,
        space: str,
        config: Mapping[str, Any],
        kind: str,
        data_fingerprint: str = "",
        optimizer: torch.optim.Optimizer | None = None,
        optimizers: Mapping[str, torch.optim.Optimizer] | None = None,
        generators: Mapping[str, np.random.Generator] | None = None,
        every: int = 0,
        extra: Mapping[str, Any] | None = None,
        modules: Mapping[str, nn.Module] | None = None,
    ) -> None:
        if isinstance(every, bool) or not isinstance(every, int) or every < 0:
            raise HynasError(f"checkpoint interval must be a whole number >= 0, got {every!r}")
        self.path = None if path is None else Path(path)
        self.model = model
        self.space, self.config, self.kind = space, dict(config), kind
        self.data_fingerprint = data_fingerprint
        self.optimizer = optimizer  # the one unnamed optimiser (the checkpoint's "optimizer" slot)
        self.optimizers: dict[str, torch.optim.Optimizer] = dict(optimizers or {})
        self.generators = dict(generators or {})
        self.modules = dict(modules or {})
        self.every = every
        self.extra: dict[str, Any] = dict(extra or {})
        self.resumed: CheckpointInfo | None = None

    def resume(self) -> int:
        """Restore the checkpoint when there is one; the number of steps it had finished (else 0)."""
        if self.path is None or not self.path.exists():
            return 0
        self.resumed = load_checkpoint(
            self.path, model=self.model, space=self.space, config=self.config,
            data_fingerprint=self.data_fingerprint, optimizer=self.optimizer, optimizers=self.optimizers,
            generators=self.generators, modules=self.modules,
        )  # fmt: skip
        if self.resumed.kind != self.kind:
            raise HynasError(f"{self.path} is a {self.resumed.kind!r} checkpoint, not a {self.kind!r} one")
        self.extra = {**self.resumed.extra, **self.extra}
        return self.resumed.step

    def save(self, step: int) -> None:
        """Write the checkpoint for ``step`` finished steps (nothing when the run has no path)."""
        if self.path is not None:
            save_checkpoint(
                self.path, model=self.model, step=step, space=self.space, config=self.config, kind=self.kind,
                data_fingerprint=self.data_fingerprint, optimizer=self.optimizer, optimizers=self.optimizers,
                generators=self.generators, extra=self.extra, modules=self.modules,
            )  # fmt: skip

    def steps(self, total: int, stop_after: int | None = None) -> Iterator[int]:
        """The step numbers ``start .. total-1`` (``start`` from the checkpoint), saving as it goes.

        ``stop_after`` ends the run early after that many finished steps (a checkpoint is saved
        there), as a kill would, for tests and for "train a bit more later".
        """
        if isinstance(total, bool) or not isinstance(total, int) or total < 0:
            raise HynasError(f"the number of steps must be a whole number >= 0, got {total!r}")
        start = self.resumed.step if self.resumed is not None else self.resume()
        if start > total:
            raise HynasError(f"{self.path} has already run {start} steps, more than the {total} asked for")
        end = total if stop_after is None else min(total, stop_after)
        for step in range(start, end):
            yield step
            done = step + 1
            if done == end or (self.every and done % self.every == 0):
                self.save(done)


@contextlib.contextmanager
def deterministic(threads: int = 1) -> Iterator[None]:
    """A fixed number of torch threads and deterministic algorithms, restored afterwards: what a
    run that must repeat bit for bit (and an evaluator that must score the same twice) runs under."""
    old = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    warn = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.set_num_threads(old[0])
        torch.use_deterministic_algorithms(old[1], warn_only=warn)


def moving_average(net: nn.Module, decay: float) -> torch.optim.swa_utils.AveragedModel:
    """An exponential moving average of ``net``'s weights (``torch.optim.swa_utils``), to update
    after each optimiser step; buffers are not averaged (a supernet recalibrates its BatchNorm
    statistics per sub-network). Save it with ``ResumableRun(..., modules={"ema": ...})``."""
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    return AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(decay))
