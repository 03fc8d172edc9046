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
def calibrate_local(threads: int | None = None) -> Device:
    """This machine, measured: fp32 matmul FLOP/s, memory-copy bandwidth and per-operator overhead.

    ``threads`` fixes torch's intra-op threads during the calibration (default: as currently set;
    hynas measures latency with one thread, so the latency objectives calibrate with ``threads=1``).
    The overhead is the median time of a tiny convolution (1×1 kernel on a 1×1×4×4 map, fused
    conv + BN + ReLU counted as three calls): the eager dispatch cost that dominates small networks.
    """
    import os
    import time

    import numpy as np
    import torch

    from hynas.hw.devices import Device

    old = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(int(threads))
    try:
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
        tiny = torch.nn.Sequential(torch.nn.Conv2d(1, 1, 1), torch.nn.BatchNorm2d(1), torch.nn.ReLU()).eval()
        inp = torch.randn(1, 1, 4, 4)
        samples = []
        with torch.no_grad():
            for _ in range(10):
                tiny(inp)
            for _ in range(200):
                t0 = time.perf_counter()
                tiny(inp)
                samples.append(time.perf_counter() - t0)
        overhead = float(np.median(samples))
        nthreads = torch.get_num_threads()
    finally:
        torch.set_num_threads(old)
    mem = float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    return Device(
        "local",
        f"this machine ({os.cpu_count()} cores, torch threads {nthreads}), calibrated",
        {"fp32": flops, "fp16": flops, "bf16": flops},
        bw,
        mem,
        launch_overhead_s=overhead,
        source="micro-benchmark",
    )
