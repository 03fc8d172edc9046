"""Calibrate a catalog device's roofline on a measured latency table.

The spec-sheet roofline (:mod:`hynas.hw.roofline`, Williams et al., CACM 2009) ranks the
HW-NAS-Bench latencies (Li et al., "HW-NAS-Bench", ICLR 2021) of NB201 cells worse than FLOPs and
misses their values by 75-80% on the Raspberry Pi 4 and the Pixel 3. Three things the ideal roofline
leaves out explain most of it, and each becomes one parameter of the device, not of the cell:

* ``efficiency``: TFLite's convolutions reach a small fraction of the FMA peak;
* ``window_eff``: a 3×3 average pooling (0 FLOPs in hynas's convention) costs more than a 1×1
  convolution on these CPUs, because it reads nine inputs per output at the vector rate;
* ``launch_overhead_s``: every operator costs a fixed time to dispatch;
* ``bandwidth_eff``: the fraction of peak bandwidth (bounded by 1);
* ``fold_constants``: the TFLite converter folds NB201's zero edges and the operators that depend
  on them only (a cell with no input-to-output path leaves an empty network of about 0.1 ms);
  chosen by the fit (the better training error of the two).

The four fractions and the overhead are fitted by bounded least squares on the relative error over
a small seeded sample of measured cells (50 by default); the model is scored on disjoint held-out
cells (1,000 by default) by MAPE and Kendall τ, beside the FLOPs proxy's τ and the spec-sheet
roofline on the same cells. :func:`calibrate` returns the records the device catalog ships in
``hynas/data/calibration/roofline_devices.json`` (``bench/calibrate_devices.py`` rewrites it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from scipy import optimize, stats

from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.core.space import SearchSpace
from hynas.hw.devices import FITTED, SPEC_CATALOG, Device

__all__ = [
    "calibratable",
    "calibrate",
    "fit_device",
    "held_out_scores",
    "split",
    "table",
    "write_calibrations",
]

_LOW = np.log([1e-4, 1e-4, 1e-4, 1e-8])  # efficiency, bandwidth_eff, window_eff, overhead (s)
_HIGH = np.log([1.0, 1.0, 1.0, 1e-2])
_STARTS = (np.log([0.05, 0.05, 0.01, 1e-5]), np.log([0.3, 0.5, 0.1, 1e-4]))


def _tables() -> dict[str, str]:
    """device -> the space whose measured latency table covers it (``SearchSpace.latency_tables``)."""
    from hynas.spaces import SPACES, get_space

    return {d: name for name in SPACES.names() for d in get_space(name).latency_tables()}


@cache
def table(device: str) -> tuple[SearchSpace, list[Architecture], np.ndarray]:
    """The space of ``device``'s measured table, all its architectures and their latency (ms)."""
    from hynas.spaces import get_space

    space = get_space(_tables()[device])
    archs, y = space.latency_samples(device, None, 0)
    return space, archs, np.asarray(y, float)


def calibratable() -> list[str]:
    """Catalog devices with a measured latency table (HW-NAS-Bench: NB201 cells)."""
    return sorted(d for d in _tables() if d in SPEC_CATALOG)


def _check(device: str) -> Device:
    tables = _tables()
    ok = ", ".join(calibratable())
    if device in SPEC_CATALOG and device not in tables:
        raise HynasError(
            f"device {device!r} has no measured latency table to calibrate on; calibratable: {ok}"
        )
    if device in tables and device not in SPEC_CATALOG:
        raise HynasError(
            f"device {device!r} has a measured table but no catalog entry (peak compute, bandwidth) "
            f"to calibrate; calibratable: {ok}"
        )
    if device not in SPEC_CATALOG:
        raise HynasError(f"unknown device {device!r} to calibrate; calibratable: {ok}")
    return SPEC_CATALOG[device]


def split(n_train: int, n_test: int, seed: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Disjoint seeded (train, held-out) rows of a ``size``-row table: the end of the seeded permutation.

    ``hynas hw validate`` takes its cells from the front of the same permutation, so with the same
    seed it scores the roofline on cells the fit never saw (while n + k + 1,000 stays below
    15,625 - n_train - n_test).
    """
    if n_train < 5 or n_test < 3 or n_train + n_test > size:
        raise HynasError(
            f"bad sample sizes n_train={n_train}, n_test={n_test}: at least 5 and 3, together at most {size}"
        )
    perm = np.random.default_rng(seed).permutation(size)
    return perm[size - n_train :], perm[size - n_train - n_test : size - n_train]


@dataclass
class _Ops:
    """The operators of many networks, flattened: per-op FLOPs, bytes, window work, network id."""

    flops: np.ndarray
    nbytes: np.ndarray
    window: np.ndarray
    owner: np.ndarray
    count: np.ndarray  # operators per network

    @classmethod
    def of(cls, archs: list[Architecture], fold: bool) -> _Ops:
        from hynas.hw.analytic import arch_ops
        from hynas.hw.roofline import window_work

        rows = [arch_ops(a, fold_constants=fold) for a in archs]
        flat = [o for ops in rows for o in ops]
        return cls(
            np.array([o.flops for o in flat], float),
            np.array([o.bytes for o in flat], float),
            np.array([window_work(o, 4) for o in flat], float),
            np.repeat(np.arange(len(rows)), [len(r) for r in rows]),
            np.array([len(r) for r in rows], float),
        )

    def latency_ms(self, dev: Device, theta: np.ndarray) -> np.ndarray:
        """:func:`~hynas.hw.roofline.roofline_latency` of every network (fp32), vectorised, in ms."""
        eff, bw_eff, win_eff, overhead = np.exp(theta)
        p, b = dev.peak_flops["fp32"], dev.mem_bw
        per_op = np.maximum(self.flops / (p * eff) + self.window / (p * win_eff), self.nbytes / (b * bw_eff))
        return (np.bincount(self.owner, per_op, len(self.count)) + self.count * overhead) * 1e3


def _theta(dev: Device) -> np.ndarray:
    return np.log([dev.efficiency, dev.bandwidth_eff, dev.window_eff, max(dev.launch_overhead_s, 1e-12)])


def _fit(ops: _Ops, dev: Device, y: np.ndarray) -> tuple[np.ndarray, float]:
    best: Any = None
    for start in _STARTS:
        r = optimize.least_squares(lambda th: ops.latency_ms(dev, th) / y - 1.0, start, bounds=(_LOW, _HIGH))
        if best is None or r.cost < best.cost:
            best = r
    return best.x, float(best.cost)


def fit_device(device: str, n_train: int = 50, seed: int = 0) -> Device:
    """``device`` with its fractions, overhead and folding fitted on ``n_train`` seeded measured cells."""
    spec = _check(device)
    _, all_archs, all_y = table(device)
    train, _ = split(n_train, 3, seed, len(all_y))
    archs, y = [all_archs[i] for i in train], all_y[train]
    fits = {fold: _fit(_Ops.of(archs, fold), spec, y) for fold in (False, True)}
    fold = min(fits, key=lambda f: fits[f][1])
    eff, bw_eff, win_eff, overhead = (float(v) for v in np.exp(fits[fold][0]))
    return spec.with_calibration(
        efficiency=eff,
        bandwidth_eff=bw_eff,
        window_eff=win_eff,
        launch_overhead_s=overhead,
        fold_constants=fold,
    )


def held_out_scores(dev: Device, spec: Device, test: np.ndarray) -> dict[str, float]:
    """MAPE and Kendall τ of ``dev`` on the cells ``test``, beside FLOPs' τ and the ``spec`` device's."""
    from hynas.hw.analytic import analytic_costs

    _, all_archs, all_y = table(dev.name)
    archs, y = [all_archs[i] for i in test], all_y[test]
    pred = _Ops.of(archs, dev.fold_constants).latency_ms(dev, _theta(dev))
    base = _Ops.of(archs, spec.fold_constants).latency_ms(spec, _theta(spec))
    flops = np.array([analytic_costs(a)["flops"] for a in archs])

    def tau(p: np.ndarray) -> float:
        return round(float(stats.kendalltau(p, y).statistic), 4)

    def mape(p: np.ndarray) -> float:
        return round(float(np.mean(np.abs(p - y) / y)), 4)

    return {
        "mape": mape(pred),
        "kendall": tau(pred),
        "flops_kendall": tau(flops),
        "spec_mape": mape(base),
        "spec_kendall": tau(base),
    }


def calibrate(
    devices: list[str] | None = None, n_train: int = 50, n_test: int = 1000, seed: int = 0
) -> dict[str, dict[str, Any]]:
    """device -> calibration record: fitted ``params``, the ``fit`` (table, sizes, seed), ``held_out`` scores."""
    names = calibratable() if devices is None else list(devices)
    for name in names:
        _check(name)
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        space, _, y = table(name)
        _, test = split(n_train, n_test, seed, len(y))
        fitted = fit_device(name, n_train, seed)
        params = {
            k: v if isinstance(v, bool) else float(f"{v:.6g}") for k in FITTED for v in [getattr(fitted, k)]
        }
        dev = SPEC_CATALOG[name].with_calibration(**params)  # scored as shipped: rounded
        out[name] = {
            "params": params,
            "fit": {
                "table": f"HW-NAS-Bench latency@{name}",
                "space": space.name,
                "n_train": n_train,
                "n_test": n_test,
                "seed": seed,
            },
            "held_out": held_out_scores(dev, SPEC_CATALOG[name], test),
        }
    return out


def write_calibrations(records: dict[str, dict[str, Any]], path: Path) -> Path:
    """Write the calibration file the device catalog reads (a temporary file, then a rename)."""
    doc = {
        "format": 1,
        "model": "roofline with fitted efficiency, bandwidth_eff, window_eff, launch_overhead_s "
        "and fold_constants (hynas.hw.calibrate)",
        "devices": records,
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path
