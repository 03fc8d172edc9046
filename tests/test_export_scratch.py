"""``hynas export --train-steps``: the chosen architecture trained from scratch on Fashion-MNIST.

Real training on the installed Fashion-MNIST (skipped without it, failed under
``HYNAS_REQUIRE_FMNIST=1``), a few steps on small inputs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from fmnist_util import need_fmnist
from hynas.core.errors import HynasError
from hynas.export import export_model, load_exported
from supernet_util import train_tiny, write_npz
from test_export import NB201_ARCH, make_supernet

torch.set_num_threads(1)
#: an architecture of the tiny supernet's space with depth 1, which the registered mobile space lacks
TINY_ONLY = "r160|k3e3|k5e4-k3e3|k3e4|k5e3-k5e4|k3e3"
MOBILE_ARCH = "r128|k3e3-k3e3|k3e3-k3e3|k3e3-k3e3|k3e3-k3e3|k3e3-k3e3"


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    model, _, _ = load_exported(folder)
    return dict(model.state_dict())


def test_scratch_in_a_supernet_space_uses_its_space_and_size_not_its_weights(tmp_path: Path) -> None:
    need_fmnist()
    ckpt = make_supernet(tmp_path / "sn.safetensors")
    kw = {"arch": TINY_ONLY, "space": "mobile", "supernet": str(ckpt), "formats": "safetensors"}
    inherited = export_model(tmp_path / "inh", bn_images=0, **kw)  # type: ignore[arg-type]
    res = export_model(tmp_path / "new", train_steps=30, **kw)  # type: ignore[arg-type]
    w = res.config["weights"]
    assert w["source"] == "scratch" and "trained from scratch for 30 steps" in w["summary"]
    assert w["train"]["val_accuracy_after"] > w["train"]["val_accuracy_before"] + 10
    assert res.config["arch"] == TINY_ONLY and res.config["space_options"]["depths"] == [1, 2]
    assert res.config["input"]["shape"] == [2, 3, 20, 20]  # r160 × the supernet's scale 0.125
    a, b = _weights(tmp_path / "inh"), _weights(tmp_path / "new")
    assert a.keys() == b.keys() and not any(torch.equal(a[k], b[k]) for k in a if a[k].dim() == 4)
    assert inherited.config["weights"]["source"] == "supernet"
    card = (tmp_path / "new" / "MODEL_CARD.md").read_text()
    assert "Trained from scratch" in card and "training from scratch" in card
    assert "Weights inherited" not in card


def test_scratch_without_supernet_trains_and_is_reproducible(tmp_path: Path) -> None:
    need_fmnist()
    kw = {"arch": MOBILE_ARCH, "space": "mobile", "formats": "safetensors", "seed": 3}
    export_model(tmp_path / "init", **kw)  # type: ignore[arg-type]
    one = export_model(tmp_path / "one", train_steps=4, **kw)  # type: ignore[arg-type]
    export_model(tmp_path / "two", train_steps=4, **kw)  # type: ignore[arg-type]
    init, a, b = (_weights(tmp_path / n) for n in ("init", "one", "two"))
    assert all(torch.equal(a[k], b[k]) for k in a)  # same seed: the same network
    assert not torch.equal(init["classifier.weight"], a["classifier.weight"])
    cfg = json.loads((tmp_path / "one" / "config.json").read_text())
    assert cfg["weights"]["source"] == "scratch" and cfg["weights"]["train"]["steps"] == 4
    assert cfg["input"]["shape"] == [2, 3, 32, 32] and one.notes == []


def test_lr_replaces_the_learning_rate_and_is_recorded(tmp_path: Path) -> None:
    need_fmnist()
    kw = {
        "arch": MOBILE_ARCH,
        "space": "mobile",
        "formats": "safetensors",
        "train_steps": 3,
        "eval_images": 50,
    }
    default = export_model(tmp_path / "d", **kw)  # type: ignore[arg-type]
    same = export_model(tmp_path / "s", lr=0.05, **kw)  # type: ignore[arg-type]
    other = export_model(tmp_path / "o", lr=0.2, **kw)  # type: ignore[arg-type]
    assert default.config["weights"]["train"]["lr"] == 0.05 == same.config["weights"]["train"]["lr"]
    assert (
        other.config["weights"]["train"]["lr"] == 0.2 and "at lr 0.2 " in other.config["weights"]["summary"]
    )
    d, s, o = (_weights(tmp_path / n) for n in "dso")
    assert all(torch.equal(d[k], s[k]) for k in d)  # the default, given explicitly: the same network
    assert not torch.equal(d["classifier.weight"], o["classifier.weight"])


def test_eval_images_sets_the_scored_images_not_the_weights(tmp_path: Path) -> None:
    need_fmnist()
    kw = {"arch": MOBILE_ARCH, "space": "mobile", "formats": "safetensors", "train_steps": 4}
    few = export_model(tmp_path / "few", eval_images=250, **kw)  # type: ignore[arg-type]
    export_model(tmp_path / "all", **kw)  # type: ignore[arg-type]
    tr = few.config["weights"]["train"]
    assert tr["eval_images"] == 250 and (tr["val_accuracy_after"] * 250 / 100).is_integer()
    a, b = _weights(tmp_path / "few"), _weights(tmp_path / "all")
    assert all(torch.equal(a[k], b[k]) for k in a)  # scoring leaves the training alone
    assert "val accuracy % (250 images)" in (tmp_path / "few" / "MODEL_CARD.md").read_text()
    cfg = json.loads((tmp_path / "all" / "config.json").read_text())
    assert cfg["weights"]["train"]["eval_images"] == 1000


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"train_steps": 2, "finetune_steps": 2}, ["--train-steps", "--finetune-steps", "not both"]),
        ({"train_steps": -1}, ["--train-steps must be a whole number"]),
        ({"train_steps": True}, ["--train-steps must be a whole number"]),
        (
            {"train_steps": 2, "space": "nb201", "arch": NB201_ARCH},
            ["--train-steps trains on Fashion-MNIST", "only the mobile space"],
        ),
        ({"train_steps": 2, "supernet": "THREE"}, ["--train-steps", "10 classes", "3 outputs"]),
        ({"train_steps": 2, "data_dir": "NODATA"}, ["Fashion-MNIST"]),
        ({"train_steps": 2, "eval_images": 0}, ["--eval-images", "from 1 to 10000", "got 0"]),
        ({"train_steps": 2, "eval_images": 10_001}, ["--eval-images", "the validation split"]),
        ({"eval_images": True}, ["--eval-images must be a whole number"]),
        ({"train_steps": 2, "lr": 0.0}, ["--lr must be a number above 0", "got 0.0"]),
        ({"train_steps": 2, "lr": float("nan")}, ["--lr must be a number above 0", "nan"]),
        ({"train_steps": 2, "lr": float("inf")}, ["--lr must be a number above 0"]),
        ({"train_steps": 2, "lr": -0.1}, ["--lr must be a number above 0"]),
        ({"train_steps": 2, "lr": "0.1"}, ["--lr must be a number above 0"]),
        ({"lr": 0.1}, ["--lr is the learning rate of --finetune-steps or --train-steps"]),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(kwargs: dict, words: list[str], tmp_path: Path) -> None:
    if kwargs.get("supernet") == "THREE":  # a supernet trained on 3-class images
        (tmp_path / "sn").mkdir()
        kwargs["supernet"] = str(train_tiny(tmp_path / "sn", write_npz(tmp_path / "d.npz")))
    if kwargs.get("data_dir") == "NODATA":
        kwargs["data_dir"] = str(tmp_path / "nodata")
    kw = {"arch": MOBILE_ARCH, "space": "mobile", "formats": "safetensors", **kwargs}
    before = sorted(tmp_path.rglob("*"))
    with pytest.raises(HynasError) as exc:
        export_model(tmp_path / "out", **kw)
    msg = str(exc.value)
    assert "\n" not in msg and all(w in msg for w in words), msg
    assert sorted(tmp_path.rglob("*")) == before
