from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from hynas.core.errors import HynasError
from hynas.core.experiment import ExperimentConfig
from hynas.core.metrics import resolve_cost_model
from hynas.hw.analytic import analytic_costs, arch_ops
from hynas.hw.devices import get_device
from hynas.hw.roofline import roofline_latency
from hynas.spaces import get_space
from hynas.wiring import Experiment

NB = get_space("nb201")
MOB = get_space("mobile")


def test_analytic_metrics_by_name():
    a = MOB.sample(np.random.default_rng(0))
    c = analytic_costs(a)
    for name, key in (("params", "params"), ("flops", "flops"), ("memory", "peak_activation_bytes")):
        model = resolve_cost_model(name, MOB)
        assert model is not None and model.info.direction == "min"
        assert model(a) == pytest.approx(c[key] / 1e6)


def test_roofline_objective_is_the_roofline_of_the_analytic_ops():
    a = NB.from_index(123)
    model = resolve_cost_model("latency@roofline:a100", NB)
    assert model is not None and model.info.unit == "ms"
    assert model(a) == pytest.approx(roofline_latency(arch_ops(a), get_device("a100")) * 1e3)
    pi = resolve_cost_model("latency@roofline:raspi4", NB)
    assert pi is not None and pi(a) > 5 * model(a)


def test_unknown_device_or_estimator_is_one_clear_error():
    with pytest.raises(HynasError, match=r"unknown device 'tpu9'.*roofline devices: a100, h100"):
        resolve_cost_model("latency@roofline:tpu9", NB)
    with pytest.raises(HynasError, match=r"unknown objective 'latency@magic:x'.*latency@roofline:<device>"):
        resolve_cost_model("latency@magic:x", NB)
    with pytest.raises(
        HynasError, match=r"unknown predictor device 'tpu9'.*eyeriss, fpga, pixel3, raspi4, local"
    ):
        resolve_cost_model("latency@predictor:tpu9", NB)
    with pytest.raises(HynasError, match="covers space nb201 only, not 'mobile'"):
        resolve_cost_model("latency@predictor:pixel3", MOB)
    with pytest.raises(HynasError, match="measured on this machine; use latency@lut:local"):
        resolve_cost_model("latency@lut:a100", NB)
    with pytest.raises(HynasError, match=r"no latency table at .*hynas hw profile --space nb201"):
        resolve_cost_model("latency@lut:/nonexistent/t.json", NB)
    with pytest.raises(HynasError, match="this machine only; use latency@onnx:local"):
        resolve_cost_model("latency@onnx:a100", NB)
    with pytest.raises(HynasError, match="unknown objective 'nonsense'"):
        Experiment(ExperimentConfig(objectives=("nonsense",), budget=1))


def test_measured_latency_objectives(tmp_path, monkeypatch):
    monkeypatch.setenv("HYNAS_LATENCY_CACHE", str(tmp_path / "lat.sqlite"))
    a = NB.from_index(7)
    for name in ("latency@local", "latency@onnx:local"):
        model = resolve_cost_model(name, NB)
        assert model is not None
        assert 0 < model(a) < 1000


def test_predictor_objective_learns_the_table(tmp_path):
    from hynas.benchmarks.nb201 import load_table

    model = resolve_cost_model("latency@predictor:pixel3", NB)
    assert model is not None
    idx = np.random.default_rng(5).choice(15_625, 200, replace=False)
    pred = np.array([model(NB.from_index(int(i))) for i in idx])
    truth = load_table()["latency@pixel3"][idx]
    from scipy import stats

    assert stats.spearmanr(pred, truth).statistic > 0.9


def test_search_with_roofline_and_predictor_objectives(tmp_path):
    from hynas.runners import run
    from hynas.stores import open_store

    cfg = ExperimentConfig(
        objectives=("accuracy", "latency@roofline:a100", "latency@predictor:pixel3"),
        strategy="random",
        budget=12,
    )
    exp = Experiment(cfg)
    with open_store(str(tmp_path / "s.db")) as st:
        records = run(exp, st)
    done = [r for r in records if r.status == "completed"]
    assert len(done) == 12
    for r in done:
        assert r.metrics["latency@roofline:a100"] > 0 and r.metrics["latency@predictor:pixel3"] > 0


def test_list_devices_shows_every_source():
    from hynas.catalog import catalog

    rows = {r[0]: r[1] for r in catalog()["devices"][1]}
    for dev in ("h100", "a100", "rtx4090", "jetson-orin", "raspi4", "phone-cpu", "pixel3", "local"):
        assert f"latency@roofline:{dev}" in rows[dev]
    assert "latency@predictor:pixel3" in rows["pixel3"] and "latency@pixel3" in rows["pixel3"]
    assert "latency@lut:local" in rows["local"]


@pytest.mark.slow
def test_cli_search_with_hardware_objectives_and_bad_device(tmp_path):
    def hynas(*args: str) -> subprocess.CompletedProcess:
        cmd = [sys.executable, "-c", "from hynas.cli import main; main()", *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=600)

    r = hynas(
        "search",
        "--objective",
        "latency@roofline:a100",
        "--objective",
        "latency@predictor:pixel3",
        "--strategy",
        "random",
        "--budget",
        "10",
        "--store",
        str(tmp_path / "s.db"),
        "--json",
    )
    assert r.returncode == 0, r.stderr
    assert '"trials": 10' in r.stdout
    r = hynas(
        "search", "--objective", "latency@roofline:tpu9", "--budget", "3", "--store", str(tmp_path / "t.db")
    )
    assert r.returncode == 2
    assert "unknown device 'tpu9'" in r.stderr and "a100" in r.stderr and "Traceback" not in r.stderr
