"""Real quality evaluators for the ``hybrid-lm`` space that train on 2 CPU cores in seconds.

* **Language modelling** on an offline corpus every machine has: the Python standard library's own
  source files (``sysconfig.get_paths()["stdlib"]``, the top-level ``*.py`` files in sorted order).
  Files are split by their sorted position (every 10th file from the 4th on is held out for
  validation, every 10th from the 8th for test), tokens are bytes, and the score is validation
  **bits per byte** (cross-entropy in bits of the next byte) on fixed held-out windows.
* **Multi-query associative recall** (MQAR; Arora et al., "Zoology: Measuring and Improving Recall
  in Efficient Language Models", ICLR 2024): a sequence of key→value pairs followed by queries of
  some keys at random positions; the model must emit each queried key's value. Score: recall
  accuracy (%) on a fixed held-out set. Attention solves it with a lookup; fixed-size recurrent
  states must compress the pairs, so this is where the layer types differ most.

Both train a freshly initialised model with AdamW for ``fidelity`` steps (multi-fidelity in
training steps), seeded and deterministic (``torch.manual_seed``, deterministic algorithms, a fixed
number of threads); ``cost_s`` is the measured wall time.
"""

from __future__ import annotations

import math
import sysconfig
import time
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from hynas.core import progress
from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.core.evaluator import Evaluation, Evaluator, Metric, check_fidelity, check_whole
from hynas.spaces import get_space
from hynas.spaces.hybrid_lm import HybridLMSpace

__all__ = ["LMMQAR", "MQAR", "HybridLMEvaluator", "LMStdlib", "make_mqar", "stdlib_corpus"]

TASKS = ("lm", "mqar")
_DATASETS = ("stdlib", "mqar")


@cache
def stdlib_corpus() -> dict[str, np.ndarray]:
    """Bytes of the standard library's top-level modules, split into train / val / test by file."""
    root = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(p for p in root.glob("*.py") if p.is_file())
    if len(files) < 20:
        raise HynasError(f"the Python standard library at {root} has too few source files for the LM task")
    parts: dict[str, list[bytes]] = {"train": [], "val": [], "test": []}
    for i, path in enumerate(files):
        split = "val" if i % 10 == 3 else "test" if i % 10 == 7 else "train"
        parts[split].append(path.read_bytes())
    return {k: np.frombuffer(b"\n".join(v), dtype=np.uint8) for k, v in parts.items()}


def make_mqar(
    n: int, seq_len: int, pairs: int, rng: np.random.Generator, vocab: int = 256
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` MQAR sequences (inputs, targets); targets are -100 except at query keys, where the
    next token to produce is the key's value. Keys come from ``[1, vocab/2)``, values from
    ``[vocab/2, vocab)``; token 0 fills the gaps between queries."""
    half = vocab // 2
    if 2 * pairs + 2 * pairs > seq_len or pairs > half - 1:
        raise HynasError(f"MQAR: {pairs} pairs do not fit in a sequence of {seq_len} tokens")
    x = np.zeros((n, seq_len), dtype=np.int64)
    y = np.full((n, seq_len), -100, dtype=np.int64)
    slots = (seq_len - 2 * pairs) // 2  # query slots of 2 tokens after the pairs
    for r in range(n):
        keys = rng.choice(np.arange(1, half), size=pairs, replace=False)
        vals = rng.choice(np.arange(half, vocab), size=pairs, replace=True)
        x[r, 0 : 2 * pairs : 2], x[r, 1 : 2 * pairs : 2] = keys, vals
        order = rng.permutation(pairs)
        where = np.sort(rng.choice(slots, size=pairs, replace=False))
        pos = 2 * pairs + 2 * where
        x[r, pos] = keys[order]
        y[r, pos] = vals[order]
    return x, y


class HybridLMEvaluator(Evaluator):
    """Train a hybrid-lm model briefly and score it (bits per byte on stdlib, MQAR recall)."""

    def __init__(
        self,
        tasks: str | tuple[str, ...] = ("lm", "mqar"),
        dataset: str | None = None,
        fidelity: float | None = None,
        steps: tuple[int, ...] = (50, 100, 200, 400),
        context: int = 64,
        batch: int = 16,
        lr: float = 3e-3,
        mqar_pairs: int = 4,
        mqar_len: int = 32,
        eval_windows: int = 32,
        seed: int = 0,
        threads: int = 1,
    ) -> None:
        names = tuple(t.strip() for t in tasks.split(",")) if isinstance(tasks, str) else tuple(tasks)
        bad = [t for t in names if t not in TASKS]
        if bad or not names:
            raise HynasError(f"unknown task(s) {bad}; valid tasks: {', '.join(TASKS)}")
        if dataset not in (None, *_DATASETS):
            raise HynasError(f"unknown dataset {dataset!r} for hybrid-lm; valid datasets: stdlib")
        steps = tuple(sorted(int(s) for s in steps))
        if not steps or steps[0] < 1:
            raise HynasError(f"steps must be whole numbers >= 1, got {steps}")
        for fname, val in (("context", context), ("batch", batch), ("threads", threads)):
            check_whole(fname, val)
        if lr <= 0:
            raise HynasError(f"lr must be > 0, got {lr}")
        self.tasks = names
        self.space: HybridLMSpace = get_space("hybrid-lm")  # type: ignore[assignment]
        if any(w > context for w in self.space.windows):
            raise HynasError(f"context {context} is shorter than the space's windows {self.space.windows}")
        self._fids = tuple(float(s) for s in steps)
        self._default = self._fids[1] if len(self._fids) > 1 else self._fids[0]
        if fidelity is not None:
            self._default = self._check(fidelity)
        self.context, self.batch, self.lr = context, batch, lr
        self.mqar_pairs, self.mqar_len, self.eval_windows = mqar_pairs, mqar_len, eval_windows
        self.seed, self.threads = seed, threads
        make_mqar(1, mqar_len, mqar_pairs, np.random.default_rng(0))  # validates the MQAR shape

    def _check(self, fidelity: float) -> float:
        return check_fidelity(fidelity, self._fids, "hybrid-lm evaluator fidelities are", "training steps")

    def fidelities(self) -> tuple[float, ...]:
        return self._fids

    def default_fidelity(self) -> float:
        return self._default

    def metrics(self) -> dict[str, Metric]:
        out: dict[str, Metric] = {}
        if "lm" in self.tasks:
            out["bpb"] = Metric("bpb", "min", "bits/byte", "validation bits per byte (stdlib source)")
            out["test_bpb"] = Metric("test_bpb", "min", "bits/byte", "test bits per byte", hidden=True)
        if "mqar" in self.tasks:
            out["recall"] = Metric("recall", "max", "%", f"MQAR accuracy ({self.mqar_pairs} pairs)")
        return out

    # -- training --------------------------------------------------------------------------------
    def _train(self, arch: Architecture, steps: int, task: str) -> Any:
        import torch
        import torch.nn.functional as F

        torch.manual_seed(self.seed)
        model = self.space.build(arch)
        opt = torch.optim.AdamW(model.parameters(), lr=self.lr, weight_decay=0.01, betas=(0.9, 0.98))
        warm = max(1, steps // 10)
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps))
        )
        rng = np.random.default_rng(self.seed + (0 if task == "lm" else 1))
        train = stdlib_corpus()["train"] if task == "lm" else None
        model.train()
        for step in range(steps):
            if train is not None:
                starts = rng.integers(0, len(train) - self.context - 1, size=self.batch)
                chunk = torch.from_numpy(
                    np.stack([train[s : s + self.context + 1] for s in starts]).astype(np.int64)
                )
                x, y = chunk[:, :-1], chunk[:, 1:]
            else:
                xn, yn = make_mqar(self.batch, self.mqar_len, self.mqar_pairs, rng)
                x, y = torch.from_numpy(xn), torch.from_numpy(yn)
            logits = model(x)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), ignore_index=-100)
            aux = model.aux_loss()
            opt.zero_grad(set_to_none=True)
            (loss + 0.01 * aux).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            progress.report(step + 1, steps, loss)
        model.eval()
        return model

    def _bpb(self, model: Any, split: str) -> float:
        import torch
        import torch.nn.functional as F

        data = stdlib_corpus()[split]
        starts = np.linspace(0, len(data) - self.context - 2, self.eval_windows).astype(np.int64)
        chunk = torch.from_numpy(np.stack([data[s : s + self.context + 1] for s in starts]).astype(np.int64))
        with torch.no_grad():
            logits = model(chunk[:, :-1])
            nats = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), chunk[:, 1:].reshape(-1))
        return float(nats) / math.log(2)

    def _recall(self, model: Any) -> float:
        import torch

        xn, yn = make_mqar(256, self.mqar_len, self.mqar_pairs, np.random.default_rng(10_000 + self.seed))
        with torch.no_grad():
            pred = model(torch.from_numpy(xn)).argmax(-1).numpy()
        mask = yn != -100
        return float(100.0 * (pred[mask] == yn[mask]).mean())

    def evaluate(self, arch: Architecture, fidelity: float | None = None) -> Evaluation:
        from hynas.training.loop import deterministic

        steps = int(self._default if fidelity is None else self._check(fidelity))
        self.space.validate(arch)
        t0 = time.perf_counter()
        visible: dict[str, float] = {}
        hidden: dict[str, float] = {}
        with deterministic(self.threads):
            if "lm" in self.tasks:
                model = self._train(arch, steps, "lm")
                visible["bpb"] = self._bpb(model, "val")
                hidden["test_bpb"] = self._bpb(model, "test")
            if "mqar" in self.tasks:
                model = self._train(arch, steps, "mqar")
                visible["recall"] = self._recall(model)
        for k, v in visible.items():
            if not math.isfinite(v):
                raise HynasError(f"{k} is not finite for {arch} (training diverged)")
        return Evaluation(visible, hidden, time.perf_counter() - t0, float(steps))


class LMStdlib(HybridLMEvaluator):
    """Bits per byte on held-out Python stdlib source after a short training run (hybrid-lm)."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(tasks=("lm",), **kw)


class MQAR(HybridLMEvaluator):
    """Multi-query associative recall accuracy after a short training run (hybrid-lm)."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(tasks=("mqar",), **kw)


class LMMQAR(HybridLMEvaluator):
    """Both: stdlib bits per byte and MQAR recall (two short training runs, hybrid-lm)."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(tasks=("lm", "mqar"), **kw)


def _without_tasks() -> Any:
    import inspect

    sig = inspect.signature(HybridLMEvaluator)
    return sig.replace(parameters=[p for n, p in sig.parameters.items() if n != "tasks"])


for _cls in (LMStdlib, MQAR, LMMQAR):
    _cls.__signature__ = _without_tasks()  # type: ignore[union-attr]
