"""Tabular evaluator for NAS-Bench-201 × HW-NAS-Bench (a simulator, in Syne Tune's sense).

A query looks the architecture up instead of training it, and *charges* the training time it would
have cost, so budgets and anytime curves can be expressed in simulated seconds.

Simulated cost (documented in ``docs/core.md``)::

    cost_s = epochs × (T0 + 3 × MACs × N_train / THROUGHPUT)

with ``MACs`` the analytic forward multiply-accumulates of the benchmark network per image
(:func:`hynas.benchmarks.nb201.nb201_macs`), the factor 3 for forward + backward, ``N_train`` the
images per epoch, ``T0 = 2 s`` of per-epoch overhead (data loading, evaluation) and
``THROUGHPUT = 1e12`` effective MAC/s (a 1080-Ti-class GPU at about 10% of peak on these small
networks). That puts a 200-epoch CIFAR-10 run at 0.15–2.7 GPU-hours across the space, the order of
magnitude NAS-Bench-201 reports.

Visible metrics: ``accuracy`` (validation accuracy at the query's fidelity), ``params``, ``flops``
and ``latency@{eyeriss,fpga,pixel3,raspi4}``. Hidden (report only): ``test_accuracy``.
"""

from __future__ import annotations

import numpy as np

from hynas.benchmarks.nb201 import DATASETS, DEVICES, HWNB_DEVICES, load_table, nb201_macs
from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.core.evaluator import Evaluation, Evaluator, Metric, check_fidelity
from hynas.core.metrics import register_device
from hynas.spaces import get_space
from hynas.spaces.nb201 import NB201Space

__all__ = ["NB201Tabular", "simulated_cost"]

for _dev, _desc in HWNB_DEVICES.items():
    register_device(_dev, f"latency@{_dev} (nb201 table)", _desc)

T0_S = 2.0
THROUGHPUT_MAC_S = 1e12


def simulated_cost(macs: float, epochs: float, n_train: int) -> float:
    return float(epochs * (T0_S + 3.0 * macs * n_train / THROUGHPUT_MAC_S))


class NB201Tabular(Evaluator):
    """NAS-Bench-201 lookup (CIFAR-10/100, ImageNet16-120) with HW-NAS-Bench latencies."""

    def __init__(self, dataset: str = "cifar10", fidelity: float | None = None) -> None:
        if dataset not in DATASETS:
            raise HynasError(f"unknown dataset {dataset!r} for nb201; valid datasets: {', '.join(DATASETS)}")
        self.dataset = dataset
        self.space: NB201Space = get_space("nb201")  # type: ignore[assignment]
        self._fids = (12.0, 200.0) if dataset == "cifar10" else (12.0,)
        self._default = self._fids[-1]
        if fidelity is not None:
            self._default = self._check_fidelity(fidelity)
        self.data = load_table()
        res, classes, self.n_train = DATASETS[dataset]
        self._macs = np.array(
            [
                nb201_macs(self.space.from_index(i).genes, res, classes)
                for i in range(len(self.data["params"]))
            ]
        )

    def _check_fidelity(self, fidelity: float) -> float:
        return check_fidelity(fidelity, self._fids, f"nb201/{self.dataset} has fidelities", "epochs")

    def fidelities(self) -> tuple[float, ...]:
        return self._fids

    def default_fidelity(self) -> float:
        return self._default

    def metrics(self) -> dict[str, Metric]:
        out = {
            "accuracy": Metric("accuracy", "max", "%", f"{self.dataset} validation accuracy"),
            "test_accuracy": Metric(
                "test_accuracy", "max", "%", f"{self.dataset} test accuracy", hidden=True
            ),
            "params": Metric("params", "min", "M", "parameters (millions)"),
            "flops": Metric("flops", "min", "MMAC", "forward multiply-accumulates per image (millions)"),
        }
        for dev in DEVICES:
            out[f"latency@{dev}"] = Metric(
                f"latency@{dev}", "min", "ms", f"HW-NAS-Bench latency on {dev} (CIFAR-10 input)"
            )
        return out

    def _columns(self, fidelity: float) -> tuple[str, str]:
        key = f"{self.dataset}@{fidelity:g}"
        return f"{key}:val", f"{key}:test"

    def evaluate(self, arch: Architecture, fidelity: float | None = None) -> Evaluation:
        fid = self._default if fidelity is None else self._check_fidelity(fidelity)
        i = self.space.index(self.space.validate(arch))
        val, test = self._columns(fid)
        visible = {
            "accuracy": float(self.data[val][i]),
            "params": float(self.data["params"][i]),
            "flops": float(self._macs[i] / 1e6),
        }
        for dev in DEVICES:
            visible[f"latency@{dev}"] = float(self.data[f"latency@{dev}"][i])
        hidden = {"test_accuracy": float(self.data[test][i])}
        cost = simulated_cost(self._macs[i], fid, self.n_train)
        return Evaluation(visible, hidden, cost, fid)

    def table_values(self, names: list[str], fidelity: float | None = None) -> dict[str, np.ndarray]:
        fid = self._default if fidelity is None else self._check_fidelity(fidelity)
        val, test = self._columns(fid)
        alias = {"accuracy": val, "test_accuracy": test}
        out = {}
        for n in names:
            if n == "flops":
                out[n] = self._macs / 1e6
            else:
                out[n] = self.data[alias.get(n, n)]
        return out

    def table(self, names: list[str]) -> dict[str, np.ndarray] | None:
        return self.table_values(names)
