"""Trust report: how well each latency estimator agrees with ground truth.

Ground truth is (a) the HW-NAS-Bench latency tables (NB201 cells on eyeriss, fpga, pixel3,
raspi4) and (b) latency measured on this machine (PyTorch eager, batch 1, one thread). On a random
sample of architectures each estimator is scored by Kendall τ and Spearman ρ (does it *rank*
networks right, which is what a search needs) and by MAPE (is the *value* right; only for estimators
that predict milliseconds). FLOPs and params are scored as proxies beside them: an estimator that
does not beat them is not worth its cost.

Estimators per ground truth:

* table device ``d``: ``roofline:d`` (if ``d`` is in the device catalog; calibrated devices also
  show ``roofline:d (spec sheet)``, the roofline before calibration), ``predictor:d`` (gradient
  boosting on 1,000 other cells of the table), ``fewshot:d`` (transfer from the other three
  devices with k measured cells, :class:`~hynas.hw.predictor.FewShotLatencyPredictor`);
* ``local``: ``roofline:local`` (calibrated), ``lut:local`` (when a table exists), ``fewshot:local``
  (NB201: transfer from the four HW-NAS-Bench devices with k cells measured here).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from scipy import stats

from hynas.core.arch import Architecture
from hynas.core.errors import HynasError

__all__ = ["Row", "score", "validate"]

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Row:
    truth: str  # ground truth: a HW-NAS-Bench device or "local"
    estimator: str
    n: int
    kendall: float
    spearman: float
    mape: float | None  # fraction; None for proxies (not in ms)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def score(
    pred: Sequence[float] | np.ndarray, truth: Sequence[float] | np.ndarray, in_ms: bool
) -> tuple[float, float, float | None]:
    """(Kendall τ, Spearman ρ, MAPE or None)."""
    p, t = np.asarray(pred, float), np.asarray(truth, float)
    if len(p) != len(t) or len(p) < 3:
        raise HynasError(f"scoring needs at least 3 paired values, got {len(p)} and {len(t)}")
    tau = float(stats.kendalltau(p, t).statistic)
    rho = float(stats.spearmanr(p, t).statistic)
    mape = float(np.mean(np.abs(p - t) / t)) if in_ms else None
    return tau, rho, mape


def _proxies(archs: list[Architecture]) -> dict[str, np.ndarray]:
    from hynas.hw.analytic import analytic_costs

    costs = [analytic_costs(a) for a in archs]
    return {
        "flops (proxy)": np.array([c["flops"] for c in costs]),
        "params (proxy)": np.array([c["params"] for c in costs]),
    }


def _roofline(archs: list[Architecture], device: str, calibrated: bool = True) -> np.ndarray:
    from hynas.hw.analytic import arch_latency
    from hynas.hw.devices import get_device
    from hynas.hw.roofline import calibrate_local

    # the local roofline is measured with 1 thread; calibrated=False: the spec-sheet roofline
    dev = calibrate_local(1) if device == "local" else get_device(device, calibrated)
    return np.array([arch_latency(a, dev) * 1e3 for a in archs])


def _rows(truth_name: str, truth: np.ndarray, preds: dict[str, tuple[np.ndarray, bool]]) -> list[Row]:
    out = []
    for est, (p, in_ms) in preds.items():
        tau, rho, mape = score(p, truth, in_ms)
        out.append(Row(truth_name, est, len(truth), tau, rho, mape))
    return out


def _table_truths(n: int, k: int, seed: int, devices: Sequence[str], progress: Progress) -> list[Row]:
    from hynas.benchmarks.nb201 import DEVICES, load_table
    from hynas.hw import predictor as P
    from hynas.hw.devices import DEVICE_CATALOG
    from hynas.spaces import get_space

    space = get_space("nb201")
    table = load_table()
    rng = np.random.default_rng(seed)
    perm = rng.permutation(15_625)
    test, shots, train = perm[:n], perm[n : n + k], perm[n + k : n + k + 1000]
    archs = [space.from_index(int(i)) for i in test]  # type: ignore[attr-defined]
    train_archs = [space.from_index(int(i)) for i in train]  # type: ignore[attr-defined]
    shot_archs = [space.from_index(int(i)) for i in shots]  # type: ignore[attr-defined]
    proxies = _proxies(archs)
    progress("training one latency predictor per HW-NAS-Bench device")
    preds = {
        d: P.LatencyPredictor(space, seed=seed).fit(train_archs, table[f"latency@{d}"][train])
        for d in DEVICES
    }
    rows: list[Row] = []
    for dev in devices:
        truth = table[f"latency@{dev}"][test]
        est: dict[str, tuple[np.ndarray, bool]] = {f"predictor:{dev}": (preds[dev].predict(archs), True)}
        fs = P.FewShotLatencyPredictor(space, {d: p for d, p in preds.items() if d != dev})
        fs.adapt(shot_archs, table[f"latency@{dev}"][shots])
        est[f"fewshot:{dev} (k={k})"] = (fs.predict(archs), True)
        if dev in DEVICE_CATALOG:
            est[f"roofline:{dev}"] = (_roofline(archs, dev), True)
            if DEVICE_CATALOG[dev].calibration is not None:  # before calibration, beside it
                est[f"roofline:{dev} (spec sheet)"] = (_roofline(archs, dev, False), True)
        est.update({name: (v, False) for name, v in proxies.items()})
        rows += _rows(dev, truth, est)
    return rows


def _local_truth(
    space_name: str, n: int, k: int, seed: int, lut: Path | None, progress: Progress
) -> list[Row]:
    from hynas.benchmarks.nb201 import HWNB_DEVICES
    from hynas.hw.lut import LatencyTable, default_lut_path
    from hynas.hw.measure import default_cache_path, measure_latency
    from hynas.spaces import get_space

    space = get_space(space_name)
    rng = np.random.default_rng(seed + 1)
    pool = list(dict.fromkeys(space.sample(rng) for _ in range(4 * (n + k) + 10)))
    if len(pool) < n + k:
        raise HynasError(f"space {space_name!r} has too few distinct architectures for n={n} and k={k}")
    archs, shots = pool[:n], pool[n : n + k]
    cache = default_cache_path()
    truth = np.empty(n)
    for i, a in enumerate(archs):
        if i % 10 == 0:
            progress(f"measuring {space_name} on this machine: {i}/{n}")
        truth[i] = measure_latency(a, cache=cache).median_ms
    est: dict[str, tuple[np.ndarray, bool]] = {"roofline:local": (_roofline(archs, "local"), True)}
    path = lut if lut is not None else default_lut_path(space_name)
    if path.exists():
        table = LatencyTable.load(path)
        if table.space == space_name:
            est["lut:local"] = (np.array([table.predict(a) * 1e3 for a in archs]), True)
    elif lut is not None:
        raise HynasError(f"no latency table at {lut}; build one with `hynas hw profile --space {space_name}`")
    if set(HWNB_DEVICES) <= set(space.latency_tables()) and k >= 3:
        from hynas.hw import predictor as P

        progress(f"measuring {k} cells for few-shot transfer to this machine")
        y = np.array([measure_latency(a, cache=cache).median_ms for a in shots])
        fs = P.FewShotLatencyPredictor(space, P.hwnasbench_sources(n_train=1000, seed=seed)).adapt(shots, y)
        est[f"fewshot:local (k={k})"] = (fs.predict(archs), True)
    est.update({name: (v, False) for name, v in _proxies(archs).items()})
    return _rows("local", truth, est)


def validate(
    space: str = "nb201",
    n: int = 200,
    measure: int = 0,
    k: int = 10,
    seed: int = 0,
    devices: Sequence[str] | None = None,
    lut: Path | None = None,
    progress: Progress | None = None,
) -> list[Row]:
    """Score every estimator against every ground truth on random samples.

    ``n`` table cells per HW-NAS-Bench device (NB201 only), ``measure`` architectures measured on
    this machine (0: skip), ``k`` samples for the few-shot estimators.
    """
    from hynas.benchmarks.nb201 import DEVICES
    from hynas.hw.lut import lut_spaces
    from hynas.spaces import get_space

    say = progress or (lambda _msg: None)
    if not get_space(space).provides("lut_networks"):
        raise HynasError(f"hw validate covers spaces {' and '.join(lut_spaces())}, not {space!r}")
    if n < 3 or n > 10_000:
        raise HynasError(f"bad sample size n={n}: it must lie in 3..10000")
    if measure < 0 or (0 < measure < 3):
        raise HynasError(f"bad --measure {measure}: 0 (skip) or at least 3 architectures")
    if not 3 <= k <= 100:
        raise HynasError(f"bad k={k}: few-shot transfer uses 3..100 measured samples")
    devs = tuple(DEVICES) if devices is None else tuple(devices)
    bad = [d for d in devs if d not in DEVICES]
    if bad:
        raise HynasError(f"unknown HW-NAS-Bench device {bad[0]!r}; valid: {', '.join(DEVICES)}")
    rows: list[Row] = []
    if devs and set(devs) <= set(get_space(space).latency_tables()):
        rows += _table_truths(n, k, seed, devs, say)
    if measure:
        rows += _local_truth(space, measure, k, seed, lut, say)
    if not rows:
        raise HynasError(
            f"nothing to validate for space {space!r}: the HW-NAS-Bench tables cover nb201 only; "
            "measure on this machine with --measure N"
        )
    return rows
