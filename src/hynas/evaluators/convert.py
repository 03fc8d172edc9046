"""Evaluator ``convert-proxy``: how good a conversion plan of a trained Transformer is, cheaply.

For an architecture of a conversion space (:mod:`hynas.spaces.hybrid_convert`: per layer keep /
SSM / sliding window, dense / MoE MLP) it carves the teacher ``teacher`` (a file written by
``hynas convert teacher``) into the hybrid (:func:`hynas.convert.carve.carve`, calibrated on fixed
training windows), runs the per-layer alignment stage for ``fidelity`` steps (the cheap conversion
proxy of mmMamba's first stage, Liao et al. 2025) and, with ``kd_steps`` / ``finetune_steps`` > 0,
the logit-distillation and fine-tuning stages too (full distillation, for a final front), then
scores the student:

- ``bpb``: validation bits per byte on the standard-library corpus (:mod:`hynas.evaluators.lm`);
- ``align``: the mean alignment loss of the converted layers on held-out windows (0: none converted);
- ``recall``: MQAR recall (%) on 256 fixed sequences (a teacher trained with ``--mqar-every`` can
  recall; the conversions show how much of it survives);
- hidden ``test_bpb``.

The memory and latency objectives (``memory@128k``, ``decode_latency@32k:a100``) come from the
analytic cost model of the converted spec. The evaluator's space is the registered conversion
space whose teacher has the file's shape; another shape is one clear error. ``ssm_init``
(``attention`` or ``mamba``, default the space's) sets how new SSM layers start
(:class:`~hynas.spaces.hybrid_convert.CarveOptions`). Deterministic (one
torch thread, fixed seeds); ``cost_s`` is the measured wall time.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.core.evaluator import Evaluation, Evaluator, Metric, check_fidelity, check_whole
from hynas.evaluators.lm import make_mqar, stdlib_corpus
from hynas.models.lm_spec import format_config
from hynas.spaces import SPACES, get_space
from hynas.spaces.hybrid_convert import ConversionSpace

if TYPE_CHECKING:  # torch and the conversion code load when a conversion is evaluated, not with the registry
    import torch

    from hynas.models.hybrid_lm import HybridLM

__all__ = ["ConversionProxy", "conversion_space_for", "windows"]


@cache
def _teacher(path: str, _stamp: tuple[int, int]) -> tuple[HybridLM, dict[str, Any]]:
    from hynas.convert.teacher import load_teacher

    return load_teacher(path)


def conversion_space_for(teacher: HybridLM, where: str) -> ConversionSpace:
    """The registered conversion space whose teacher has ``teacher``'s shape."""
    spec = format_config(teacher.cfg)
    shapes = {}
    for name in SPACES.names():
        space = get_space(name)
        if isinstance(space, ConversionSpace):
            if format_config(space.teacher) == spec:
                return space
            shapes[name] = format_config(space.teacher, vocab=False)
    listed = "; ".join(f"{k}: {v}" for k, v in shapes.items())
    raise HynasError(
        f"{where} is {spec}, a shape no conversion space has ({listed}); "
        "train a teacher of one of them with 'hynas convert teacher --preset bench|tiny', or register a "
        "ConversionSpace of this shape (docs/convert.md, 'Your own teacher shape')"
    )


def windows(data: np.ndarray, n: int, length: int, offset: int = 0) -> torch.Tensor:
    """``n`` evenly spaced windows of ``length`` tokens of ``data`` (calibration and scoring)."""
    import torch

    starts = np.linspace(offset, len(data) - length - 1, n).astype(np.int64)
    return torch.from_numpy(np.stack([data[s : s + length] for s in starts]).astype(np.int64))


class ConversionProxy(Evaluator):
    """Carve, align for ``fidelity`` steps (plus optional KD / fine-tune), score; see the module."""

    def __init__(
        self,
        teacher: str | None = None,
        steps: tuple[int, ...] = (25, 50, 100, 200),
        kd_steps: int = 0,
        finetune_steps: int = 0,
        batch: int = 8,
        calib: int = 8,
        eval_windows: int = 32,
        mqar_pairs: int = 4,
        mqar_len: int = 32,
        dataset: str | None = None,
        seed: int = 0,
        threads: int = 1,
        ssm_init: str | None = None,
    ) -> None:
        if teacher is None:
            raise HynasError("convert-proxy needs teacher=PATH, a file written by 'hynas convert teacher'")
        if dataset not in (None, "stdlib"):
            raise HynasError(f"unknown dataset {dataset!r} for convert-proxy; valid datasets: stdlib")
        from hynas.convert.distill import DistillOptions

        path = Path(teacher)
        if not path.is_file():
            raise HynasError(f"no teacher file at {path}")
        st = path.stat()
        self.teacher, header = _teacher(str(path.resolve()), (st.st_mtime_ns, st.st_size))
        self.space: ConversionSpace = conversion_space_for(self.teacher, f"teacher {path}")
        #: the space's carving options, ``ssm_init`` replaced when given
        self.carve_opts = replace(
            self.space.options, ssm_init=ssm_init or self.space.options.ssm_init
        ).check()
        self._fids = tuple(float(s) for s in sorted(int(s) for s in steps))
        if not self._fids or self._fids[0] < 1:
            raise HynasError(f"steps must be whole numbers >= 1, got {steps}")
        self.opts = DistillOptions(
            kd_steps=kd_steps, finetune_steps=finetune_steps, seed=seed, every=0
        ).check()
        extra = header.get("extra", {})
        self.context = int(extra.get("context", 64))
        self.mqar_every = int(extra.get("mqar_every", 0))
        for fname, val in (
            ("batch", batch),
            ("calib", calib),
            ("eval_windows", eval_windows),
            ("threads", threads),
        ):
            check_whole(fname, val, 1, "convert-proxy: ")
        self.batch, self.calib, self.eval_windows, self.threads = batch, calib, eval_windows, threads
        self.mqar_pairs, self.mqar_len = mqar_pairs, mqar_len
        make_mqar(1, mqar_len, mqar_pairs, np.random.default_rng(0))  # validates the MQAR shape

    def fidelities(self) -> tuple[float, ...]:
        return self._fids

    def default_fidelity(self) -> float:
        return self._fids[0]

    def metrics(self) -> dict[str, Metric]:
        return {
            "bpb": Metric("bpb", "min", "bits/byte", "validation bits per byte of the converted model"),
            "align": Metric("align", "min", "", "mean alignment loss of the converted layers"),
            "recall": Metric("recall", "max", "%", f"MQAR accuracy ({self.mqar_pairs} pairs)"),
            "test_bpb": Metric("test_bpb", "min", "bits/byte", "test bits per byte", hidden=True),
        }

    def _recall_maker(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        return make_mqar(n, self.mqar_len, self.mqar_pairs, rng)

    def evaluate(self, arch: Architecture, fidelity: float | None = None) -> Evaluation:
        import torch

        from hynas.convert.carve import carve, layer_io
        from hynas.convert.distill import converted_parts, distill
        from hynas.convert.lmfile import Batches, bits_per_byte, recall
        from hynas.training.distill import alignment_loss
        from hynas.training.loop import deterministic

        fid = check_fidelity(
            self.default_fidelity() if fidelity is None else fidelity, self._fids,
            "convert-proxy has fidelities", "alignment steps",
        )  # fmt: skip
        self.space.validate(arch)
        plan = self.space.plan(arch)
        corpus = stdlib_corpus()
        t0 = time.perf_counter()
        batches = Batches(corpus["train"], self.context, self.batch, self._recall_maker, self.mqar_every)
        with deterministic(self.threads):
            student = carve(
                self.teacher, plan, self.carve_opts, windows(corpus["train"], self.calib, self.context)
            )
            opts = replace(self.opts, align_steps=int(fid))
            distill(None, self.teacher, student, plan, batches, opts, threads=self.threads)
            held = windows(corpus["val"], self.calib, self.context, offset=7)
            io_t = layer_io(self.teacher, held)
            losses = []
            with torch.no_grad():
                for i, part in converted_parts(plan):
                    module: Any = getattr(student.blocks[i], part)
                    x = io_t[i][f"{part}_in"]
                    out = module(x, None, 0) if part == "mixer" else module(x)
                    losses.append(float(alignment_loss(out, io_t[i][f"{part}_out"])))
            xn, yn = make_mqar(256, self.mqar_len, self.mqar_pairs, np.random.default_rng(10_000))
            metrics = {
                "bpb": bits_per_byte(student, corpus["val"], self.context, self.eval_windows),
                "align": float(np.mean(losses)) if losses else 0.0,
                "recall": recall(student, xn, yn),
            }
            hidden = {"test_bpb": bits_per_byte(student, corpus["test"], self.context, self.eval_windows)}
        for k, v in metrics.items():
            if not math.isfinite(v):
                raise HynasError(f"{k} is not finite for {arch} (distillation diverged)")
        return Evaluation(metrics, hidden, time.perf_counter() - t0, fid)
