"""Tabular evaluator for EC-NAS-Bench (Bakhtiarifard, Igel & Selvan, "EC-NAS: Energy Consumption Aware
Tabular Benchmarks for Neural Architecture Search", ICASSP 2024): NAS-Bench-101 cells (Ying et al.,
ICML 2019) trained for 4 epochs on CIFAR-10 on an NVIDIA Quadro RTX 6000, with the energy of each
training run measured.

A query looks the cell up and charges the measured training seconds, so ``--budget-seconds`` is
in real (RTX 6000) training time.

Visible metrics, at the query's fidelity (2 or 4 epochs; default 4):

- ``accuracy``: CIFAR-10 validation accuracy, percent (as ``nb201-tabular``);
- ``energy@ecnas``: kWh used from the start of the run to the evaluation after that many epochs;
- ``train_time``: training seconds up to then;
- ``params``: trainable parameters (millions).

Hidden (report only): ``test_accuracy`` (percent) and ``co2@ecnas`` (g CO2-eq of the whole 4-epoch
run, as the benchmark logged it).

Which run: every cell has one run in the ``5V9E`` table, evaluated after 0, 2 and 4 epochs; the 91
cells with at most 4 vertices have three more runs in ``4V9E``, evaluated after 0, 1 and 4 epochs.
The evaluator uses the ``5V9E`` run for every cell, so all 2,532 cells come from one protocol and
the fidelities (2, 4) exist for all of them; the ``4V9E`` repeats only measure run-to-run noise
(``bench/energy.py``). Epoch 0 is the untrained network and is not offered.
"""

from __future__ import annotations

import numpy as np

from hynas.benchmarks.ecnas import load_table
from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.core.evaluator import Evaluation, Evaluator, Metric, check_fidelity
from hynas.spaces import get_space
from hynas.spaces.ecnas import ECNASSpace

__all__ = ["DATASETS", "FIDELITIES", "ECNASTabular"]

DATASETS = ("cifar10",)
FIDELITIES = (2.0, 4.0)


class ECNASTabular(Evaluator):
    """EC-NAS-Bench lookup: CIFAR-10 accuracy and measured training energy (kWh), 2 or 4 epochs."""

    def __init__(self, dataset: str = "cifar10", fidelity: float | None = None) -> None:
        if dataset not in DATASETS:
            raise HynasError(f"unknown dataset {dataset!r} for ecnas; valid datasets: {', '.join(DATASETS)}")
        self.dataset = dataset
        space = get_space("ecnas")
        assert isinstance(space, ECNASSpace)
        self.space: ECNASSpace = space
        self._default = FIDELITIES[-1] if fidelity is None else self._check_fidelity(fidelity)
        self.data = load_table()

    def _check_fidelity(self, fidelity: object) -> float:
        return check_fidelity(fidelity, FIDELITIES, f"ecnas/{self.dataset} has fidelities", "epochs")

    def fidelities(self) -> tuple[float, ...]:
        return FIDELITIES

    def default_fidelity(self) -> float:
        return self._default

    def metrics(self) -> dict[str, Metric]:
        return {
            "accuracy": Metric("accuracy", "max", "%", "CIFAR-10 validation accuracy (EC-NAS-Bench)"),
            "test_accuracy": Metric(
                "test_accuracy", "max", "%", "CIFAR-10 test accuracy (EC-NAS-Bench)", hidden=True
            ),
            "energy@ecnas": Metric(
                "energy@ecnas", "min", "kWh", "training energy measured on a Quadro RTX 6000 (EC-NAS-Bench)"
            ),
            "train_time": Metric(
                "train_time", "min", "s", "training time on a Quadro RTX 6000 (EC-NAS-Bench)"
            ),
            "params": Metric("params", "min", "M", "trainable parameters (millions)"),
            "co2@ecnas": Metric(
                "co2@ecnas", "min", "g", "CO2-eq of the whole 4-epoch run (EC-NAS-Bench)", hidden=True
            ),
        }

    def _columns(self, fidelity: float) -> dict[str, tuple[str, float]]:
        e = int(fidelity)
        return {
            "accuracy": (f"val@{e}", 100.0),
            "test_accuracy": (f"test@{e}", 100.0),
            "energy@ecnas": (f"energy@{e}", 1.0),
            "train_time": (f"time@{e}", 1.0),
            "params": ("params", 1e-6),
            "co2@ecnas": ("co2", 1.0),
        }

    def evaluate(self, arch: Architecture, fidelity: float | None = None) -> Evaluation:
        fid = self._default if fidelity is None else self._check_fidelity(fidelity)
        i = self.space.index(self.space.validate(arch))
        cols = self._columns(fid)
        hidden_names = {n for n, m in self.metrics().items() if m.hidden}
        values = {n: float(self.data[c][i] * scale) for n, (c, scale) in cols.items()}
        visible = {n: v for n, v in values.items() if n not in hidden_names}
        hidden = {n: v for n, v in values.items() if n in hidden_names}
        return Evaluation(visible, hidden, values["train_time"], fid)

    def table_values(self, names: list[str], fidelity: float | None = None) -> dict[str, np.ndarray]:
        fid = self._default if fidelity is None else self._check_fidelity(fidelity)
        cols = self._columns(fid)
        out = {}
        for n in names:
            if n not in cols:
                raise HynasError(f"ecnas-tabular has no metric {n!r}; valid: {', '.join(cols)}")
            c, scale = cols[n]
            out[n] = self.data[c] * scale
        return out

    def table(self, names: list[str]) -> dict[str, np.ndarray] | None:
        return self.table_values(names)
