"""Trained networks on disk: the weights of a ``space.build(arch)`` module as safetensors + JSON.

A network file is one safetensors file (written atomically, checksummed, never pickled; see
:mod:`hynas.training.checkpoint`) tagged ``hynas-network`` whose JSON header names the space, the
architecture's canonical string and the builder options (``num_classes``, ...), plus free-form
``extra`` (e.g. the input size it was trained at). :func:`load_network` rebuilds the module with
``space.build(arch, **options)`` and loads the weights strictly, so a file can only ever become the
network it was saved from. The format of exported once-for-all / BigNAS sub-networks (Cai et al.,
ICLR 2020; Yu et al., ECCV 2020), see :func:`hynas.supernets.extract.export_subnet`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torch import nn

from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.training.checkpoint import VERSION, read_file, write_file

__all__ = ["NETWORK_FORMAT", "load_network", "save_network"]

NETWORK_FORMAT = "hynas-network"


def save_network(
    path: str | Path,
    model: nn.Module,
    arch: Architecture,
    options: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Save ``model`` (built as ``space.build(arch, **options)``) with what it takes to rebuild it."""
    from hynas.spaces import get_space

    space = get_space(arch.space)
    space.validate(arch)
    options = dict(options or {})
    reference = space.build(arch, **options)
    want = {k: tuple(v.shape) for k, v in reference.state_dict().items()}
    have = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    if want != have:
        raise HynasError(
            f"cannot save network: the model is not space.build({arch}, {options}) (other weights)"
        )
    tensors = {k: v.detach().cpu().clone().contiguous() for k, v in model.state_dict().items()}
    header = {
        "version": VERSION,
        "space": arch.space,
        "arch": space.format(arch),
        "options": options,
        "params": sum(p.numel() for p in model.parameters()),
        "extra": dict(extra or {}),
    }
    return write_file(path, tensors, header, NETWORK_FORMAT)


def load_network(path: str | Path) -> tuple[nn.Module, Architecture, dict[str, Any]]:
    """The saved network (rebuilt and loaded, in eval mode), its architecture and its header."""
    from hynas.spaces import get_space

    header, tensors = read_file(path, NETWORK_FORMAT, "network file")
    space = get_space(header["space"])
    arch = space.parse(header["arch"])
    model = space.build(arch, **header["options"])
    own = model.state_dict()
    if set(own) != set(tensors) or any(own[k].shape != tensors[k].shape for k in own):
        raise HynasError(f"network file {path} does not match {header['arch']} as this hynas builds it")
    model.load_state_dict(tensors)
    return model.eval(), arch, header
