"""NAS-Bench-201 and HW-NAS-Bench tables (see ``hynas/data/README.md`` for sources and licences).

All arrays are indexed by the official NAS-Bench-201 index. The analytic cost of the benchmark's
network (Dong & Yang 2020: 3×3 stem, 3 stages of 5 cells at C = 16/32/64, residual reduction blocks,
global pooling, linear classifier) is computed here too, because the simulated training time of a
tabular query is derived from it.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

__all__ = [
    "DATASETS",
    "DEVICES",
    "HWNB_DEVICES",
    "NB201Table",
    "load_arch_strings",
    "load_table",
    "nb201_macs",
]

#: dataset -> (input resolution, classes, training images per epoch)
DATASETS = {
    "cifar10": (32, 10, 25_000),  # the 'cifar10-valid' split: train on 25k, validate on the other 25k
    "cifar100": (32, 100, 50_000),
    "imagenet16-120": (16, 120, 151_700),
}
#: HW-NAS-Bench devices (Li et al., ICLR 2021) whose latency tables cover NB201 cells: name -> description
#: (the one list: the nb201 space, its tabular evaluator and the predictors read it)
HWNB_DEVICES = {
    "eyeriss": "Eyeriss ASIC accelerator (HW-NAS-Bench, simulated)",
    "fpga": "Xilinx ZC706 FPGA (HW-NAS-Bench)",
    "pixel3": "Google Pixel 3 phone CPU, TFLite (HW-NAS-Bench)",
    "raspi4": "Raspberry Pi 4 CPU, TFLite (HW-NAS-Bench)",
}
DEVICES = tuple(HWNB_DEVICES)


def _read(relpath: str) -> list[dict[str, str]]:
    with resources.files("hynas.data").joinpath(relpath).open("r", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _col(rows: list[dict[str, str]], name: str) -> np.ndarray:
    return np.array([float(r[name]) if r[name] not in ("", "nan") else np.nan for r in rows])


@cache
def load_arch_strings() -> tuple[str, ...]:
    rows = _read("nasbench201/nb201_cifar10_200ep.csv")
    assert all(int(r["arch_index"]) == i for i, r in enumerate(rows))
    return tuple(r["arch_str"] for r in rows)


@dataclass(frozen=True)
class NB201Table:
    """Column name -> array over the 15,625 cells."""

    columns: dict[str, np.ndarray]

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]


@cache
def load_table() -> NB201Table:
    """Every shipped NAS-Bench-201 / HW-NAS-Bench column, under hynas's names.

    ``{dataset}@{epochs}:{val|test}`` accuracies (percent), ``params`` (M), ``naswot``,
    ``latency@{device}`` (ms).
    """
    strings = load_arch_strings()
    big = _read("nasbench201/nb201_cifar10_200ep.csv")
    small = _read("nasbench201/nb201_12ep.csv")
    hw = _read("hwnasbench/nb201_hwnasbench_latency_4devices_cifar10_help.csv")
    for rows in (small, hw):
        if tuple(r["arch_str"] for r in rows) != strings:
            raise RuntimeError("shipped NAS-Bench-201 tables disagree on the architecture order")
    cols = {
        "cifar10@200:val": _col(big, "cifar10valid_val"),
        "cifar10@200:test": _col(big, "cifar10_test"),
        "cifar10@12:val": _col(small, "cifar10valid_val"),
        "cifar10@12:test": _col(small, "cifar10_test"),
        "cifar100@12:val": _col(small, "cifar100_val"),
        "cifar100@12:test": _col(small, "cifar100_test"),
        "imagenet16-120@12:val": _col(small, "imagenet16_val"),
        "imagenet16-120@12:test": _col(small, "imagenet16_test"),
        "params": _col(big, "params_M"),
        "naswot": _col(big, "naswot_score"),
    }
    for dev in DEVICES:
        cols[f"latency@{dev}"] = _col(hw, f"{dev}_latency_ms")
    return NB201Table(cols)


def nb201_macs(genes: tuple[int, ...], resolution: int = 32, num_classes: int = 10) -> float:
    """Multiply-accumulates of one forward pass of the NAS-Bench-201 network for one image.

    Counts convolutions, the classifier and pooling windows (one op per window element); BN and
    ReLU are left out, as in the benchmark's own FLOP count.
    """
    # op ids: 0 none, 1 skip, 2 conv1x1, 3 conv3x3, 4 avgpool3x3
    total = 3.0 * 16 * 9 * resolution * resolution  # stem conv 3x3, 3 -> 16
    hw = resolution
    c = 16
    for stage in range(3):
        if stage > 0:
            hw //= 2
            # ResNet basic block, stride 2: conv3x3 (c -> 2c, s2), conv3x3 (2c -> 2c), shortcut avgpool + conv1x1
            total += c * 2 * c * 9 * hw * hw + 2 * c * 2 * c * 9 * hw * hw
            total += c * 4 * hw * hw + c * 2 * c * hw * hw
            c *= 2
        per_cell = 0.0
        for op in genes:
            if op == 2:
                per_cell += c * c * hw * hw
            elif op == 3:
                per_cell += c * c * 9 * hw * hw
            elif op == 4:
                per_cell += c * 9 * hw * hw
        total += 5 * per_cell
    total += c * num_classes + c * hw * hw  # classifier + global average pool
    return float(total)
