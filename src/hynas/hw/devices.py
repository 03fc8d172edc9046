"""Device catalog for analytical (roofline) cost models.

Each entry gives documented peak compute per dtype, memory bandwidth and memory size, from the
vendors' public spec sheets (dense, no structured sparsity). ``efficiency`` and ``bandwidth_eff``
are the fractions of peak a real kernel reaches; they default to 1 (an ideal roofline) and can be
calibrated. ``local`` is this machine, calibrated by micro-benchmarks
(:func:`hynas.hw.roofline.calibrate_local`).

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

from dataclasses import dataclass, field, replace

from hynas.core.errors import HynasError
from hynas.core.metrics import register_device

__all__ = ["DEVICE_CATALOG", "Device", "add_device", "get_device"]

T = 1e12
G = 1e9
GB = 1e9


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

    def flops_per_s(self, dtype: str = "fp32") -> float:
        try:
            return self.peak_flops[dtype] * self.efficiency
        except KeyError:
            raise HynasError(
                f"device {self.name!r} has no {dtype} peak; known dtypes: {', '.join(self.peak_flops)}"
            ) from None

    def bytes_per_s(self) -> float:
        return self.mem_bw * self.bandwidth_eff

    def with_calibration(self, **changes: float) -> Device:
        return replace(self, **changes)  # type: ignore[arg-type]


DEVICE_CATALOG: dict[str, Device] = {
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


def get_device(name: str) -> Device:
    """A catalog device; ``local`` is calibrated on this machine on first use."""
    if name == "local":
        from hynas.hw.roofline import calibrate_local

        return calibrate_local()
    try:
        return DEVICE_CATALOG[name]
    except KeyError:
        raise HynasError(
            f"unknown device {name!r}; valid devices: {', '.join(sorted([*DEVICE_CATALOG, 'local']))}"
        ) from None


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
