""":func:`export_model`: one architecture (a store's trial or a string) becomes a folder holding a
standalone model, a ``config.json`` and a ``MODEL_CARD.md``; see ``docs/export.md``.

Everything is written into a temporary folder next to ``out`` and renamed to ``out`` at the end,
so a failure (bad input, an exporter error, a kill) leaves nothing half-written and damages
nothing already there; an existing ``out`` is refused unless ``force``, which replaces it whole.
"""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.core.space import SearchSpace
from hynas.export.card import model_card
from hynas.export.formats import CONFIG_FILE, CONFIG_VERSION, DEFAULT_FORMATS, parse_formats, write_format
from hynas.export.source import Chosen, choose
from hynas.export.weights import (
    FINETUNE_LR,
    SCRATCH_LR,
    check_finetune,
    finetune,
    fmnist_or_none,
    inherit,
    load_supernet,
    parse_in_supernet,
)
from hynas.training.data import VAL_SIZE

__all__ = ["CARD_FILE", "SUPERNET_OPTION_KEYS", "ExportResult", "export_model"]

CARD_FILE = "MODEL_CARD.md"
#: evaluator options of a ``supernet`` evaluator that may name its checkpoint, in the order looked up
SUPERNET_OPTION_KEYS = ("checkpoint", "supernet", "ckpt", "path")
#: the largest |ONNX Runtime - PyTorch| output difference accepted (seen: below 1e-6)
ONNX_TOLERANCE = 1e-3
MOBILE_SCALE = 0.25  # the mobile-fmnist evaluator's default resolution_scale
MOBILE_CLASSES = 10  # Fashion-MNIST


@dataclass
class ExportResult:
    """What :func:`export_model` wrote, and what the user should know about it."""

    out: Path
    files: list[str]
    config: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def _check_out(out: Path, force: bool) -> None:
    if out.exists() or out.is_symlink():
        if not out.is_dir():
            raise HynasError(f"--out {str(out)!r} is an existing file; give a new folder")
        if not force and any(out.iterdir()):
            raise HynasError(
                f"--out {str(out)!r} exists and is not empty; give a new folder or --force to replace it"
            )
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise HynasError(f"--out {str(out)!r}: {str(parent)!r} is a file, not a folder")
            break


def _supernet_path(chosen: Chosen, given: str | None) -> str | None:
    if given is not None:
        return given
    if chosen.config.get("evaluator") != "supernet":
        return None
    opts = chosen.config.get("evaluator_options") or {}
    for key in SUPERNET_OPTION_KEYS:
        if isinstance(opts.get(key), str):
            return str(opts[key])
    raise HynasError(
        f"store {chosen.store!r} was searched with the supernet evaluator but names no checkpoint "
        f"(evaluator option {' / '.join(SUPERNET_OPTION_KEYS)}); give --supernet CKPT"
    )


def _input_spec(space: SearchSpace, arch: Architecture, size: int | None) -> dict[str, Any]:
    if size is not None:  # mobile: the size the network is (or would be) trained at
        return {"shape": [2, 3, size, size], "dtype": "float32", "seed": 0}
    if space.provides("example_input"):
        x = space.example_input(arch, batch=2)
        if not x.is_floating_point():
            high = space.lm_config(arch).vocab if space.provides("lm_config") else int(x.max()) + 1
            return {"shape": list(x.shape), "dtype": "int64", "high": int(high), "seed": 0}
        return {"shape": list(x.shape), "dtype": "float32", "seed": 0}
    return {"shape": list(space.input_shape(arch, batch=2)), "dtype": "float32", "seed": 0}


def _build(
    chosen: Chosen, supernet: str | None, data_dir: str | None, bn_images: int, seed: int, scratch: bool
) -> tuple[nn.Module, SearchSpace, Architecture, dict[str, Any], int | None, list[str]]:
    """Module, space, architecture, weights record, mobile input size, notes. ``scratch``: freshly
    initialised (to be trained), in the supernet's space and at its input size when there is one."""
    from hynas.spaces import get_space

    notes: list[str] = []
    if supernet is not None:
        if chosen.space != "mobile":
            raise HynasError(f"--supernet: supernets exist for the mobile space only, not {chosen.space!r}")
        sup = load_supernet(supernet)
        arch = parse_in_supernet(sup, chosen.arch_text)
        if scratch:
            torch.manual_seed(seed)
            classes = sup.net.config.num_classes
            model = sup.space.build(arch, num_classes=classes)
            weights: dict[str, Any] = {
                "source": "scratch", "summary": f"initialised with seed {seed}",
                "space_options": sup.space_options(), "options": {"num_classes": classes},
                "supernet": str(supernet), "supernet_use": "its space and input size, not its weights",
            }  # fmt: skip
            return model, sup.space, arch, weights, sup.net.input_size(), notes
        data, why = fmnist_or_none(data_dir) if bn_images > 0 else (None, "turned off (--bn-images 0)")
        model = inherit(sup, arch, data, bn_images)
        bn = (
            f"recalibrated on the first {bn_images} Fashion-MNIST training images"
            if data is not None
            else f"the supernet's running statistics (not recalibrated: {why})"
        )
        if data is None:
            notes.append(f"BatchNorm statistics not recalibrated: {why}")
        weights = {
            "source": "supernet", "supernet": str(supernet), "supernet_step": sup.step, "bn": bn,
            "summary": f"inherited from the supernet {supernet} (step {sup.step})",
            "space_options": sup.space_options(),
            "options": {"num_classes": sup.net.config.num_classes},
        }  # fmt: skip
        return model, sup.space, arch, weights, sup.net.input_size(), notes
    space = get_space(chosen.space)
    arch = space.parse(chosen.arch_text)
    options: dict[str, Any] = {}
    size = None
    if chosen.space == "mobile":
        scale = float((chosen.config.get("evaluator_options") or {}).get("resolution_scale", MOBILE_SCALE))
        size = max(1, round(space.config(arch).resolution * scale))  # type: ignore[attr-defined]
        options = {"num_classes": MOBILE_CLASSES}
    torch.manual_seed(seed)
    model = space.build(arch, **options).eval()
    if scratch:
        weights = {"source": "scratch", "summary": f"initialised with seed {seed}", "options": options}
        return model, space, arch, weights, size, notes
    notes.append(
        "the weights are untrained (no supernet): the module and its ONNX graph are exported as initialised"
    )
    if chosen.space == "mobile":
        notes.append(
            "--train-steps N trains it on Fashion-MNIST from scratch (mobile-fmnist trains 100 steps by default)"
        )
    weights = {
        "source": "untrained",
        "summary": f"untrained (initialised with seed {seed})",
        "options": options,
    }
    return model, space, arch, weights, size, notes


def export_model(
    out: str | Path,
    *,
    store: str | None = None,
    trial: int | None = None,
    best: str | None = None,
    arch: str | None = None,
    space: str | None = None,
    formats: str | Sequence[str] = DEFAULT_FORMATS,
    supernet: str | None = None,
    finetune_steps: int = 0,
    train_steps: int = 0,
    data_dir: str | None = None,
    bn_images: int = 500,
    seed: int = 0,
    force: bool = False,
    eval_images: int = 1000,
    lr: float | None = None,
) -> ExportResult:
    """Export one architecture; see the module docstring and ``docs/export.md``. ``train_steps``
    trains it from scratch (not from the supernet's weights) for that many steps; the accuracy
    before and after either is scored on the first ``eval_images`` validation images; ``lr``
    replaces the learning rate of either (fine-tuning 0.01, from scratch 0.05)."""
    from hynas import __version__

    out = Path(out)
    fmts = parse_formats(formats)
    numbers = (
        ("--finetune-steps", finetune_steps),
        ("--train-steps", train_steps),
        ("--bn-images", bn_images),
    )
    for name, value in (*numbers, ("--seed", seed)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise HynasError(f"{name} must be a whole number >= 0, got {value!r}")
    if isinstance(eval_images, bool) or not isinstance(eval_images, int) or not 1 <= eval_images <= VAL_SIZE:
        raise HynasError(
            f"--eval-images must be a whole number from 1 to {VAL_SIZE} (the validation split), got {eval_images!r}"
        )
    if lr is not None and (
        isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or not 0 < lr <= 10
    ):
        raise HynasError(f"--lr must be a number above 0 and at most 10 (an SGD learning rate), got {lr!r}")
    if lr is not None and finetune_steps == 0 and train_steps == 0:
        raise HynasError("--lr is the learning rate of --finetune-steps or --train-steps; give one of them")
    if finetune_steps > 0 and train_steps > 0:
        raise HynasError(
            "give --finetune-steps (continue from the inherited weights) or --train-steps (train from "
            "scratch), not both"
        )
    _check_out(out, force)
    chosen = choose(store, trial, best, arch, space)
    steps, option = (
        (train_steps, "--train-steps") if train_steps > 0 else (finetune_steps, "--finetune-steps")
    )
    if steps > 0:
        check_finetune(chosen.space, option)
    model, space_obj, arch_obj, weights, size, notes = _build(
        chosen, _supernet_path(chosen, supernet), data_dir, bn_images, seed, scratch=train_steps > 0
    )
    if steps > 0:  # one of the two (both are refused above)
        check_finetune(chosen.space, option, weights["options"].get("num_classes"))
        key, default = ("train", SCRATCH_LR) if train_steps > 0 else ("finetune", FINETUNE_LR)
        done = weights[key] = finetune(
            model, arch_obj, space_obj, steps, int(size or 0), data_dir, seed,
            lr=default if lr is None else float(lr), eval_images=eval_images, option=option,
        )  # fmt: skip
        if key == "finetune":
            weights["summary"] += f", then fine-tuned for {steps} steps on Fashion-MNIST (lr {done['lr']:g})"
        else:
            weights["summary"] = (
                f"trained from scratch for {steps} steps on Fashion-MNIST at lr {done['lr']:g} ({weights['summary']})"
            )
    model.eval()
    config: dict[str, Any] = {
        "version": CONFIG_VERSION,
        "hynas_version": __version__,
        "space": chosen.space,
        "space_options": weights.pop("space_options", None),
        "arch": space_obj.format(arch_obj),
        "options": weights.pop("options"),
        "input": _input_spec(space_obj, arch_obj, size),
        "params": sum(p.numel() for p in model.parameters()),
        "weights": weights,
        "weights_sha256": None,
        "how": chosen.how,
        "store": chosen.store,
        "trial": None if chosen.trial is None else asdict(chosen.trial),
        "store_config": chosen.config or None,
        "objectives": chosen.objectives,
        "formats": list(fmts),
        "files": {},
    }
    from hynas.export.formats import example_from_config

    with torch.no_grad():
        config["output_shape"] = list(model(example_from_config(config)).shape)
    _write_all(out, model, config, fmts, force)
    files = [r["file"] for r in config["files"].values()] + [CONFIG_FILE, CARD_FILE]
    return ExportResult(out, files, config, notes)


def _write_all(
    out: Path, model: nn.Module, config: dict[str, Any], fmts: tuple[str, ...], force: bool
) -> None:
    import json

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.export-{os.getpid()}")
    old = out.with_name(f".{out.name}.replaced-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        (tmp / CONFIG_FILE).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
        for fmt in fmts:
            config["files"][fmt] = write_format(fmt, tmp, model, config)
        _check_onnx(config)
        (tmp / CONFIG_FILE).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
        (tmp / CARD_FILE).write_text(model_card(config))
        _check_out(out, force)  # the folder may have appeared while we worked
        replacing = out.exists() and any(out.iterdir())
        if replacing:
            out.rename(old)  # force: the old export is replaced whole, never mixed with the new one
        try:
            tmp.rename(out)
        except OSError as exc:
            if replacing:
                old.rename(out)
            raise HynasError(f"cannot write {str(out)!r}: {exc.strerror}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(old, ignore_errors=True)


def _check_onnx(config: dict[str, Any]) -> None:
    onnx = config["files"].get("onnx")
    if onnx is None or onnx.get("max_abs_diff") is None:
        return
    if not onnx["max_abs_diff"] <= ONNX_TOLERANCE:
        raise HynasError(
            f"the ONNX model's output differs from PyTorch's by {onnx['max_abs_diff']:.3g} on the example "
            "input; nothing was written (export without onnx, or report this architecture)"
        )
