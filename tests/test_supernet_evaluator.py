"""The ``supernet`` evaluator: inherited weights + BN recalibration, caching, bad checkpoints, and
``hynas search`` with any strategy, hardware objectives and constraints on one trained supernet."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from cli_util import run_cli
from hynas.core.errors import HynasError
from hynas.evaluators import make_evaluator
from hynas.spaces import get_space
from hynas.supernets.saved import load_supernet
from hynas.supernets.train import evaluate_subnet
from hynas.training.data import load_images
from supernet_util import FULL, digest, train_tiny, write_npz

MOBILE = get_space("mobile")


@pytest.fixture(scope="module")
def reduced(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("reduced")
    return train_tiny(d, write_npz(d / "data.npz", n=60))


def _inside() -> list:
    return [
        MOBILE.parse("r160|k3e4-k5e3|k5e4-k3e3|k3e3-k3e4|k5e4-k5e3|k3e3-k5e3"),
        MOBILE.parse("r128|k5e3-k3e3|k3e3-k3e4|k5e4-k5e4|k3e3-k3e4|k5e4-k5e4"),
    ]


def test_scores_are_the_supernets_inherited_weights_and_cached(reduced: Path) -> None:
    ev = make_evaluator("mobile", "supernet", checkpoint=str(reduced), bn_images=40, eval_images=30)
    assert ev.metrics()["accuracy"].direction == "max" and "test_accuracy" not in ev.metrics()
    arch = _inside()[0]
    first = ev.evaluate(arch)
    assert 0 <= first.metrics["accuracy"] <= 100 and first.metrics["val_loss"] > 0 and first.cost_s > 0
    assert ev.evaluate(arch) is first  # cached
    # the same number as scoring the extracted sub-network by hand
    net, _ = load_supernet(reduced)
    data = load_images(reduced.parent / "data.npz")
    by_hand = evaluate_subnet(net, net.space.parse(MOBILE.format(arch)), data.arrays, 40, 30)
    assert first.metrics["accuracy"] == by_hand["accuracy"]
    assert first.metrics["val_loss"] == pytest.approx(by_hand["loss"], rel=1e-6)
    fresh = make_evaluator("mobile", "supernet", checkpoint=str(reduced), bn_images=40, eval_images=30)
    assert fresh.evaluate(arch).metrics == first.metrics  # deterministic across instances


def test_hidden_test_accuracy_from_a_test_split(reduced: Path, tmp_path: Path) -> None:
    with np.load(reduced.parent / "data.npz") as f:
        x, y = f["x"], f["y"]
    np.savez(tmp_path / "with_test.npz", x=x, y=y, x_test=x[:10], y_test=y[:10])  # same training split
    ev = make_evaluator("mobile", "supernet", checkpoint=str(reduced), data=str(tmp_path / "with_test.npz"),
                        bn_images=8, eval_images=8, test_images=10)  # fmt: skip
    assert ev.metrics()["test_accuracy"].hidden
    result = ev.evaluate(_inside()[1])
    assert set(result.hidden) == {"test_accuracy"} and 0 <= result.hidden["test_accuracy"] <= 100
    assert result.hidden["test_accuracy"] * 10 == pytest.approx(round(result.hidden["test_accuracy"] * 10))


def test_arch_outside_the_supernet_is_one_line(reduced: Path) -> None:
    ev = make_evaluator("mobile", "supernet", checkpoint=str(reduced), bn_images=8, eval_images=8)
    with pytest.raises(HynasError, match=r"outside the supernet .* kernels 3/5") as info:
        ev.evaluate(MOBILE.parse("r224|k7e6-k7e6|k7e6-k7e6|k7e6-k7e6|k7e6-k7e6|k7e6-k7e6"))
    assert "\n" not in str(info.value)


def test_bad_checkpoints_and_data_are_refused(reduced: Path, tmp_path: Path) -> None:
    with pytest.raises(HynasError, match="needs a checkpoint"):
        make_evaluator("mobile", "supernet")
    with pytest.raises(HynasError, match="no checkpoint at"):
        make_evaluator("mobile", "supernet", checkpoint=str(tmp_path / "none.safetensors"))
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(reduced.read_bytes()[: reduced.stat().st_size // 2])
    with pytest.raises(HynasError, match="corrupt, truncated"):
        make_evaluator("mobile", "supernet", checkpoint=str(cut))
    flipped = bytearray(reduced.read_bytes())
    flipped[-100] ^= 1
    (tmp_path / "flip.safetensors").write_bytes(bytes(flipped))
    with pytest.raises(HynasError, match="corrupt"):
        make_evaluator("mobile", "supernet", checkpoint=str(tmp_path / "flip.safetensors"))
    # a network file (a built or extracted network) is not a supernet checkpoint
    from hynas.training.network import save_network

    nb201 = get_space("nb201")
    arch = nb201.sample(np.random.default_rng(0))
    save_network(tmp_path / "net.safetensors", nb201.build(arch), arch)
    with pytest.raises(HynasError, match="not a hynas checkpoint"):
        make_evaluator("mobile", "supernet", checkpoint=str(tmp_path / "net.safetensors"))
    # other data than it was trained on; moved data given with data=
    other = write_npz(tmp_path / "other.npz", n=60, seed=5)
    with pytest.raises(HynasError, match="trained on other data"):
        make_evaluator("mobile", "supernet", checkpoint=str(reduced), data=str(other))
    moved = tmp_path / "moved.npz"
    shutil.copy(reduced.parent / "data.npz", moved)
    ev = make_evaluator(
        "mobile", "supernet", checkpoint=str(reduced), data=str(moved), eval_images=8, bn_images=8
    )
    assert ev.data.fingerprint == load_images(reduced.parent / "data.npz").fingerprint
    with pytest.raises(HynasError, match="bn_images"):
        make_evaluator("mobile", "supernet", checkpoint=str(reduced), bn_images=0)


def test_search_cli_with_a_reduced_supernet_records_outside_archs_as_failed(
    reduced: Path, tmp_path: Path
) -> None:
    before = digest(reduced)
    store = tmp_path / "s.db"
    r = run_cli(
        "search", "--space", "mobile", "--evaluator", "supernet", "--evaluator-option", f"checkpoint={reduced}",
        "--evaluator-option", "bn_images=8", "--evaluator-option", "eval_images=8",
        "--objective", "accuracy", "--objective", "params", "--strategy", "random", "--budget", "3",
        "--store", str(store), "-q", "--json",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    with sqlite3.connect(store) as db:
        text = " ".join(str(row) for row in db.execute("SELECT * FROM trials").fetchall())
    assert "outside the supernet" in text  # random architectures of the full space use k7/e6
    assert digest(reduced) == before
    # a damaged checkpoint stops the search before it touches the store (or creates one)
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(reduced.read_bytes()[:3000])
    stored = digest(store)
    for target in (store, tmp_path / "new.db"):
        r = run_cli("search", "--space", "mobile", "--evaluator", "supernet", "--evaluator-option",
                    f"checkpoint={cut}", "--objective", "accuracy", "--objective", "params", "--strategy", "random",
                    "--budget", "3", "--store", str(target), "-q")  # fmt: skip
        assert r.returncode == 2 and "corrupt, truncated" in r.stderr and r.stderr.count("\n") == 1
    assert digest(store) == stored and not (tmp_path / "new.db").exists()


def _search(ckpt: Path, store: Path, device: str, strategy: str) -> dict:
    r = run_cli(
        "search", "--space", "mobile", "--evaluator", "supernet", "--evaluator-option", f"checkpoint={ckpt}",
        "--evaluator-option", "bn_images=16", "--evaluator-option", "eval_images=16",
        "--objective", "accuracy", "--objective", f"latency@roofline:{device}",
        "--constraint", "params <= 4.5", "--strategy", strategy, "--budget", "6", "--seed", "1",
        "--store", str(store), "-q", "--json",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.mark.slow
def test_one_supernet_specialises_to_two_devices_through_the_search_cli(tmp_path: Path) -> None:
    data = write_npz(tmp_path / "data.npz", n=60)
    ckpt = train_tiny(tmp_path, data, space=FULL)
    before = digest(ckpt)
    fronts = {}
    for device, strategy in (("raspi4", "random"), ("pixel3", "nsga2")):
        summary = _search(ckpt, tmp_path / f"{device}.db", device, strategy)
        assert summary["trials"] == 6 and summary["failed"] == 0, summary
        with sqlite3.connect(tmp_path / f"{device}.db") as db:
            rows = db.execute("SELECT metrics FROM trials").fetchall()
        metrics = [json.loads(m) for (m,) in rows]
        assert all("accuracy" in m and f"latency@roofline:{device}" in m and "params" in m for m in metrics)
        fronts[device] = summary
    # the same checkpoint, untouched; the devices rank by their own latency
    assert digest(ckpt) == before
    assert fronts["raspi4"] != fronts["pixel3"]
    # a second run on the same store resumes (nothing re-evaluated, same front)
    again = _search(ckpt, tmp_path / "raspi4.db", "raspi4", "random")
    assert again["front"] == fronts["raspi4"]["front"]
