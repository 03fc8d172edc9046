"""Analytical roofline latency (Williams, Waterman & Patterson, "Roofline", CACM 2009).

Each operator runs at the slower of its compute time (FLOPs / attainable FLOP/s) and its memory
time (bytes / attainable bandwidth), plus a per-operator launch overhead::

    latency = Σ_ops max(flops_i / P, bytes_i / B) + n_ops × overhead
"""

from __future__ import annotations

from functools import cache

from hynas.hw.devices import Device
from hynas.hw.ops import OpCost

__all__ = ["calibrate_local", "roofline_latency"]


def roofline_latency(ops: list[OpCost], device: Device, dtype: str = "fp32") -> float:
    """Seconds to run ``ops`` once on ``device``."""
    p = device.flops_per_s(dtype)
    b = device.bytes_per_s()
    return sum(max(o.flops / p, o.bytes / b) for o in ops) + len(ops) * device.launch_overhead_s


@cache
def calibrate_local() -> Device:
    """This machine, measured: matmul FLOP/s and memory-copy bandwidth (fp32, torch threads as set)."""
    import time

    import numpy as np
    import torch

    from hynas.hw.devices import Device

    n = 512
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        a @ b
    reps, t = 0, time.perf_counter()
    while time.perf_counter() - t < 0.3:
        a @ b
        reps += 1
    flops = 2 * n**3 * reps / (time.perf_counter() - t)
    x = np.ones(32 * 1024 * 1024 // 4, dtype=np.float32)  # 32 MiB, beyond the caches
    y = np.empty_like(x)
    np.copyto(y, x)
    reps, t = 0, time.perf_counter()
    while time.perf_counter() - t < 0.3:
        np.copyto(y, x)
        reps += 1
    bw = 2 * x.nbytes * reps / (time.perf_counter() - t)
    import os

    mem = float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    return Device(
        "local",
        f"this machine ({os.cpu_count()} cores, torch threads {torch.get_num_threads()}), calibrated",
        {"fp32": flops, "fp16": flops, "bf16": flops},
        bw,
        mem,
        launch_overhead_s=5e-6,
        source="micro-benchmark",
    )
