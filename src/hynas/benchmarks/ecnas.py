"""EC-NAS-Bench tables (Bakhtiarifard, Igel & Selvan, "EC-NAS: Energy Consumption Aware Tabular
Benchmarks for Neural Architecture Search", ICASSP 2024); sources and licences in
``hynas/data/ecnasbench/README.txt``.

NAS-Bench-101 cells (Ying et al., "NAS-Bench-101: Towards Reproducible Neural Architecture Search",
ICML 2019) with at most 5 vertices and 9 edges, each trained for 4 epochs on CIFAR-10 on an NVIDIA
Quadro RTX 6000 with its energy logged. Two tables ship:

- ``5V9E``: all 2,532 cells, one run each, evaluated after 0, 2 and 4 epochs;
- ``4V9E``: the 91 cells with at most 4 vertices, three more runs each, evaluated after 0, 1 and 4
  epochs.

:func:`load_table` turns the raw JSON into arrays. Rows are the 2,532 cells sorted by their
NAS-Bench-101 module hash; the ``5V9E`` run gives the per-cell columns, and the ``4V9E`` repeats
are kept separately (``repeats``) for measurement-noise estimates.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np

__all__ = ["EPOCHS", "REPEAT_EPOCHS", "ECNASTable", "load_raw", "load_table"]

DATA_FILE = "ecnasbench/ecnas_raw_4epochs_4V9E_5V9E.json.gz"
#: evaluation epochs of the 5V9E run (every cell) and of the 4V9E repeats (91 cells)
EPOCHS = (0, 2, 4)
REPEAT_EPOCHS = (0, 1, 4)
_FIELDS = {
    "val": "validation_accuracy",
    "test": "test_accuracy",
    "train": "train_accuracy",
    "time": "training_time",
    "energy": "energy (kWh)",
}


@cache
def load_raw() -> dict[str, Any]:
    """The shipped JSON, unmodified: ``{"4V9E"|"5V9E": {module_hash: record}}``."""
    with resources.files("hynas.data").joinpath(DATA_FILE).open("rb") as fh:
        data: dict[str, Any] = json.loads(gzip.decompress(fh.read()))
    return data


@dataclass(frozen=True)
class ECNASTable:
    """Arrays over the 2,532 cells (row order: ``hashes``).

    ``columns`` keys: ``{val,test,train}@{e}`` (fraction), ``time@{e}`` (training seconds),
    ``energy@{e}`` (kWh since the run started) for ``e`` in :data:`EPOCHS`, plus ``params``
    (trainable parameters), ``total_time`` (s), ``total_energy`` (kWh) and ``co2`` (g CO2eq) of the
    whole run. ``repeats`` holds the same ``{field}@{e}`` keys for :data:`REPEAT_EPOCHS` as arrays of
    shape (91, 3), rows ``repeat_rows`` of the main table.
    """

    hashes: tuple[str, ...]
    matrices: tuple[tuple[tuple[int, ...], ...], ...]
    labels: tuple[tuple[int, ...], ...]
    columns: dict[str, np.ndarray]
    repeat_rows: np.ndarray
    repeats: dict[str, np.ndarray]

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    def __len__(self) -> int:
        return len(self.hashes)


def _evals(run: dict[str, Any], epochs: tuple[int, ...], where: str) -> dict[int, dict[str, Any]]:
    by_epoch = {int(e["epochs"]): e for e in run["evals"]}
    if tuple(sorted(by_epoch)) != epochs:
        raise RuntimeError(f"EC-NAS-Bench table: {where} has evaluations at {sorted(by_epoch)}, not {epochs}")
    return by_epoch


@cache
def load_table() -> ECNASTable:
    raw = load_raw()
    main = raw["5V9E"]
    hashes = tuple(sorted(main))
    cols: dict[str, list[float]] = {"params": [], "total_time": [], "total_energy": [], "co2": []}
    for key in _FIELDS:
        for e in EPOCHS:
            cols[f"{key}@{e}"] = []
    for h in hashes:
        rec = main[h]
        (run,) = rec["repeats"]
        evals = _evals(run, EPOCHS, f"5V9E cell {h}")
        cols["params"].append(float(rec["trainable_params"]))
        cols["total_time"].append(float(run["total_time_s"]))
        cols["total_energy"].append(float(run["total_energy_kWh"]))
        cols["co2"].append(float(run["total_co2eq_g"]))
        for key, fname in _FIELDS.items():
            for e in EPOCHS:
                cols[f"{key}@{e}"].append(float(evals[e][fname]))
    index = {h: i for i, h in enumerate(hashes)}
    small = raw["4V9E"]
    small_hashes = sorted(small)
    rep: dict[str, np.ndarray] = {
        f"{key}@{e}": np.zeros((len(small_hashes), 3)) for key in _FIELDS for e in REPEAT_EPOCHS
    }
    rep["total_energy"] = np.zeros((len(small_hashes), 3))
    for r, h in enumerate(small_hashes):
        if h not in index:
            raise RuntimeError(f"EC-NAS-Bench table: 4V9E cell {h} is missing from 5V9E")
        for k, run in enumerate(small[h]["repeats"]):
            evals = _evals(run, REPEAT_EPOCHS, f"4V9E cell {h}")
            rep["total_energy"][r, k] = float(run["total_energy_kWh"])
            for key, fname in _FIELDS.items():
                for e in REPEAT_EPOCHS:
                    rep[f"{key}@{e}"][r, k] = float(evals[e][fname])
    return ECNASTable(
        hashes=hashes,
        matrices=tuple(
            tuple(tuple(int(x) for x in row) for row in main[h]["module_adjacency"]) for h in hashes
        ),
        labels=tuple(tuple(int(x) for x in main[h]["module_operations"]) for h in hashes),
        columns={k: np.array(v) for k, v in cols.items()},
        repeat_rows=np.array([index[h] for h in small_hashes]),
        repeats=rep,
    )
