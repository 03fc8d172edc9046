"""Image-classification data for training: Fashion-MNIST, an image folder or ``.npz`` arrays.

:func:`load_images` reads a data source and returns an :class:`ImageData`: the ``arrays`` the
trainers read (``train_x``/``train_y``, ``val_x``/``val_y``, optionally ``test_x``/``test_y``,
and the scalar pixel ``mean``/``std`` of the training images), the input size, channel and class
counts read from the data, and :attr:`ImageData.spec`, the JSON that rebuilds the same arrays
(stored in a supernet checkpoint). Images are ``N×H×W`` (grey) or ``N×H×W×3`` (colour), ``uint8``
(scaled by 1/255) or ``float32`` (used as given); labels are ``int64`` in ``0..classes-1``.

Sources (``source``):

- ``fashion-mnist`` (or ``fmnist``), or a folder holding the four idx files: Fashion-MNIST (Xiao,
  Rasul & Vollgraf, arXiv:1708.07747, 2017) from the Debian package ``dataset-fashion-mnist``
  (``/usr/share/datasets/fashion-mnist``); 10,000 of the 60,000 training images (a fixed
  permutation, seed 0) are the validation split, and the official test set is the test split.
- a folder with one sub-folder per class (the sub-folder names, sorted, are the class names), or
  with ``train/`` and ``val/`` folders of such sub-folders: image files read with Pillow, all of
  one size unless ``image_size`` resizes them; grey when every image is grey, else RGB.
- a ``.npz`` file with ``x`` (``N×H×W``, ``N×H×W×C`` or ``N×C×H×W``, C = 1 or 3) and ``y``
  (``N`` whole-number labels), optionally ``x_val``/``y_val``, ``x_test``/``y_test`` and
  ``class_names``; read without pickle.

Without an explicit validation split, a seeded permutation (``split_seed``) holds out
``val_fraction`` of the images (at least one). ``train_images`` keeps only the first that many
training images (a subset for quick runs). :func:`fingerprint` of the training arrays names the
data a run trained on.
"""

from __future__ import annotations

import gzip
import math
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from hynas.core.errors import HynasError
from hynas.training.checkpoint import fingerprint

__all__ = [
    "DEFAULT_DATA_DIR",
    "FMNIST_FILES",
    "IMAGE_SUFFIXES",
    "ImageData",
    "find_fmnist",
    "load_fmnist",
    "load_images",
    "load_spec",
    "read_idx",
]

#: where the Debian package ``dataset-fashion-mnist`` installs the idx files
DEFAULT_DATA_DIR = "/usr/share/datasets/fashion-mnist"
FMNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
FMNIST_NAMES = ("fashion-mnist", "fmnist")
FMNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")  # fmt: skip
VAL_SIZE = 10_000  # Fashion-MNIST training images held out for validation
SPLIT_SEED = 0  # the Fashion-MNIST validation split is the same for every run
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".pgm", ".ppm", ".pbm", ".tif", ".tiff", ".webp")
_IDX_DTYPES: dict[int, str] = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


# -- Fashion-MNIST ----------------------------------------------------------------------------------
def find_fmnist(data_dir: str | Path | None = None) -> dict[str, Path]:
    """Paths of the four Fashion-MNIST idx files (``name`` or ``name.gz``) in ``data_dir``."""
    root = Path(DEFAULT_DATA_DIR if data_dir is None else data_dir).expanduser()
    found: dict[str, Path] = {}
    missing = []
    for key, name in FMNIST_FILES.items():
        for cand in (root / f"{name}.gz", root / name):
            if cand.is_file():
                found[key] = cand
                break
        else:
            missing.append(f"{name}[.gz]")
    if missing:
        raise HynasError(
            f"Fashion-MNIST not found in {root} (missing {', '.join(missing)}): install it with "
            "`apt-get install dataset-fashion-mnist` (Debian/Ubuntu, puts the files in "
            f"{DEFAULT_DATA_DIR}) or pass --evaluator-option data_dir=DIR with a folder holding the "
            "four idx files"
        )
    return found


def read_idx(path: Path) -> np.ndarray:
    """An idx file (LeCun's MNIST format, gzipped or not) as a numpy array."""
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise HynasError(f"cannot read idx file {path}: {exc}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise HynasError(f"{path} is not an idx file (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    if len(raw) != header + dtype.itemsize * math.prod(dims):
        raise HynasError(f"{path}: idx header says shape {dims}, but the file has {len(raw)} bytes")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims)


@cache
def load_fmnist(data_dir: str | None = None) -> dict[str, np.ndarray]:
    """Train / val / test images (uint8, N×28×28) and labels (int64), plus the pixel ``mean``/``std``."""
    paths = find_fmnist(data_dir)
    arrays = {k: read_idx(p) for k, p in paths.items()}
    for split, n in (("train", 60_000), ("test", 10_000)):
        x, y = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if x.shape != (n, 28, 28) or y.shape != (n,) or x.dtype != np.uint8 or int(y.max()) >= 10:
            raise HynasError(
                f"Fashion-MNIST {split} files in {paths[f'{split}_images'].parent} have shapes "
                f"{x.shape} / {y.shape}, expected ({n}, 28, 28) uint8 images and {n} labels 0-9"
            )
    perm = np.random.default_rng(SPLIT_SEED).permutation(60_000)
    val, train = perm[:VAL_SIZE], perm[VAL_SIZE:]
    x, y = arrays["train_images"], arrays["train_labels"].astype(np.int64)
    out = {
        "train_x": x[train],
        "train_y": y[train],
        "val_x": x[val],
        "val_y": y[val],
        "test_x": arrays["test_images"].copy(),  # frombuffer arrays are read-only; torch wants writable
        "test_y": arrays["test_labels"].astype(np.int64),
    }
    out.update(_stats(out["train_x"]))
    return out


# -- the common result ------------------------------------------------------------------------------
@dataclass(frozen=True)
class ImageData:
    """Arrays of one data source, what was read from them, and the spec that reads them again."""

    arrays: dict[str, np.ndarray]
    spec: dict[str, Any]
    classes: int
    class_names: tuple[str, ...]
    input_size: int
    channels: int
    fingerprint: str = field(default="")

    @property
    def name(self) -> str:
        return str(self.spec["source"])


def _stats(train_x: np.ndarray) -> dict[str, np.ndarray]:
    scale = 255.0 if train_x.dtype == np.uint8 else 1.0
    mean = train_x.mean(dtype=np.float64) / scale
    std = train_x.std(dtype=np.float64) / scale
    return {"mean": np.array(mean, dtype=np.float32), "std": np.array(max(std, 1e-6), dtype=np.float32)}


def _images(x: np.ndarray, where: str) -> np.ndarray:
    """Images as N×H×W (grey) or N×H×W×3, uint8 or float32; refuses other layouts."""
    if x.dtype == object or not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise HynasError(f"{where}: images must be numbers, got dtype {x.dtype}")
    if x.ndim == 4 and x.shape[-1] not in (1, 3) and x.shape[1] in (1, 3):
        x = x.transpose(0, 2, 3, 1)  # N×C×H×W
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim not in (3, 4) or (x.ndim == 4 and x.shape[-1] != 3) or len(x) == 0 or 0 in x.shape:
        raise HynasError(
            f"{where}: images have shape {x.shape}; expected N×H×W (grey) or N×H×W×C / N×C×H×W with C 1 or 3"
        )
    x = np.ascontiguousarray(x if x.dtype == np.uint8 else x.astype(np.float32))
    if x.dtype == np.float32 and not np.isfinite(x).all():
        raise HynasError(f"{where}: images hold NaN or infinite values")
    return x


def _labels(y: np.ndarray, n: int, where: str) -> np.ndarray:
    if y.ndim != 1 or len(y) != n:
        raise HynasError(f"{where}: {n} images but labels of shape {y.shape}; give one label per image")
    if not np.issubdtype(y.dtype, np.integer) or (len(y) and int(y.min()) < 0):
        raise HynasError(f"{where}: labels must be whole numbers 0, 1, 2, ... (got dtype {y.dtype})")
    return y.astype(np.int64)


def _split(x: np.ndarray, y: np.ndarray, fraction: float, seed: int) -> dict[str, np.ndarray]:
    if not 0 < fraction < 1:
        raise HynasError(f"val_fraction must lie strictly between 0 and 1, got {fraction!r}")
    if len(y) < 2:
        raise HynasError(f"{len(y)} image(s) cannot be split into training and validation images")
    perm = np.random.default_rng(seed).permutation(len(y))
    n_val = min(len(y) - 1, max(1, round(len(y) * fraction)))
    val, train = np.sort(perm[:n_val]), np.sort(perm[n_val:])
    return {"train_x": x[train], "train_y": y[train], "val_x": x[val], "val_y": y[val]}


# -- sources ----------------------------------------------------------------------------------------
def _read_npz(path: Path) -> tuple[dict[str, np.ndarray], list[str] | None]:
    try:
        with np.load(path, allow_pickle=False) as f:
            raw = {k: f[k] for k in f.files}
    except ValueError as exc:
        raise HynasError(
            f"{path}: cannot read arrays ({str(exc).splitlines()[0]}); save plain numeric arrays"
        ) from None
    except (OSError, EOFError) as exc:
        raise HynasError(f"{path} is not a readable .npz file ({exc})") from None
    except Exception as exc:  # zipfile.BadZipFile and friends for a damaged file
        raise HynasError(f"{path} is not a readable .npz file ({type(exc).__name__}: {exc})") from None
    if "x" not in raw or "y" not in raw:
        raise HynasError(f"{path} must hold arrays 'x' (images) and 'y' (labels); it has {sorted(raw)}")
    out: dict[str, np.ndarray] = {}
    for split, (xk, yk) in {
        "train": ("x", "y"),
        "val": ("x_val", "y_val"),
        "test": ("x_test", "y_test"),
    }.items():
        if (xk in raw) != (yk in raw):
            raise HynasError(f"{path} has {xk if xk in raw else yk} without {yk if xk in raw else xk}")
        if xk in raw:
            out[f"{split}_x"] = _images(raw[xk], f"{path} ({xk})")
            out[f"{split}_y"] = _labels(raw[yk], len(out[f"{split}_x"]), f"{path} ({yk})")
    names = [str(s) for s in raw["class_names"].tolist()] if "class_names" in raw else None
    return out, names


def _class_folders(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def _read_folder(root: Path, class_names: list[str], image_size: int | None) -> tuple[np.ndarray, np.ndarray]:
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:  # pragma: no cover - Pillow comes with matplotlib
        raise HynasError("reading an image folder needs Pillow: pip install pillow") from None
    images: list[np.ndarray] = []
    labels: list[int] = []
    for label, name in enumerate(class_names):
        folder = root / name
        if not folder.is_dir():
            raise HynasError(f"{root} has no class folder {name!r} (the training split has it)")
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        for p in files:
            try:
                with Image.open(p) as opened:
                    rgb = opened.convert("RGB")
                if image_size is not None and rgb.size != (image_size, image_size):
                    rgb = rgb.resize((image_size, image_size), Image.Resampling.BILINEAR)
                images.append(np.asarray(rgb, dtype=np.uint8))
            except (OSError, UnidentifiedImageError, ValueError) as exc:
                raise HynasError(f"cannot read image {p}: {exc}") from None
            labels.append(label)
    if not images:
        raise HynasError(f"{root} holds no images in its class folders ({', '.join(IMAGE_SUFFIXES)})")
    sizes = sorted({im.shape[:2] for im in images})
    if len(sizes) > 1:
        raise HynasError(
            f"images in {root} have {len(sizes)} sizes ({sizes[0]}, {sizes[-1]}, ...); "
            "pass an image size (--image-size N) to resize them all to N×N"
        )
    x = np.stack(images)
    if (x[..., 0] == x[..., 1]).all() and (x[..., 1] == x[..., 2]).all():
        x = np.ascontiguousarray(x[..., 0])  # every image is grey
    return x, np.array(labels, dtype=np.int64)


def _load_folder(root: Path, image_size: int | None) -> tuple[dict[str, np.ndarray], list[str]]:
    split_dirs = (root / "train").is_dir() and (root / "val").is_dir()
    train_root = root / "train" if split_dirs else root
    names = [p.name for p in _class_folders(train_root)]
    if not names:
        raise HynasError(
            f"{train_root} has no class sub-folders; put each class's images in a folder of its own "
            "(e.g. data/cat/1.png, data/dog/2.png)"
        )
    if len(names) < 2:
        raise HynasError(f"{train_root} has one class folder ({names[0]}); classification needs two or more")
    out: dict[str, np.ndarray] = {}
    out["train_x"], out["train_y"] = _read_folder(train_root, names, image_size)
    if split_dirs:
        extra = sorted({p.name for p in _class_folders(root / "val")} - set(names))
        if extra:
            raise HynasError(f"{root / 'val'} has class folders the training split lacks: {', '.join(extra)}")
        out["val_x"], out["val_y"] = _read_folder(root / "val", names, image_size)
    return out, names


def load_images(
    source: str | Path = "fashion-mnist",
    *,
    val_fraction: float = 0.1,
    split_seed: int = 0,
    train_images: int | None = None,
    image_size: int | None = None,
) -> ImageData:
    """Read ``source`` (see the module docstring); one clear :class:`HynasError` for bad data."""
    text = str(source)
    path = Path(text).expanduser()
    if train_images is not None and (isinstance(train_images, bool) or train_images < 1):
        raise HynasError(f"train_images must be a whole number >= 1, got {train_images!r}")
    if image_size is not None and (isinstance(image_size, bool) or image_size < 1):
        raise HynasError(f"image_size must be a whole number >= 1, got {image_size!r}")
    names: list[str] | None
    if text.lower() in FMNIST_NAMES or (path.is_dir() and _has_fmnist(path)):
        kind, src = "fashion-mnist", None if text.lower() in FMNIST_NAMES else str(path.resolve())
        arrays = dict(load_fmnist(src))
        names = list(FMNIST_CLASSES)
    elif path.is_dir():
        kind, src = "folder", str(path.resolve())
        arrays, names = _load_folder(path, image_size)
    elif path.is_file() and path.suffix.lower() == ".npz":
        kind, src = "npz", str(path.resolve())
        arrays, names = _read_npz(path)
    elif path.exists():
        raise HynasError(f"data {text!r} is neither a folder nor a .npz file")
    else:
        raise HynasError(
            f"no data at {text!r}: give 'fashion-mnist', a folder with one sub-folder of images per "
            "class, or a .npz file with arrays x and y"
        )
    if "val_x" not in arrays:
        arrays = {**arrays, **_split(arrays["train_x"], arrays["train_y"], val_fraction, split_seed)}
    if train_images is not None:
        arrays["train_x"], arrays["train_y"] = (
            arrays["train_x"][:train_images],
            arrays["train_y"][:train_images],
        )
    shapes = {k: arrays[k].shape[1:] for k in arrays if k.endswith("_x")}
    if len(set(shapes.values())) > 1:
        raise HynasError(f"{text}: the splits' images differ in shape ({shapes}); use one image size")
    train_shape = shapes["train_x"]
    classes = max(int(arrays[k].max()) for k in arrays if k.endswith("_y") and len(arrays[k])) + 1
    if names is not None and len(names) < classes:
        raise HynasError(f"{text}: labels go up to {classes - 1} but only {len(names)} class names are given")
    classes = max(classes, len(names or ()))
    if classes < 2:
        raise HynasError(f"{text}: every label is 0; classification needs two or more classes")
    if "mean" not in arrays:
        arrays.update(_stats(arrays["train_x"]))
    spec = {
        "source": "fashion-mnist" if kind == "fashion-mnist" and src is None else src,
        "kind": kind,
        "val_fraction": float(val_fraction),
        "split_seed": int(split_seed),
        "train_images": train_images,
        "image_size": image_size,
    }
    return ImageData(
        arrays=arrays,
        spec=spec,
        classes=classes,
        class_names=tuple(names or (str(i) for i in range(classes))),
        input_size=max(train_shape[0], train_shape[1]),
        channels=1 if len(train_shape) == 2 else 3,
        fingerprint=fingerprint(arrays["train_x"], arrays["train_y"]),
    )


def load_spec(spec: dict[str, Any]) -> ImageData:
    """The data a spec (:attr:`ImageData.spec`, e.g. from a checkpoint) names, read again."""
    try:
        return load_images(
            spec["source"],
            val_fraction=spec["val_fraction"],
            split_seed=spec["split_seed"],
            train_images=spec["train_images"],
            image_size=spec["image_size"],
        )
    except (KeyError, TypeError):
        raise HynasError(
            f"malformed data description {spec!r} (expected the keys load_images writes)"
        ) from None


def _has_fmnist(path: Path) -> bool:
    try:
        find_fmnist(path)
    except HynasError:
        return False
    return True
