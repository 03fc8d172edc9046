"""Fingerprint of every cost model on 50 seeded architectures per space (a refactoring check).

For each space, 50 architectures sampled with ``numpy.random.default_rng(0)``; per architecture the
values of ``params``, ``flops``, ``memory``, ``latency@roofline:raspi4``, ``latency@roofline:a100``
(nb201, mobile, ecnas), ``latency@predictor:raspi4`` and the HW-NAS-Bench raspi4 latency (nb201),
``energy@ecnas`` (ecnas), ``params``, ``memory@128k``, ``kv_memory@128k``,
``decode_latency@32k:a100``, ``prefill_latency@4k:a100`` (hybrid-lm); ``analytic_costs`` at batch 1
fp32 and batch 2 fp16, a hash of the ``arch_ops`` rows, ``input_shape``/``example_input``, and the
prediction of a synthetic lookup table over the covering networks' operator keys (nb201, mobile).
Prints the number of rows and the sha256 of the text; writes the text to the path given.

Recorded when the per-space facts moved into the spaces (before and after, identical):
``200 454e9d2ca9b414ef70582f81a133a99f82e99fea10d114e009160c0c1192f801``.

    python bench/cost_fingerprint.py /tmp/costs.txt     # ~10 seconds
"""

from __future__ import annotations

import hashlib
import sys

import numpy as np

import hynas.evaluators
import hynas.hw
import hynas.hw.energy
import hynas.hw.lm_costs  # noqa: F401  (they register the cost models)
from hynas.benchmarks.nb201 import load_table
from hynas.core.metrics import CostModel, resolve_cost_model
from hynas.hw.analytic import analytic_costs, arch_ops, input_shape
from hynas.hw.lut import LatencyTable, covering_archs
from hynas.hw.measure import example_input
from hynas.spaces import get_space

VISION = ["params", "flops", "memory", "latency@roofline:raspi4", "latency@roofline:a100"]
METRICS = {
    "nb201": [*VISION, "latency@predictor:raspi4"],
    "mobile": VISION,
    "ecnas": [*VISION, "energy@ecnas"],
    "hybrid-lm": [
        "params",
        "memory@128k",
        "kv_memory@128k",
        "decode_latency@32k:a100",
        "prefill_latency@4k:a100",
    ],
}


def _lut(space: str) -> LatencyTable:
    """A table with a made-up, key-derived latency for every operator of the covering networks."""
    cover = covering_archs(space)
    keys = sorted({f"{o.kind}|{o.shape}" for a in cover for o in arch_ops(a)})
    entries = {k: (int(hashlib.sha256(k.encode()).hexdigest()[:6], 16) + 1) * 1e-9 for k in keys}
    print(
        space, len(cover), len(keys), hashlib.sha256(repr([str(a) for a in cover]).encode()).hexdigest()[:12]
    )
    return LatencyTable(space, "torch", 1, 1, entries, 1.1, 1e-4)


def main(out: str) -> None:
    luts = {sp: _lut(sp) for sp in ("nb201", "mobile")}
    lines = []
    for sp, metrics in METRICS.items():
        space = get_space(sp)
        rng = np.random.default_rng(0)
        archs = [space.sample(rng) for _ in range(50)]
        models: dict[str, CostModel] = {}
        for m in metrics:
            model = resolve_cost_model(m, space)
            assert model is not None, m
            models[m] = model
        for a in archs:
            vals = [f"{m}={models[m](a)!r}" for m in metrics]
            for tag, kw in (("analytic", {}), ("analytic2", {"batch": 2, "dtype_bytes": 2})):
                costs = analytic_costs(a, **kw)
                vals.append(tag + "=" + ",".join(f"{k}:{v!r}" for k, v in sorted(costs.items())))
            if sp == "nb201":
                vals.append(f"hwnb={load_table()['latency@raspi4'][space.index(a)]!r}")  # type: ignore[attr-defined]
            if sp in luts:
                vals.append(f"lut={luts[sp].predict(a)!r}")
            if sp != "hybrid-lm":
                x = example_input(a)
                vals.append(f"shape={input_shape(a)} {tuple(example_input(a, 2).shape)} {float(x.sum())!r}")
            vals.append("ops=" + hashlib.sha256(repr(arch_ops(a)).encode()).hexdigest()[:16])
            lines.append(f"{sp} {space.format(a)} " + " ".join(vals))
    text = "\n".join(lines)
    with open(out, "w", encoding="utf-8") as fh:
        fh.write(text)
    print(len(lines), hashlib.sha256(text.encode()).hexdigest())


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "cost_fingerprint.txt")
