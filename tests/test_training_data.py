"""Training data: Fashion-MNIST, image folders and .npz arrays; sizes, classes, splits, fingerprints, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fmnist_util import need_fmnist
from hynas.core.errors import HynasError
from hynas.training.data import load_images, load_spec
from supernet_util import pattern_images, write_folder, write_npz


def test_npz_sizes_classes_and_a_seeded_split(tmp_path: Path) -> None:
    path = write_npz(tmp_path / "d.npz", n=50, size=12, classes=4)
    data = load_images(path, val_fraction=0.2)
    a = data.arrays
    assert (data.classes, data.input_size, data.channels) == (4, 12, 1)
    assert a["train_x"].shape == (40, 12, 12) and a["val_x"].shape == (10, 12, 12) and "test_x" not in a
    assert a["train_x"].dtype == np.uint8 and a["train_y"].dtype == np.int64
    x, _ = pattern_images(50, 12, 4)
    rows = {bytes(r) for r in x.reshape(50, -1)}
    assert all(bytes(r) in rows for r in a["val_x"].reshape(10, -1))  # the images themselves, split
    again = load_images(path, val_fraction=0.2)
    assert again.fingerprint == data.fingerprint and np.array_equal(again.arrays["val_y"], a["val_y"])
    other = load_images(path, val_fraction=0.2, split_seed=1)
    assert other.fingerprint != data.fingerprint
    assert load_images(path, val_fraction=0.2, train_images=5).arrays["train_x"].shape[0] == 5
    assert float(a["std"]) > 0 and 0 < float(a["mean"]) < 1
    assert load_spec(data.spec).fingerprint == data.fingerprint


def test_npz_layouts_explicit_splits_and_names(tmp_path: Path) -> None:
    x, y = pattern_images(20, 8, 2, rgb=True)
    np.savez(tmp_path / "c.npz", x=x.transpose(0, 3, 1, 2), y=y, x_val=x[:4], y_val=y[:4],
             x_test=x[4:8].astype(np.float32) / 255, y_test=y[4:8], class_names=np.array(["a", "b", "c"]))  # fmt: skip
    data = load_images(tmp_path / "c.npz")
    assert data.channels == 3 and data.arrays["train_x"].shape == (20, 8, 8, 3)
    assert np.array_equal(data.arrays["train_x"], x) and len(data.arrays["val_y"]) == 4
    assert data.arrays["test_x"].dtype == np.float32 and data.class_names == ("a", "b", "c")
    assert data.classes == 3  # names may list classes without examples


def test_image_folder_grey_colour_splits_and_resizing(tmp_path: Path) -> None:
    grey = load_images(write_folder(tmp_path / "grey", per_class=5, size=9), val_fraction=0.2)
    assert (grey.classes, grey.input_size, grey.channels) == (3, 9, 1)
    assert grey.class_names == ("class0", "class1", "class2") and grey.spec["kind"] == "folder"
    assert len(grey.arrays["train_y"]) + len(grey.arrays["val_y"]) == 15
    colour = load_images(write_folder(tmp_path / "rgb", per_class=4, size=9, rgb=True))
    assert colour.channels == 3 and colour.arrays["train_x"].shape[1:] == (9, 9, 3)
    # train/ and val/ folders are used as given
    write_folder(tmp_path / "split" / "train", per_class=3, size=9)
    write_folder(tmp_path / "split" / "val", per_class=2, size=9)
    split = load_images(tmp_path / "split")
    assert (len(split.arrays["train_y"]), len(split.arrays["val_y"])) == (9, 6)
    # images of several sizes: refused unless resized
    from PIL import Image

    Image.new("L", (12, 7)).save(tmp_path / "grey" / "class0" / "odd.png")
    with pytest.raises(HynasError, match=r"2 sizes .* \(--image-size N\)"):
        load_images(tmp_path / "grey")
    resized = load_images(tmp_path / "grey", image_size=6)
    assert resized.input_size == 6 and resized.arrays["train_x"].shape[1:] == (6, 6)


def _empty_classes(p: Path) -> Path:
    for name in ("a", "b"):
        (p / "e" / name).mkdir(parents=True)
    return p / "e"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "absent", "no data at"),
        (lambda p: (p / "empty").mkdir() or p / "empty", "no class sub-folders"),
        (lambda p: write_folder(p / "one", classes=1), "one class folder"),
        (_empty_classes, "holds no images"),
        (lambda p: (p / "t.txt").write_text("x") and p / "t.txt", "neither a folder nor a .npz"),
        (lambda p: (p / "b.npz").write_bytes(b"PK\x03\x04 not a zip") and p / "b.npz", "not a readable .npz"),
        (lambda p: np.savez(p / "k.npz", images=np.zeros((3, 4, 4))) or p / "k.npz", "must hold arrays 'x'"),
        (
            lambda p: np.savez(p / "l.npz", x=np.zeros((3, 4, 4)), y=np.zeros(2, int)) or p / "l.npz",
            "one label per image",
        ),
        (
            lambda p: np.savez(p / "f.npz", x=np.zeros((3, 4, 4)), y=np.array([0.5, 1, 0])) or p / "f.npz",
            "whole numbers",
        ),
        (
            lambda p: np.savez(p / "s.npz", x=np.zeros((3, 4, 4, 5)), y=np.array([0, 1, 0])) or p / "s.npz",
            "with C 1 or 3",
        ),
        (
            lambda p: np.savez(p / "z.npz", x=np.zeros((3, 4, 4)), y=np.zeros(3, int)) or p / "z.npz",
            "two or more classes",
        ),
        (
            lambda p: np.savez(p / "o.npz", x=np.array([None] * 3), y=np.zeros(3, int)) or p / "o.npz",
            "plain numeric",
        ),
        (
            lambda p: (
                np.savez(p / "n.npz", x=np.full((3, 2, 2), np.nan), y=np.array([0, 1, 1])) or p / "n.npz"
            ),
            "NaN",
        ),
    ],
)
def test_bad_data_is_one_clear_error(tmp_path: Path, make, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(HynasError, match=message) as info:
        load_images(make(tmp_path))
    assert "\n" not in str(info.value)


def test_unreadable_image_is_named(tmp_path: Path) -> None:
    root = write_folder(tmp_path / "d", per_class=2)
    (root / "class1" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    with pytest.raises(HynasError, match=r"cannot read image .*broken\.png"):
        load_images(root)


def test_fashion_mnist_through_the_same_door() -> None:
    need_fmnist()
    data = load_images("fashion-mnist", train_images=300)
    assert (data.classes, data.input_size, data.channels) == (10, 28, 1)
    assert data.arrays["train_x"].shape == (300, 28, 28) and len(data.arrays["val_y"]) == 10_000
    assert data.class_names[0] == "T-shirt/top" and "test_y" in data.arrays
    assert load_spec(data.spec).fingerprint == data.fingerprint
    assert load_images("fmnist", train_images=301).fingerprint != data.fingerprint
