"""Hardware cost models behind one naming scheme, registered as objective resolvers.

An objective or constraint names its metric and, after ``@``, its source:

=================================  ==============================================================
``params``, ``flops``, ``memory``  analytic: parameters (M), FLOPs (M, 2 per MAC), peak activations (MB)
``latency@local``                  measured on this machine, PyTorch eager (ms, cached)
``latency@onnx:local``             measured on this machine, ONNX Runtime (ms, cached)
``latency@lut:<file|local>``       per-operator lookup table (``hynas hw profile``) (ms)
``latency@predictor:<device>``     learned predictor (ms): HW-NAS-Bench devices, ``local`` (few-shot
                                   from 20 measured cells) or a CSV of ``arch,latency_ms`` rows
                                   (few-shot transfer to that device)
``latency@roofline:<device>``      roofline over the analytic operators (ms), catalog devices
``energy@ecnas``                   EC-NAS-Bench measured training energy (kWh), space ``ecnas``
                                   (:mod:`hynas.hw.energy`)
=================================  ==============================================================

Imports stay light here (no torch); each cost model imports what it needs when first used. The
modules of this package register more on import (:mod:`hynas.hw.lm_costs`, :mod:`hynas.hw.energy`).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from hynas.benchmarks.nb201 import HWNB_DEVICES
from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.core.metrics import CostModel, MetricInfo, register_device, register_resolver
from hynas.core.space import SearchSpace
from hynas.hw.devices import DEVICE_CATALOG

_HWNB = tuple(HWNB_DEVICES)  # the devices of the HW-NAS-Bench tables (few-shot transfer starts there)

__all__ = ["ESTIMATORS", "parse_source", "resolve"]

#: latency sources after ``latency@``: estimator -> what it needs
ESTIMATORS = {
    "local": "measured with PyTorch eager on this machine",
    "onnx": "measured with ONNX Runtime: onnx:local",
    "lut": "lookup table: lut:local or lut:<file.json>",
    "predictor": "learned predictor: predictor:<device|local|samples.csv>",
    "roofline": "roofline model: roofline:<device>",
}
_LOCAL_SHOTS = 20  # measured cells behind latency@predictor:local


def _roofline_devices() -> list[str]:
    return sorted([*DEVICE_CATALOG, "local"])


class _Cached(CostModel):
    """A cost model computed per architecture and memoised."""

    def __init__(self, info: MetricInfo) -> None:
        self.info = info
        self._cache: dict[Architecture, float] = {}

    def __call__(self, arch: Architecture) -> float:
        if arch not in self._cache:
            self._cache[arch] = float(self.compute(arch))
        return self._cache[arch]

    def compute(self, arch: Architecture) -> float:
        raise NotImplementedError


class AnalyticCost(_Cached):
    """``params`` (M), ``flops`` (MFLOPs) or ``memory`` (peak activations, MB) from analytic counting."""

    KEYS: ClassVar[dict[str, tuple[str, str]]] = {
        "params": ("params", "M"),
        "flops": ("flops", "MFLOP"),
        "memory": ("peak_activation_bytes", "MB"),
    }

    def __init__(self, name: str) -> None:
        key, unit = self.KEYS[name]
        super().__init__(MetricInfo(name, "min", unit, f"analytic {key}"))
        self.key = key

    def compute(self, arch: Architecture) -> float:
        from hynas.hw.analytic import analytic_costs

        return analytic_costs(arch)[self.key] / 1e6


class RooflineLatency(_Cached):
    """Σ over the analytic operators of max(compute, memory) time + launch overhead, in ms."""

    def __init__(self, name: str, device: str, dtype: str = "fp32") -> None:
        from hynas.hw.devices import get_device
        from hynas.hw.roofline import calibrate_local

        # latency@local is measured with one thread, so the local roofline is calibrated alike
        self.device = calibrate_local(1) if device == "local" else get_device(device)
        self.dtype = dtype
        self.device.flops_per_s(dtype)  # unknown dtype: one clear error now
        fitted = ", calibrated" if self.device.calibration else ""
        super().__init__(
            MetricInfo(name, "min", "ms", f"roofline latency on {self.device.description}{fitted}")
        )

    def compute(self, arch: Architecture) -> float:
        from hynas.hw.analytic import arch_latency

        return arch_latency(arch, self.device, self.dtype) * 1e3


class MeasuredLatency(_Cached):
    """Median latency on this machine (batch 1, 1 thread), cached in the latency cache file."""

    def __init__(self, name: str, runtime: str) -> None:
        super().__init__(MetricInfo(name, "min", "ms", f"measured on this machine ({runtime})"))
        self.runtime = runtime

    def compute(self, arch: Architecture) -> float:
        from hynas.hw.measure import default_cache_path, measure_latency

        return measure_latency(arch, self.runtime, cache=default_cache_path()).median_ms


class LutLatency(_Cached):
    """Latency from a per-operator lookup table (:mod:`hynas.hw.lut`), in ms."""

    def __init__(self, name: str, path: Path, space: str) -> None:
        from hynas.hw.lut import LatencyTable

        self.table = LatencyTable.load(path)
        if self.table.space != space:
            raise HynasError(
                f"{name}: the table {path} covers space {self.table.space!r}, not {space!r}; "
                f"build one with `hynas hw profile --space {space}`"
            )
        super().__init__(MetricInfo(name, "min", "ms", f"lookup table {path}"))

    def compute(self, arch: Architecture) -> float:
        return self.table.predict(arch) * 1e3  # the table predicts seconds


class PredictedLatency(CostModel):
    """A fitted predictor's latency in ms; enumerable spaces are predicted in one batch."""

    def __init__(self, name: str, space: SearchSpace, predictor: Any, description: str) -> None:
        self.info = MetricInfo(name, "min", "ms", description)
        self.space, self.predictor = space, predictor
        self._cache: dict[Architecture, float] = {}

    def __call__(self, arch: Architecture) -> float:
        if arch not in self._cache:
            size = self.space.size()
            # a small space is predicted whole in one batch (a search's true front needs it all)
            archs = list(self.space.enumerate()) if size is not None and size <= 20_000 else [arch]
            self._cache.update(zip(archs, map(float, self.predictor.predict(archs)), strict=True))
        return self._cache[arch]


def parse_source(name: str) -> tuple[str, str]:
    """``latency@roofline:a100`` -> (``roofline``, ``a100``); ``latency@local`` -> (``local``, ``local``)."""
    _, _, source = name.partition("@")
    est, sep, target = source.partition(":")
    if not sep:
        return est, est
    return est, target


def _load_samples(space: SearchSpace, path: Path) -> tuple[list[Architecture], np.ndarray]:
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise HynasError(f"cannot read latency samples {path}: {exc.strerror}") from None
    if not rows or not {"arch", "latency_ms"} <= set(rows[0]):
        raise HynasError(f"latency samples {path} need a header with columns arch,latency_ms")
    try:
        lat = np.array([float(r["latency_ms"]) for r in rows])
    except ValueError as exc:
        raise HynasError(f"latency samples {path}: bad latency_ms value ({exc})") from None
    return [space.parse(r["arch"]) for r in rows], lat


def _predictor(name: str, space: SearchSpace, target: str) -> CostModel:
    from hynas.hw import predictor as P

    tables = space.latency_tables()
    if target in _HWNB or target in tables:
        if target not in tables:
            raise HynasError(
                f"{name}: the {target} predictor is trained on HW-NAS-Bench, which covers space nb201 only, "
                f"not {space.name!r}; use latency@roofline:<device> or latency@predictor:<samples.csv>"
            )
        archs, lat = space.latency_samples(target, 1000, seed=0)
        pred = P.LatencyPredictor(space).fit(archs, lat)
        return PredictedLatency(name, space, pred, f"gradient boosting on 1,000 HW-NAS-Bench {target} cells")
    if target == "local" or target.endswith(".csv"):
        if not set(_HWNB) <= set(tables):
            raise HynasError(
                f"{name}: few-shot transfer starts from the HW-NAS-Bench devices, which cover space nb201 "
                f"only, not {space.name!r}; use latency@local, latency@lut:local or latency@roofline:local"
            )
        if target == "local":
            from hynas.hw.measure import default_cache_path, measure_latency

            rng = np.random.default_rng(0)
            archs = list(dict.fromkeys(space.sample(rng) for _ in range(4 * _LOCAL_SHOTS)))[:_LOCAL_SHOTS]
            lat = np.array([measure_latency(a, cache=default_cache_path()).median_ms for a in archs])
            desc = f"few-shot transfer from HW-NAS-Bench to this machine ({len(archs)} measured cells)"
        else:
            archs, lat = _load_samples(space, Path(target))
            desc = f"few-shot transfer from HW-NAS-Bench to the {len(archs)} samples of {target}"
        fs = P.FewShotLatencyPredictor(space, P.hwnasbench_sources(n_train=2000)).adapt(archs, lat)
        return PredictedLatency(name, space, fs, desc)
    raise HynasError(
        f"unknown predictor device {target!r} in {name!r}; valid: {', '.join(_HWNB)}, local, "
        "or a CSV file of measured samples (columns arch,latency_ms) ending in .csv"
    )


def resolve(name: str, space: SearchSpace) -> CostModel | None:
    """The resolver registered with :func:`hynas.core.metrics.register_resolver`."""
    if name in AnalyticCost.KEYS:
        return AnalyticCost(name) if space.provides("op_graph") else None
    if not name.startswith("latency@"):
        return None
    if space.provides("lm_config"):
        return None  # a language model's latency is prefill_latency@/decode_latency@ (hynas.hw.lm_costs)
    est, target = parse_source(name)
    if est == "local" and target == "local":
        return MeasuredLatency(name, "torch")
    if est in ("onnx", "torch"):
        if target != "local":
            raise HynasError(
                f"{name}: measured latency exists for this machine only; use latency@{est}:local"
            )
        return MeasuredLatency(name, "onnxruntime" if est == "onnx" else "torch")
    if est == "roofline":
        if target not in (*DEVICE_CATALOG, "local"):
            raise HynasError(
                f"unknown device {target!r} in {name!r}; roofline devices: {', '.join(_roofline_devices())}"
            )
        return RooflineLatency(name, target)
    if est == "lut":
        from hynas.hw.lut import default_lut_path

        if target in (*DEVICE_CATALOG, *_HWNB):
            raise HynasError(
                f"{name}: lookup tables are measured on this machine; use latency@lut:local or "
                "latency@lut:<file.json> (a table built by `hynas hw profile`)"
            )
        path = default_lut_path(space.name) if target == "local" else Path(target)
        if not path.exists():
            raise HynasError(
                f"{name}: no latency table at {path}; build one with `hynas hw profile --space {space.name}`"
                + ("" if target == "local" else f" --out {path}")
            )
        return LutLatency(name, path, space.name)
    if est == "predictor":
        return _predictor(name, space, target)
    tables = space.latency_tables()
    table = f"{', '.join('latency@' + d for d in tables)} (HW-NAS-Bench table); " if tables else ""
    raise HynasError(
        f"unknown objective {name!r} for space {space.name!r}; valid latency sources: {table}"
        "latency@local (measured here); "
        f"latency@roofline:<device> ({', '.join(_roofline_devices())}); "
        "latency@onnx:local, latency@lut:local|<file.json>, latency@predictor:<device>|local|<file.csv>"
    )


register_resolver(
    resolve,
    (
        "params, flops, memory",
        "analytic parameters (M), FLOPs (M), peak activation memory (MB): nb201, mobile, ecnas",
    ),
    ("latency@local, latency@onnx:local", "measured on this machine: PyTorch eager / ONNX Runtime, ms"),
    ("latency@lut:<local|file.json>", "per-operator lookup table from `hynas hw profile`, ms"),
    ("latency@predictor:<device|local|file.csv>", "learned / few-shot latency predictor (nb201), ms"),
    ("latency@roofline:<device>", "roofline model on a catalog device, ms"),
)
for _name, _dev in DEVICE_CATALOG.items():
    register_device(_name, f"latency@roofline:{_name}", _dev.description)
for _name, _desc in HWNB_DEVICES.items():
    register_device(_name, f"latency@predictor:{_name} (nb201)", _desc)
register_device(
    "local",
    "latency@local, latency@onnx:local, latency@lut:local, latency@predictor:local (nb201), "
    "latency@roofline:local",
    "this machine (measured; roofline calibrated by micro-benchmarks)",
)
