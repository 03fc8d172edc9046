"""Training checkpoints: model, optimiser, scheduler, RNG states, step, config and data fingerprint.

One checkpoint is one ``safetensors`` file: the tensors (model state, optimiser state, torch RNG
state) are stored as named tensors, and everything else is JSON in the file's header metadata:

- ``format``: ``"hynas-checkpoint"``; ``hynas``: the JSON header (format version, ``kind``,
  ``space``, ``config``, ``step``, ``data_fingerprint``, optimiser param groups and scalar state,
  scheduler state, Python and numpy RNG states, ``extra``); ``sha256``: a digest over the header
  and every tensor's name, dtype, shape and bytes, so a bit flip anywhere is detected on load.
- tensors: ``model/<state-dict key>``, ``optimizer/<param index>/<name>``, ``rng/torch`` (and
  ``rng/cuda/<device>`` when CUDA is present).

Nothing is pickled and nothing is executed on load. Writes are atomic (a temporary file in the same
folder, fsync, rename), so a crash leaves the previous checkpoint or the new one, never half of one.
:func:`load_checkpoint` refuses a checkpoint written for another space, configuration or data set,
and a corrupt, truncated or foreign file, each with one :class:`~hynas.core.errors.HynasError` line.
Used by the supernet trainer (Cai et al., "Once-for-All", ICLR 2020; Yu et al., "BigNAS", ECCV
2020) and meant for every training loop that must resume bit for bit.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from hynas.core.errors import HynasError

__all__ = [
    "FORMAT",
    "VERSION",
    "CheckpointInfo",
    "fingerprint",
    "load_checkpoint",
    "read_checkpoint",
    "save_checkpoint",
]

FORMAT = "hynas-checkpoint"
VERSION = 1


@dataclass(frozen=True)
class CheckpointInfo:
    """What a checkpoint's header says (no tensors)."""

    path: Path
    kind: str
    space: str
    config: Mapping[str, Any]
    step: int
    data_fingerprint: str
    extra: Mapping[str, Any]


def fingerprint(*arrays: np.ndarray | torch.Tensor) -> str:
    """A SHA-256 over the dtype, shape and bytes of ``arrays``: names the data a run trained on."""
    h = hashlib.sha256()
    for a in arrays:
        arr = a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)
        arr = np.ascontiguousarray(arr)
        h.update(f"{arr.dtype.str}{arr.shape}".encode())
        h.update(arr.reshape(-1).view(np.uint8).data)  # a memoryview, no copy
    return "sha256:" + h.hexdigest()


def _json(obj: Any, what: str) -> str:
    try:
        return json.dumps(obj, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise HynasError(f"cannot save checkpoint: {what} is not plain JSON ({exc})") from None


def _normal(obj: Any) -> Any:
    """``obj`` as JSON gives it back (tuples become lists), for comparisons."""
    return json.loads(json.dumps(obj, sort_keys=True))


def _digest(header: str, tensors: Mapping[str, torch.Tensor]) -> str:
    h = hashlib.sha256(header.encode())
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        h.update(f"\0{name}\0{t.dtype}\0{tuple(t.shape)}\0".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def _split_optimizer(
    state: Mapping[str, Any], tensors: dict[str, torch.Tensor], prefix: str = "optimizer/"
) -> dict[str, Any]:
    """Move an optimiser state dict's tensors into ``tensors`` (under ``prefix``); return the JSON rest."""
    scalars: dict[str, dict[str, Any]] = {}
    for pid, entries in state["state"].items():
        for name, value in entries.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{prefix}{pid}/{name}"] = value.detach().cpu().clone().contiguous()
            else:
                scalars.setdefault(str(pid), {})[name] = value
    return {"param_groups": state["param_groups"], "scalars": scalars}


def save_checkpoint(
    path: str | Path,
    *,
    model: nn.Module,
    step: int,
    space: str,
    config: Mapping[str, Any],
    kind: str = "training",
    data_fingerprint: str = "",
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any = None,
    generators: Mapping[str, np.random.Generator] | None = None,
    extra: Mapping[str, Any] | None = None,
    optimizers: Mapping[str, torch.optim.Optimizer] | None = None,
    modules: Mapping[str, nn.Module] | None = None,
) -> Path:
    """Write a checkpoint atomically; ``generators`` are numpy generators saved by name.

    ``optimizers`` are further optimisers saved by name (a bilevel search has one for the weights
    and one for the architecture); ``modules`` further modules saved by name (a moving average of
    the weights), as tensors ``modules/<name>/<state-dict key>``. The torch CPU (and CUDA) and
    Python ``random`` RNG states are always saved.
    """
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise HynasError(f"checkpoint step must be a whole number >= 0, got {step!r}")
    tensors = {f"model/{k}": v.detach().cpu().clone().contiguous() for k, v in model.state_dict().items()}
    for name, module in (modules or {}).items():
        for k, v in module.state_dict().items():
            tensors[f"modules/{name}/{k}"] = v.detach().cpu().clone().contiguous()
    tensors["rng/torch"] = torch.get_rng_state()
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng/cuda/{i}"] = s
    header: dict[str, Any] = {
        "version": VERSION,
        "kind": kind,
        "space": space,
        "config": dict(config),
        "step": step,
        "data_fingerprint": data_fingerprint,
        "optimizer": None if optimizer is None else _split_optimizer(optimizer.state_dict(), tensors),
        "scheduler": None if scheduler is None else scheduler.state_dict(),
        "optimizers": {
            name: _split_optimizer(opt.state_dict(), tensors, f"optimizers/{name}/")
            for name, opt in (optimizers or {}).items()
        },
        "rng": {
            "python": random.getstate(),
            "numpy": {name: g.bit_generator.state for name, g in (generators or {}).items()},
        },
        "extra": dict(extra or {}),
    }
    return write_file(path, tensors, header, FORMAT)


def write_file(
    path: str | Path, tensors: Mapping[str, torch.Tensor], header: Mapping[str, Any], fmt: str
) -> Path:
    """Write ``tensors`` and the JSON ``header`` as one safetensors file tagged ``fmt``, atomically.

    The header gets a SHA-256 over itself and every tensor (checked by :func:`read_file`).
    """
    from safetensors.torch import save_file

    text = _json(dict(header), "the configuration, optimiser/scheduler settings or extra data")
    metadata = {"format": fmt, "hynas": text, "sha256": _digest(text, tensors)}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        save_file(dict(tensors), str(tmp), metadata=metadata)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return path
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
    return path


def read_file(
    path: str | Path, fmt: str = FORMAT, what: str = "checkpoint"
) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Header and tensors of a file :func:`write_file` wrote with tag ``fmt``, verified; one clear
    :class:`HynasError` line when it is missing, unreadable, foreign or corrupt."""
    path = Path(path)
    if not path.is_file():
        raise HynasError(f"no {what} at {path}")
    for _attempt in range(5):
        metadata, tensors, inode = _read_once(path, what)
        if metadata.get("format") != fmt or "hynas" not in metadata:
            raise HynasError(f"{path} is a safetensors file but not a hynas {what} (no '{fmt}' header)")
        if _digest(metadata["hynas"], tensors) == metadata.get("sha256"):
            break
        try:
            replaced = os.stat(path).st_ino != inode
        except OSError:
            replaced = False
        if not replaced:  # the same file, read whole: it is damaged (a writer renames a new file in)
            raise HynasError(f"{path} is corrupt: its contents do not match the checksum written with it")
    else:
        raise HynasError(f"{path} kept changing while it was read; try again when its writer has stopped")
    try:
        header = json.loads(metadata["hynas"])
    except json.JSONDecodeError as exc:
        raise HynasError(f"{path} is corrupt: its header is not JSON ({exc})") from None
    if header.get("version") != VERSION:
        raise HynasError(
            f"{path} has checkpoint format version {header.get('version')!r}; this hynas reads {VERSION}"
        )
    return header, tensors


def _read_once(path: Path, what: str) -> tuple[dict[str, str], dict[str, torch.Tensor], int]:
    """Metadata and tensors from one read of one open file (not a memory map, whose pages a file
    system may refresh from a newer file renamed over this one), and that file's inode."""
    from safetensors.torch import load

    try:
        with open(path, "rb") as fh:
            inode = os.fstat(fh.fileno()).st_ino
            data = fh.read()
        size = int.from_bytes(data[:8], "little")
        if len(data) < 8 or size > len(data) - 8:
            raise ValueError("the header runs past the end of the file")
        metadata = json.loads(data[8 : 8 + size]).get("__metadata__") or {}
        tensors = load(data)
    except Exception as exc:  # safetensors raises its own error types for bad headers and sizes
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise HynasError(
            f"{path} is not a readable {what} (corrupt, truncated or not a safetensors file: {reason})"
        ) from None
    if not isinstance(metadata, dict):
        raise HynasError(f"{path} is not a readable {what} (its metadata is not a JSON object)")
    return metadata, tensors, inode


def read_checkpoint(path: str | Path) -> CheckpointInfo:
    """The header of a checkpoint, after checking the whole file."""
    path = Path(path)
    header, _ = read_file(path)
    return _info(path, header)


def _info(path: Path, header: Mapping[str, Any]) -> CheckpointInfo:
    return CheckpointInfo(
        path,
        str(header["kind"]),
        str(header["space"]),
        header["config"],
        int(header["step"]),
        str(header["data_fingerprint"]),
        header["extra"],
    )


def _check_match(
    path: Path, header: Mapping[str, Any], space: str, config: Mapping[str, Any], data: str | None
) -> None:
    if header["space"] != space:
        raise HynasError(f"checkpoint {path} is for space {header['space']!r}, not {space!r}")
    want, have = _normal(dict(config)), header["config"]
    if want != have:
        keys = sorted(set(want) | set(have))
        diffs = [
            f"{k}: {have.get(k, '<absent>')!r} in the checkpoint, {want.get(k, '<absent>')!r} now"
            for k in keys
            if want.get(k, "<absent>") != have.get(k, "<absent>")
        ]
        raise HynasError(f"checkpoint {path} was written for another configuration ({'; '.join(diffs)})")
    if data is not None and header["data_fingerprint"] != data:
        raise HynasError(
            f"checkpoint {path} was trained on other data (fingerprint {header['data_fingerprint'][:19]}..., "
            f"now {data[:19]}...)"
        )


def load_checkpoint(
    path: str | Path,
    *,
    model: nn.Module,
    space: str,
    config: Mapping[str, Any],
    data_fingerprint: str | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any = None,
    generators: Mapping[str, np.random.Generator] | None = None,
    restore_rng: bool = True,
    optimizers: Mapping[str, torch.optim.Optimizer] | None = None,
    modules: Mapping[str, nn.Module] | None = None,
) -> CheckpointInfo:
    """Restore a checkpoint into fresh objects built the same way; returns its header.

    Refuses (``HynasError``) a file that is not an intact checkpoint, or one written for another
    ``space``, ``config`` or data (when ``data_fingerprint`` is given). Restores the model (and the
    named ``modules``) strictly, the optimiser and scheduler when given, and with ``restore_rng``
    the torch, Python and named numpy RNG states.
    """
    path = Path(path)
    header, tensors = read_file(path)
    _check_match(path, header, space, config, data_fingerprint)
    _load_module(path, model, tensors, "model/", "this model")
    for name, module in (modules or {}).items():
        _load_module(path, module, tensors, f"modules/{name}/", f"its module {name!r}")
    if optimizer is not None:
        _restore_optimizer(path, optimizer, header["optimizer"], tensors, "optimizer/", "no optimiser state")
    for name, opt in (optimizers or {}).items():
        saved_opts = header.get("optimizers") or {}
        _restore_optimizer(
            path, opt, saved_opts.get(name), tensors, f"optimizers/{name}/",
            f"no optimiser {name!r} (it has {sorted(saved_opts)})",
        )  # fmt: skip
    if scheduler is not None:
        if header["scheduler"] is None:
            raise HynasError(f"checkpoint {path} holds no scheduler state")
        scheduler.load_state_dict(header["scheduler"])
    if restore_rng:
        torch.set_rng_state(tensors["rng/torch"])
        cuda = sorted(k for k in tensors if k.startswith("rng/cuda/"))
        if cuda and torch.cuda.is_available():
            torch.cuda.set_rng_state_all([tensors[k] for k in cuda])
        version, internal, gauss = header["rng"]["python"]
        random.setstate((version, tuple(internal), gauss))
        saved_np = header["rng"]["numpy"]
        for name, gen in (generators or {}).items():
            if name not in saved_np:
                raise HynasError(
                    f"checkpoint {path} holds no numpy generator {name!r}; it has {sorted(saved_np)}"
                )
            gen.bit_generator.state = saved_np[name]
    return _info(path, header)


def _load_module(
    path: Path, module: nn.Module, tensors: Mapping[str, torch.Tensor], prefix: str, what: str
) -> None:
    """Load the tensors under ``prefix`` into ``module`` strictly, or one clear error."""
    state = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
    own = module.state_dict()
    missing, unexpected = sorted(set(own) - set(state)), sorted(set(state) - set(own))
    bad = [k for k in own if k in state and own[k].shape != state[k].shape]
    if missing or unexpected or bad:
        detail = "; ".join(
            f"{kind}: {', '.join(keys[:3])}{' ...' if len(keys) > 3 else ''}"
            for kind, keys in (("missing", missing), ("unexpected", unexpected), ("other shapes", bad))
            if keys
        )
        raise HynasError(f"checkpoint {path} does not fit {what} ({detail})")
    module.load_state_dict(state)


def _restore_optimizer(
    path: Path,
    optimizer: torch.optim.Optimizer,
    saved: Mapping[str, Any] | None,
    tensors: Mapping[str, torch.Tensor],
    prefix: str,
    absent: str,
) -> None:
    if saved is None:
        raise HynasError(f"checkpoint {path} holds {absent}")
    opt_state: dict[Any, dict[str, Any]] = {}
    for pid, entries in saved["scalars"].items():
        opt_state.setdefault(int(pid), {}).update(entries)
    for key, value in tensors.items():
        if key.startswith(prefix):
            pid, name = key[len(prefix) :].split("/", 1)
            opt_state.setdefault(int(pid), {})[name] = value
    try:
        optimizer.load_state_dict({"state": opt_state, "param_groups": saved["param_groups"]})
    except (ValueError, KeyError) as exc:
        raise HynasError(f"checkpoint {path}: optimiser state does not fit ({exc})") from None
