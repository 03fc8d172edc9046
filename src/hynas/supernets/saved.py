"""A trained supernet from its checkpoint: rebuilt from the header, loaded strictly, checked.

A supernet checkpoint (kind ``supernet/mobile``, :mod:`hynas.training.checkpoint`, written by
:func:`hynas.supernets.train.train_supernet`) carries in its JSON header everything needed to build
the network again: ``config.space_options`` (the choice lists of the :class:`MobileSpace` it was
trained for), ``config.supernet`` (:class:`ElasticMobileConfig`) and ``config.train``; the trainer
CLI adds ``extra.data`` (:attr:`hynas.training.data.ImageData.spec`, to read the same data again).
:func:`load_supernet` rebuilds the :class:`ElasticMobileNet` without random initialisation and
loads the weights; :func:`to_supernet_arch` maps an architecture of the registered ``mobile``
space onto the supernet's own (possibly reduced) space, or says clearly that it lies outside.
Once-for-all (Cai et al., ICLR 2020) and BigNAS (Yu et al., ECCV 2020) specialise this way: one
trained supernet, any sub-network scored or extracted with inherited weights.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.spaces.mobile import MobileSpace
from hynas.supernets.mobile import ElasticMobileConfig, ElasticMobileNet
from hynas.training.checkpoint import CheckpointInfo, load_checkpoint, read_checkpoint
from hynas.training.loop import moving_average

__all__ = [
    "KIND",
    "build_supernet",
    "in_registered_space",
    "load_supernet",
    "parse_in_space",
    "to_supernet_arch",
]

KIND = "supernet/mobile"
EMA = "ema"  #: the checkpoint's name for the moving average of the weights (``ema_decay``)


def build_supernet(
    space_options: dict[str, Any], supernet: dict[str, Any], init: bool = True
) -> ElasticMobileNet:
    """The supernet for ``space_options`` (choice lists) and ``supernet`` (:class:`ElasticMobileConfig`
    fields); with ``init=False`` its tensors are left empty, to be loaded."""
    try:
        space = MobileSpace(
            **{k: tuple(v) for k, v in space_options.items()}, num_classes=supernet["num_classes"]
        )
        config = ElasticMobileConfig(**supernet)
    except (TypeError, KeyError, ValueError) as exc:
        raise HynasError(f"malformed supernet configuration ({exc})") from None
    if init:
        return ElasticMobileNet(space, config)
    with torch.device("meta"):  # no initialisation (it would draw from torch's generator)
        net = ElasticMobileNet(space, config)
    return net.to_empty(device="cpu")


def load_supernet(path: str | Path, average: bool = True) -> tuple[ElasticMobileNet, CheckpointInfo]:
    """The trained supernet in ``path`` (in eval mode) and the checkpoint's header.

    A supernet trained with a moving average of its weights (``ema_decay``) gets the averaged
    weights (BigNAS scores its children with them), unless ``average`` is false; its BatchNorm
    buffers are the last step's either way. One :class:`HynasError` line for a missing, corrupt,
    truncated or foreign file, a checkpoint of another space or kind, or one whose weights do not
    fit the configuration it names.
    """
    info = read_checkpoint(path)
    if info.space != "mobile" or info.kind != KIND:
        raise HynasError(
            f"{path} is a {info.kind!r} checkpoint of space {info.space!r}, not a mobile supernet "
            f"({KIND!r}); train one with `hynas supernet train`"
        )
    cfg = info.config
    if not isinstance(cfg.get("space_options"), dict) or not isinstance(cfg.get("supernet"), dict):
        raise HynasError(f"{path} names no supernet configuration (space_options, supernet)")
    net = build_supernet(cfg["space_options"], cfg["supernet"], init=False)
    decay = (cfg.get("train") or {}).get("ema_decay", 0.0)
    if not (average and decay):
        load_checkpoint(path, model=net, space="mobile", config=cfg, restore_rng=False)
        return net.eval(), info
    ema = moving_average(net, decay)
    load_checkpoint(path, model=net, space="mobile", config=cfg, restore_rng=False, modules={EMA: ema})
    with torch.no_grad():
        for mine, averaged in zip(net.parameters(), ema.module.parameters(), strict=True):
            mine.copy_(averaged)
    return net.eval(), info


def to_supernet_arch(net: ElasticMobileNet, arch: Architecture, where: str = "the supernet") -> Architecture:
    """``arch`` (of any ``mobile`` space) as an architecture of ``net``'s space; one clear error
    when one of its choices was not trained."""
    from hynas.spaces import get_space

    source = get_space(arch.space) if arch.space == "mobile" else None
    if source is None:
        raise HynasError(f"the mobile supernet scores architectures of space 'mobile', not {arch.space!r}")
    text = source.format(arch) if isinstance(source, MobileSpace) else str(arch)
    return parse_in_space(net.space, text, where)


def parse_in_space(space: MobileSpace, text: str, where: str = "the supernet") -> Architecture:
    """``text`` as an architecture of a supernet's (possibly reduced) ``space``, or one clear error:
    malformed text, or choices the supernet was not trained for (naming the ones it was)."""
    from hynas.spaces import get_space

    try:
        return space.parse(text)
    except HynasError as inner:
        try:
            get_space("mobile").parse(text)
        except HynasError:
            raise HynasError(f"{inner} (in the space of {where})") from None
        raise HynasError(
            f"architecture {text} is outside {where} ({inner}); it was trained for resolutions "
            f"{_slashed(space.resolutions)}, kernels {_slashed(space.kernels)}, expand ratios "
            f"{_slashed(space.expands)}, depths {_slashed(space.depths)}"
        ) from None


def in_registered_space(space: MobileSpace, arch: Architecture) -> Architecture:
    """``arch`` of a supernet's (possibly reduced) ``space`` as the same architecture of the
    registered ``mobile`` space (whose choice lists the genes of a reduced space do not index), or
    one clear error when it has a choice the registered space lacks."""
    from hynas.spaces import get_space

    text = space.format(arch)
    full = get_space("mobile")
    try:
        return full.parse(text)
    except HynasError:
        raise HynasError(
            f"architecture {text} of the supernet's space has choices the mobile space lacks (resolutions "
            f"{_slashed(full.resolutions)}, kernels {_slashed(full.kernels)}, expand ratios "  # type: ignore[attr-defined]
            f"{_slashed(full.expands)}, depths {_slashed(full.depths)}); it cannot be saved as a mobile network"  # type: ignore[attr-defined]
        ) from None


def _slashed(values: tuple[int, ...]) -> str:
    return "/".join(str(v) for v in values)
