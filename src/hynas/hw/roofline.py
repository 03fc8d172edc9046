"""Analytical roofline latency (Williams, Waterman & Patterson, "Roofline", CACM 2009).

Each operator runs at the slower of its compute time and its memory time (bytes / attainable
bandwidth), plus a per-operator launch overhead::

    latency = Σ_ops max(flops_i / (P × efficiency) + window_i / (P × window_eff),
                        bytes_i / (B × bandwidth_eff)) + n_ops × overhead

``P`` and ``B`` are the device's peak compute and bandwidth. ``window_i`` is the work of a pooling
operator, which counts 0 FLOPs in hynas's convention but reads every element of its window:
``k²`` element operations per output of a ``k×k`` pooling (stride 1, output the size of the input,
as in NB201), one per input element of a global pooling. Pooling runs on the vector units at a
rate of its own (``window_eff``), far below the FMA peak on a phone CPU. On a device that folds
constants (``Device.fold_constants``, TFLite) the operators are those left after constant folding
and dead-code elimination (:func:`hynas.hw.analytic.arch_latency`). The fractions and the overhead are
fitted per device on measured tables (:mod:`hynas.hw.calibrate`).
"""

from __future__ import annotations

import re

from hynas.hw.devices import Device, calibrate_local
from hynas.hw.ops import OpCost

__all__ = ["DTYPE_BYTES", "calibrate_local", "roofline_latency", "window_work"]

#: bytes per element of each dtype the catalog knows
DTYPE_BYTES = {"fp32": 4, "fp16": 2, "bf16": 2, "int8": 1}
_WINDOW = re.compile(r"pool_(\d+)x(\d+)")


def window_work(op: OpCost, dtype_bytes: int = 4) -> float:
    """Element operations of a pooling operator (0 for every other kind), from its bytes moved."""
    if "pool" not in op.kind:
        return 0.0
    m = _WINDOW.search(op.kind)
    if m:  # input and output of one size: each output reads k² inputs
        return int(m[1]) * int(m[2]) * op.bytes / (2 * dtype_bytes)
    return op.bytes / dtype_bytes  # global pooling: one operation per input element


def roofline_latency(ops: list[OpCost], device: Device, dtype: str = "fp32") -> float:
    """Seconds to run ``ops`` once on ``device``."""
    p = device.flops_per_s(dtype)
    w = device.peak_flops[dtype] * device.window_eff
    b = device.bytes_per_s()
    nb = DTYPE_BYTES.get(dtype, 4)
    return (
        sum(max(o.flops / p + window_work(o, nb) / w, o.bytes / b) for o in ops)
        + len(ops) * device.launch_overhead_s
    )
