"""Device catalog for analytical (roofline) cost models.

Each entry gives documented peak compute per dtype, memory bandwidth and memory size, from the
vendors' public spec sheets (dense, no structured sparsity). ``efficiency``, ``bandwidth_eff`` and
``window_eff`` are the fractions of peak a real kernel reaches; they default to 1 (an ideal
roofline). Devices with a measured latency table are calibrated: their fitted fractions, per-operator
overhead and the fit's provenance and held-out error ship in
``hynas/data/calibration/roofline_devices.json`` (written by :mod:`hynas.hw.calibrate`) and are
applied here, so :data:`DEVICE_CATALOG` holds the calibrated devices and :data:`SPEC_CATALOG` the
spec-sheet ones. ``local`` is this machine, calibrated by micro-benchmarks (:func:`calibrate_local`).

Sources:
- NVIDIA H100 SXM5 datasheet: 989 TFLOP/s BF16/FP16 dense tensor, 67 TFLOP/s FP32, 3.35 TB/s HBM3, 80 GB.
- NVIDIA A100 SXM4 80 GB datasheet: 312 TFLOP/s BF16/FP16 dense tensor, 19.5 TFLOP/s FP32, 2.039 TB/s, 80 GB.
- NVIDIA RTX 4090 (Ada whitepaper): 165 TFLOP/s FP16 tensor (FP32 accumulate), 82.6 TFLOP/s FP32, 1.008 TB/s, 24 GB.
- NVIDIA Jetson AGX Orin 64 GB datasheet: GPU 5.3 TFLOP/s FP32, ~42.5 TFLOP/s FP16 dense tensor, 204.8 GB/s, 64 GB.
- Raspberry Pi 4 Model B (BCM2711, 4× Cortex-A72 at 1.5 GHz): 4 cores × 1.5 GHz × 8 FP32 FLOP/cycle
  (128-bit NEON FMA) = 48 GFLOP/s; LPDDR4-3200 on a 32-bit bus = 12.8 GB/s; 4 GB.
- Google Pixel 3 (Snapdragon 845, the HW-NAS-Bench phone; big cluster 4× Cortex-A75 at 2.5 GHz):
  4 × 2.5 GHz × 16 FP32 FLOP/cycle (two 128-bit NEON FMA pipes) = 160 GFLOP/s; LPDDR4X-1866
  (3733 MT/s) on 4×16 bit = 29.9 GB/s; 4 GB.
- Phone-class CPU (Snapdragon 855 big cores, 4× Cortex-A76 at ~2.4 GHz): 4 × 2.4 GHz × 16 FP32
  FLOP/cycle (two 128-bit FMA pipes) ≈ 154 GFLOP/s; LPDDR4X-2133 on 4×16 bit = 34.1 GB/s; 8 GB.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from typing import Any

from hynas.core.errors import HynasError
from hynas.core.metrics import register_device

__all__ = [
    "CALIBRATION_FILE",
    "DEVICE_CATALOG",
    "SPEC_CATALOG",
    "Calibration",
    "Device",
    "add_device",
    "apply_calibration",
    "calibrate_local",
    "calibration_note",
    "get_device",
]

#: the fitted parameters of the calibrated devices, under ``hynas/data``
CALIBRATION_FILE = "calibration/roofline_devices.json"

T = 1e12
G = 1e9
GB = 1e9


@dataclass(frozen=True)
class Calibration:
    """Where a device's fitted parameters come from and how well they predict held-out cells."""

    table: str  # the measured table, e.g. "HW-NAS-Bench latency@raspi4"
    space: str  # the space whose cells were fitted and scored
    n_train: int
    n_test: int  # held-out cells, disjoint from the fitted ones
    seed: int
    mape: float  # held-out MAPE (fraction) of the calibrated roofline
    kendall: float  # held-out Kendall τ of the calibrated roofline
    flops_kendall: float  # Kendall τ of the FLOPs proxy on the same held-out cells
    spec_mape: float  # the spec-sheet roofline on the same cells, before calibration
    spec_kendall: float

    def summary(self) -> str:
        return (
            f"{self.table}: fitted on {self.n_train} {self.space} cells (seed {self.seed}); "
            f"held-out {self.n_test}: MAPE {100 * self.mape:.1f}%, τ {self.kendall:.3f} "
            f"(FLOPs τ {self.flops_kendall:.3f}; spec sheet: MAPE {100 * self.spec_mape:.0f}%, "
            f"τ {self.spec_kendall:.3f})"
        )


@dataclass(frozen=True)
class Device:
    name: str
    description: str
    peak_flops: dict[str, float]  # dtype -> FLOP/s
    mem_bw: float  # bytes/s
    mem_bytes: float  # bytes of memory available to the model
    launch_overhead_s: float = 0.0  # per operator (kernel launch / dispatch)
    efficiency: float = 1.0  # fraction of peak compute reached
    bandwidth_eff: float = 1.0  # fraction of peak bandwidth reached
    source: str = "spec sheet"
    extra: dict[str, float] = field(default_factory=dict)
    window_eff: float = 1.0  # fraction of peak compute reached by pooling windows (0-FLOP ops)
    fold_constants: bool = False  # the toolchain folds constant and dead operators (TFLite does)
    calibration: Calibration | None = None  # set when fitted on a measured table

    def flops_per_s(self, dtype: str = "fp32") -> float:
        try:
            return self.peak_flops[dtype] * self.efficiency
        except KeyError:
            raise HynasError(
                f"device {self.name!r} has no {dtype} peak; known dtypes: {', '.join(self.peak_flops)}"
            ) from None

    def bytes_per_s(self) -> float:
        return self.mem_bw * self.bandwidth_eff

    def with_calibration(self, **changes: Any) -> Device:
        return replace(self, **changes)


SPEC_CATALOG: dict[str, Device] = {
    d.name: d
    for d in (
        Device(
            "h100",
            "NVIDIA H100 SXM5 80 GB",
            {"fp32": 67 * T, "fp16": 989 * T, "bf16": 989 * T, "int8": 1979 * T},
            3.35e12,
            80 * GB,
            launch_overhead_s=4e-6,
        ),
        Device(
            "a100",
            "NVIDIA A100 SXM4 80 GB",
            {"fp32": 19.5 * T, "fp16": 312 * T, "bf16": 312 * T, "int8": 624 * T},
            2.039e12,
            80 * GB,
            launch_overhead_s=4e-6,
        ),
        Device(
            "rtx4090",
            "NVIDIA GeForce RTX 4090 24 GB",
            {"fp32": 82.6 * T, "fp16": 165.2 * T, "bf16": 165.2 * T, "int8": 660.6 * T},
            1.008e12,
            24 * GB,
            launch_overhead_s=4e-6,
        ),
        Device(
            "jetson-orin",
            "NVIDIA Jetson AGX Orin 64 GB (GPU)",
            {"fp32": 5.3 * T, "fp16": 42.5 * T, "bf16": 42.5 * T, "int8": 85 * T},
            204.8e9,
            64 * GB,
            launch_overhead_s=10e-6,
        ),
        Device(
            "raspi4",
            "Raspberry Pi 4 Model B, 4× Cortex-A72 1.5 GHz, 4 GB",
            {"fp32": 48 * G, "fp16": 48 * G, "int8": 96 * G},
            12.8e9,
            4 * GB,
            launch_overhead_s=20e-6,
        ),
        Device(
            "pixel3",
            "Google Pixel 3 CPU: Snapdragon 845, 4× Cortex-A75 2.5 GHz, 4 GB",
            {"fp32": 160 * G, "fp16": 320 * G, "int8": 640 * G},
            29.9e9,
            4 * GB,
            launch_overhead_s=10e-6,
        ),
        Device(
            "phone-cpu",
            "Phone-class CPU: Snapdragon 855, 4× Cortex-A76 ~2.4 GHz, 8 GB",
            {"fp32": 154 * G, "fp16": 307 * G, "int8": 614 * G},
            34.1e9,
            8 * GB,
            launch_overhead_s=10e-6,
        ),
    )
}


#: the fitted parameter names a calibration file may set on a device
FITTED = ("efficiency", "bandwidth_eff", "window_eff", "launch_overhead_s", "fold_constants")


@cache
def load_calibrations() -> dict[str, dict[str, Any]]:
    """device -> its record in the shipped calibration file (``params``, ``fit``, ``held_out``)."""
    with resources.files("hynas.data").joinpath(CALIBRATION_FILE).open("r", encoding="utf-8") as fh:
        return dict(json.load(fh)["devices"])


def apply_calibration(spec: Device, record: dict[str, Any]) -> Device:
    """``spec`` with the fitted parameters and the provenance of one calibration record."""
    params = {k: record["params"][k] for k in FITTED}
    fit, held = record["fit"], record["held_out"]
    return spec.with_calibration(
        **params,
        source=f"{spec.source}, calibrated on {fit['table']}",
        calibration=Calibration(
            fit["table"], fit["space"], fit["n_train"], fit["n_test"], fit["seed"], **held
        ),
    )


DEVICE_CATALOG: dict[str, Device] = {
    n: apply_calibration(d, load_calibrations()[n]) if n in load_calibrations() else d
    for n, d in SPEC_CATALOG.items()
}


def calibration_note(name: str) -> str:
    """What ``hynas list devices`` says about the roofline calibration of ``name``."""
    if name == "local":
        return "micro-benchmarks on this machine (roofline:local)"
    dev = DEVICE_CATALOG.get(name)
    if dev is None:
        return "-"
    return "no (spec sheet)" if dev.calibration is None else f"yes: {dev.calibration.summary()}"


def get_device(name: str, calibrated: bool = True) -> Device:
    """A catalog device (calibrated when fitted; ``calibrated=False``: the spec-sheet roofline);
    ``local`` is calibrated on this machine on first use."""
    if name == "local":
        return calibrate_local()
    try:
        return (DEVICE_CATALOG if calibrated else SPEC_CATALOG)[name]
    except KeyError:
        raise HynasError(
            f"unknown device {name!r}; valid devices: {', '.join(sorted([*DEVICE_CATALOG, 'local']))}"
        ) from None


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


def add_device(device: Device) -> Device:
    """Register a device of a plug-in: ``latency@roofline:<name>`` and the hybrid-lm roofline
    latencies (``prefill_latency``/``decode_latency@<ctx>:<name>``) model it like a catalog device,
    and ``hynas list devices`` shows it (see docs/extending.md)."""
    if device.name in DEVICE_CATALOG or device.name == "local":
        raise ValueError(f"device {device.name!r} registered twice")
    DEVICE_CATALOG[device.name] = device
    sources = f"latency@roofline:{device.name}, prefill_latency/decode_latency@<ctx>:{device.name}"
    register_device(device.name, sources, device.description, spec=lambda: device)
    return device
