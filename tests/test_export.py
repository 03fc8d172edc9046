"""``hynas.export``: choosing the trial, safetensors round trip, model card, bad input, atomic writes.

The ONNX / TorchScript comparisons (slow: each export traces the network) are in
``test_export_formats.py``; the command line in ``test_export_cli.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import hynas
from hynas.core.errors import HynasError
from hynas.export import export_model, knee, load_exported
from hynas.spaces import get_space
from hynas.spaces.mobile import MobileSpace
from hynas.stores import open_store

torch.set_num_threads(1)
TINY = MobileSpace(resolutions=(128, 160), kernels=(3, 5), expands=(3, 4), depths=(1, 2), num_classes=10)
#: an architecture of the tiny supernet's space that the full mobile space also holds
IN_BOTH = "r160|k3e3-k5e4|k5e4-k3e3|k3e4-k3e3|k5e3-k5e4|k3e3-k3e4"
#: a valid mobile architecture with kernel 7, which the tiny supernet does not hold
OUTSIDE = "r160|k7e3-k5e4|k5e4-k3e3|k3e4-k3e3|k5e3-k5e4|k3e3-k3e4"
NB201_ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"


def make_supernet(path: Path) -> Path:
    """A real supernet checkpoint, as the trainer writes it: the tiny space, 4 progressive steps on
    random images (the tests need trained weights and BatchNorm statistics, not accuracy)."""
    from hynas.supernets import ElasticMobileConfig, ElasticMobileNet
    from hynas.supernets.train import SupernetTrainConfig, train_supernet

    rng = np.random.default_rng(0)
    data = {
        "train_x": rng.integers(0, 256, (64, 28, 28), dtype=np.uint8),
        "train_y": rng.integers(0, 10, 64).astype(np.int64),
        "mean": np.array(0.29, dtype=np.float32),
        "std": np.array(0.35, dtype=np.float32),
    }
    torch.manual_seed(0)
    net = ElasticMobileNet(TINY, ElasticMobileConfig(num_classes=10, resolution_scale=0.125))
    train_supernet(net, SupernetTrainConfig(steps=(1, 1, 1, 1), batch=4), data, checkpoint=path)
    return path


def make_nb201_store(path: Path) -> str:
    """A finished two-objective NB201 search (tabular: no training, a second or two)."""
    hynas.search(store=str(path), budget=12, seed=0)
    return str(path)


@pytest.fixture(scope="module")
def supernet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_supernet(tmp_path_factory.mktemp("sn") / "supernet.safetensors")


@pytest.fixture(scope="module")
def nb201_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    return make_nb201_store(tmp_path_factory.mktemp("store") / "nb201.db")


def _records(store: str) -> list:
    with open_store(store, create=False, read_only=True) as st:
        return st.trials()


def test_knee_is_the_front_member_nearest_the_rescaled_ideal() -> None:
    pts = np.array([[0.0, 10.0], [1.0, 1.0], [10.0, 0.0]])
    assert knee(pts, [5, 6, 7]) == 1
    assert knee(np.array([[3.0], [1.0], [1.0]]), [0, 4, 2]) == 2  # one objective: the best, lowest number
    assert knee(np.array([[0.0, 1.0], [1.0, 0.0]]), [9, 3]) == 1  # equal distances: the lower trial number


def test_store_trial_round_trips_through_safetensors_with_its_card(nb201_store: str, tmp_path: Path) -> None:
    out = tmp_path / "model"
    res = export_model(out, store=nb201_store, formats="safetensors")
    assert sorted(p.name for p in out.iterdir()) == ["MODEL_CARD.md", "config.json", "model.safetensors"]
    # the default pick is on the run's Pareto front
    from hynas.report.analysis import run_front
    from hynas.wiring import Experiment

    records = _records(nb201_store)
    exp = Experiment(hynas.ExperimentConfig.from_dict(res.config["store_config"]))
    front = run_front(exp, records)
    chosen = res.config["trial"]["number"]
    assert chosen in [r.number for r in front.records]
    rec = records[chosen]
    model, arch, cfg = load_exported(out)
    assert cfg["arch"] == rec.arch and str(arch) == rec.arch
    torch.manual_seed(0)  # untrained: the module as built with the export's seed
    fresh = get_space("nb201").build(arch).eval()
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(model(x), fresh(x))
    card = (out / "MODEL_CARD.md").read_text()
    assert rec.arch in card and "knee of the Pareto front" in card and nb201_store in card
    assert "untrained" in card.lower() and "nb201-tabular" in card and "cifar10" in card
    for name, value in {**rec.metrics, **rec.hidden}.items():
        assert f"| {name} | {value:.6g} |" in card
    from hynas.hw.devices import DEVICE_CATALOG

    for dev in DEVICE_CATALOG:
        line = next(ln for ln in card.splitlines() if ln.startswith(f"| {dev} |"))
        assert float(line.rsplit("|", 2)[1]) > 0
    assert any("untrained" in n for n in res.notes)


def test_best_and_trial_pick_what_they_say(nb201_store: str, tmp_path: Path) -> None:
    records = _records(nb201_store)
    res = export_model(tmp_path / "b", store=nb201_store, best="accuracy", formats="safetensors")
    top = max(r.metrics["accuracy"] for r in records if r.ok)
    assert res.config["trial"]["metrics"]["accuracy"] == top
    res = export_model(tmp_path / "t", store=nb201_store, trial=3, formats="safetensors")
    assert res.config["arch"] == records[3].arch and "trial 3" in res.config["how"]


def test_supernet_weights_are_inherited_and_untrained_is_said(supernet: Path, tmp_path: Path) -> None:
    from hynas.export.weights import load_supernet
    from hynas.supernets import extract

    res = export_model(
        tmp_path / "m",
        arch=IN_BOTH,
        space="mobile",
        supernet=str(supernet),
        formats="safetensors",
        bn_images=0,
    )
    model, _, cfg = load_exported(tmp_path / "m")
    sup = load_supernet(supernet)
    ref = extract(sup.net, sup.space.parse(IN_BOTH)).eval()
    x = torch.randn(2, 3, 20, 20)  # 160 px x 0.125
    with torch.no_grad():
        assert torch.allclose(model(x), ref(x), atol=1e-6)
    assert cfg["input"]["shape"] == [2, 3, 20, 20] and cfg["weights"]["source"] == "supernet"
    assert cfg["space_options"]["depths"] == [1, 2] and res.notes  # BN not recalibrated: said
    card = (tmp_path / "m" / "MODEL_CARD.md").read_text()
    assert str(supernet) in card and "not recalibrated" in card and "untrained" not in card.lower()
    plain = export_model(tmp_path / "u", arch=IN_BOTH, space="mobile", formats="safetensors")
    assert plain.config["weights"]["source"] == "untrained"
    assert "untrained" in (tmp_path / "u" / "MODEL_CARD.md").read_text()


def _one_line_error(excinfo: pytest.ExceptionInfo[HynasError], *words: str) -> None:
    msg = str(excinfo.value)
    assert "\n" not in msg and msg
    for w in words:
        assert w in msg, msg


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        (
            {"arch": NB201_ARCH, "space": "nb201", "formats": "safetensors,pickle"},
            ["unknown export format 'pickle'"],
        ),
        ({"arch": NB201_ARCH, "space": "nb201", "formats": ""}, ["no export format"]),
        ({"arch": "|bogus~0|", "space": "nb201"}, ["malformed NAS-Bench-201 arch string"]),
        ({"arch": NB201_ARCH, "space": "nope"}, ["nope"]),
        ({"arch": NB201_ARCH}, ["--space"]),
        ({"store": "STORE", "trial": 999}, ["no trial 999", "0 to 11"]),
        ({"store": "STORE", "trial": -1}, ["no trial -1"]),
        ({"store": "STORE", "best": "flops"}, ["--best 'flops'", "accuracy, latency@raspi4"]),
        ({"store": "STORE", "trial": 1, "best": "accuracy"}, ["--trial and --best"]),
        ({"store": "STORE", "space": "mobile"}, ["differs from the store's space"]),
        ({"store": "MISSING"}, ["no store"]),
        ({"store": "STORE", "finetune_steps": 5}, ["only the mobile space"]),
        ({"store": "STORE", "finetune_steps": -1}, ["--finetune-steps"]),
        ({"store": "STORE", "supernet": "SUPERNET"}, ["mobile space only"]),
        (
            {"arch": OUTSIDE, "space": "mobile", "supernet": "SUPERNET"},
            ["outside the supernet", "kernels 3/5"],
        ),
        ({"arch": IN_BOTH, "space": "mobile", "supernet": "JUNK"}, ["not a readable checkpoint"]),
        ({"arch": IN_BOTH, "space": "mobile", "supernet": "NOFILE"}, ["no checkpoint"]),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    kwargs: dict, words: list[str], nb201_store: str, supernet: Path, tmp_path: Path
) -> None:
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a checkpoint")
    subs = {"STORE": nb201_store, "MISSING": str(tmp_path / "none.db"), "SUPERNET": str(supernet),
            "JUNK": str(junk), "NOFILE": str(tmp_path / "nofile.safetensors")}  # fmt: skip
    kwargs = {k: subs.get(v, v) if isinstance(v, str) else v for k, v in kwargs.items()}
    before = sorted(tmp_path.iterdir())
    with pytest.raises(HynasError) as exc:
        export_model(tmp_path / "out", **kwargs)
    _one_line_error(exc, *words)
    assert sorted(tmp_path.iterdir()) == before  # no out folder, no temporary folder left behind
    assert junk.read_bytes() == b"not a checkpoint" and not Path(subs["MISSING"]).exists()


def test_existing_out_is_refused_unless_force_and_force_replaces_it_whole(tmp_path: Path) -> None:
    out = tmp_path / "m"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(HynasError) as exc:
        export_model(out, arch=NB201_ARCH, space="nb201", formats="safetensors")
    _one_line_error(exc, "exists", "--force")
    assert [p.name for p in out.iterdir()] == ["keep.txt"] and (out / "keep.txt").read_text() == "mine"
    export_model(out, arch=NB201_ARCH, space="nb201", formats="safetensors", force=True)
    assert sorted(p.name for p in out.iterdir()) == ["MODEL_CARD.md", "config.json", "model.safetensors"]
    (tmp_path / "f").write_text("a file")
    with pytest.raises(HynasError) as exc:
        export_model(tmp_path / "f", arch=NB201_ARCH, space="nb201", formats="safetensors", force=True)
    _one_line_error(exc, "existing file")
    assert (tmp_path / "f").read_text() == "a file"


def test_a_failure_while_writing_damages_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hynas.export import formats

    out = tmp_path / "m"
    export_model(out, arch=NB201_ARCH, space="nb201", formats="safetensors")
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken(*args: object) -> dict:
        raise RuntimeError("disk on fire")

    monkeypatch.setitem(formats.WRITERS, "torchscript", broken)
    other = "|skip_connect~0|+|nor_conv_1x1~0|skip_connect~1|+|none~0|none~1|nor_conv_3x3~2|"
    with pytest.raises(RuntimeError, match="disk on fire"):
        export_model(out, arch=other, space="nb201", formats="safetensors,torchscript", force=True)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]  # the temporary folder is gone


def test_load_exported_refuses_damaged_or_foreign_folders(tmp_path: Path) -> None:
    out = tmp_path / "m"
    export_model(out, arch=NB201_ARCH, space="nb201", formats="safetensors")
    weights = out / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(HynasError) as exc:
        load_exported(out)
    _one_line_error(exc, "damaged")
    with pytest.raises(HynasError) as exc:
        load_exported(tmp_path)
    _one_line_error(exc, "not an exported model")
