"""The ``mobile-fmnist`` evaluator: real (brief) training of mobile networks on Fashion-MNIST."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
import torch

from fmnist_util import need_fmnist
from hynas.core.errors import HynasError
from hynas.core.experiment import ExperimentConfig
from hynas.core.strategy import Candidate
from hynas.evaluators import default_evaluator, make_evaluator
from hynas.evaluators.vision import FMNIST_FILES, find_fmnist, load_fmnist, read_idx
from hynas.runners.evaluate import evaluate_candidate
from hynas.spaces import get_space
from hynas.wiring import Experiment

torch.set_num_threads(1)
SPACE = get_space("mobile")
#: the cheapest network of the space: 32 px at the default resolution_scale, depth 2, k3e3
SMALL = SPACE.parse("r128|k3e3-k3e3|k3e3-k3e3|k3e3-k3e3|k3e3-k3e3|k3e3-k3e3")
TINY = {"steps": (4, 16), "eval_images": 200, "bn_images": 100}


def _write_idx(path, array: np.ndarray, gz: bool) -> None:
    raw = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    raw += array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(raw) if gz else raw)


@pytest.mark.parametrize("gz", [True, False])
def test_read_idx_round_trip_and_bad_files(tmp_path, gz):
    a = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    p = tmp_path / ("a.idx.gz" if gz else "a.idx")
    _write_idx(p, a, gz)
    assert np.array_equal(read_idx(p), a)
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x01\x02\x03\x04rest")
    with pytest.raises(HynasError, match="not an idx file"):
        read_idx(bad)
    short = tmp_path / "short"
    short.write_bytes(bytes([0, 0, 8, 1]) + (10).to_bytes(4, "big") + b"abc")
    with pytest.raises(HynasError, match="header says shape"):
        read_idx(short)


def test_missing_data_is_one_clear_error(tmp_path):
    with pytest.raises(HynasError, match=r"apt-get install dataset-fashion-mnist.*data_dir") as info:
        make_evaluator("mobile", "mobile-fmnist", data_dir=str(tmp_path))
    assert str(tmp_path) in str(info.value) and "train-images-idx3-ubyte" in str(info.value)
    # the same message reaches a search, before any trial runs
    cfg = ExperimentConfig(
        space="mobile", objectives=("accuracy",), evaluator_options={"data_dir": str(tmp_path)}
    )
    with pytest.raises(HynasError, match="apt-get install dataset-fashion-mnist"):
        Experiment(cfg)


def test_bad_options_are_clear(tmp_path):
    need_fmnist()
    with pytest.raises(HynasError, match="valid datasets: fashion-mnist"):
        make_evaluator("mobile", "mobile-fmnist", dataset="imagenet")
    with pytest.raises(HynasError, match="steps must be"):
        make_evaluator("mobile", "mobile-fmnist", steps=(0, 5))
    with pytest.raises(HynasError, match="resolution_scale"):
        make_evaluator("mobile", "mobile-fmnist", resolution_scale=0)
    with pytest.raises(HynasError, match="eval_images"):
        make_evaluator("mobile", "mobile-fmnist", eval_images=20_000)
    with pytest.raises(HynasError, match="fidelities are 4, 16 training steps, not 7"):
        make_evaluator("mobile", "mobile-fmnist", **TINY).evaluate(SMALL, fidelity=7)


def test_data_splits_and_data_dir_option(tmp_path):
    need_fmnist()
    d = load_fmnist()
    assert d["train_x"].shape == (50_000, 28, 28) and d["val_x"].shape == (10_000, 28, 28)
    assert d["test_x"].shape == (10_000, 28, 28) and d["test_y"].shape == (10_000,)
    assert set(np.unique(d["val_y"])) == set(range(10)) and 0.2 < float(d["mean"]) < 0.4
    # a folder with the four files (here links to the package's) works as data_dir
    for name, path in find_fmnist().items():
        (tmp_path / path.name).symlink_to(path)
        assert FMNIST_FILES[name] in path.name
    assert find_fmnist(tmp_path).keys() == FMNIST_FILES.keys()


def test_default_evaluator_and_metrics():
    need_fmnist()
    assert default_evaluator("mobile") == "mobile-fmnist"
    ev = make_evaluator("mobile", None)
    with pytest.raises(HynasError, match="unknown dataset 'cifar10' for mobile-fmnist"):
        make_evaluator("mobile", None, dataset="cifar10")
    assert ev.fidelities() == (25.0, 50.0, 100.0, 200.0) and ev.default_fidelity() == 100.0
    m = ev.metrics()
    assert m["test_accuracy"].hidden and m["test_loss"].hidden
    assert not m["accuracy"].hidden and m["accuracy"].direction == "max" and m["val_loss"].direction == "min"
    assert ev.train_resolution(SMALL) == 32
    assert ev.train_resolution(SPACE.parse(str(SMALL).replace("r128", "r224"))) == 56


def test_training_is_deterministic_and_test_accuracy_hidden():
    need_fmnist()
    ev = make_evaluator("mobile", "mobile-fmnist", **TINY)
    a = ev.evaluate(SMALL, fidelity=4)
    b = ev.evaluate(SMALL, fidelity=4)
    assert a.metrics == b.metrics and a.hidden == b.hidden  # same arch + seed -> same numbers
    assert set(a.metrics) == {"accuracy", "val_loss"} and set(a.hidden) == {"test_accuracy", "test_loss"}
    assert 0 <= a.metrics["accuracy"] <= 100 and 0 <= a.hidden["test_accuracy"] <= 100
    assert a.fidelity == 4.0 and a.cost_s > 0
    other = make_evaluator("mobile", "mobile-fmnist", seed=1, **TINY).evaluate(SMALL, fidelity=4)
    assert other.metrics != a.metrics


def test_more_steps_learn_more():
    need_fmnist()
    ev = make_evaluator("mobile", "mobile-fmnist", **TINY)
    low, high = ev.evaluate(SMALL, fidelity=4), ev.evaluate(SMALL, fidelity=16)
    assert high.fidelity == 16.0
    assert high.metrics["val_loss"] < low.metrics["val_loss"]
    assert high.metrics["accuracy"] > 30  # 10% is chance; 16 steps of 32 images already learn


def test_search_never_sees_test_accuracy_and_cost_objectives_resolve():
    need_fmnist()
    opts = {"steps": [4], "eval_images": 100, "bn_images": 50}
    with pytest.raises(HynasError, match="report-only"):
        Experiment(ExperimentConfig(space="mobile", objectives=("test_accuracy",), evaluator_options=opts))
    exp = Experiment(
        ExperimentConfig(
            space="mobile",
            objectives=("accuracy", "latency@roofline:raspi4", "params"),
            evaluator_options=opts,
        )
    )
    rec = evaluate_candidate(exp, 0, Candidate(SMALL))
    assert rec.status == "completed", rec.error
    assert rec.metrics["latency@roofline:raspi4"] > 0 and rec.metrics["params"] > 1  # deployed, 1000 classes
    assert "test_accuracy" not in rec.metrics and "test_accuracy" in rec.hidden
    assert rec.fidelity is None  # the evaluator's default fidelity (here its only one, 4 steps)


def test_diverged_training_is_a_failed_trial_not_a_crash():
    need_fmnist()
    opts = {"steps": [3], "eval_images": 50, "bn_images": 50, "lr": 1e30}
    exp = Experiment(ExperimentConfig(space="mobile", objectives=("accuracy",), evaluator_options=opts))
    rec = evaluate_candidate(exp, 0, Candidate(SMALL))
    assert rec.status == "failed" and "training diverged" in (rec.error or "")
