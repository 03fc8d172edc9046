"""Small data sets and supernet checkpoints written by the tests (fast: a few images, a few steps)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch

from hynas.supernets.saved import build_supernet
from hynas.supernets.train import SupernetTrainConfig, train_supernet
from hynas.training.data import load_images

#: a reduced space: trains in seconds; architectures with k7, e6, depth 3-4 or r192/r224 are outside
REDUCED = {"resolutions": [128, 160], "kernels": [3, 5], "expands": [3, 4], "depths": [2]}
FULL = {"resolutions": [128, 160, 192, 224], "kernels": [3, 5, 7], "expands": [3, 4, 6], "depths": [2, 3, 4]}


def pattern_images(
    n: int, size: int = 10, classes: int = 3, seed: int = 0, rgb: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Noisy images whose class is the band of bright columns (learnable, not trivial)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    x = (rng.random((n, size, size, 3) if rgb else (n, size, size)) * 80).astype(np.uint8)
    width = max(1, size // classes)
    for c in range(classes):
        x[y == c, :, c * width : (c + 1) * width] += 150
    return x, y.astype(np.int64)


def write_npz(path: Path, n: int = 60, **kw: object) -> Path:
    x, y = pattern_images(n, **kw)  # type: ignore[arg-type]
    np.savez(path, x=x, y=y)
    return path


def write_folder(root: Path, per_class: int = 6, size: int = 10, classes: int = 3, rgb: bool = False) -> Path:
    from PIL import Image

    x, y = pattern_images(per_class * classes * 3, size, classes, rgb=rgb)
    counts = [0] * classes
    for img, label in zip(x, y, strict=True):
        if counts[label] < per_class:
            folder = root / f"class{label}"
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(img).save(folder / f"{counts[label]}.png")
            counts[label] += 1
    return root


def train_tiny(
    out: Path, data: Path, space: dict | None = None, steps: tuple[int, ...] = (1, 1, 1, 1)
) -> Path:
    """A supernet checkpoint as ``hynas supernet train`` writes it, trained for a few steps."""
    images = load_images(data)
    torch.manual_seed(0)
    scale = round(2 * images.input_size / 224, 4)
    net = build_supernet(space or REDUCED, {"num_classes": images.classes, "resolution_scale": scale})
    ckpt = out / "supernet.safetensors"
    with torch.random.fork_rng():
        torch.set_num_threads(1)
        train_supernet(
            net, SupernetTrainConfig(steps=steps, batch=8), images.arrays, ckpt, extra={"data": images.spec}
        )
    return ckpt


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
