"""Sub-network extraction: the static network of an architecture with weights inherited from the supernet.

Once-for-all (Cai et al., "Once-for-All: Train One Network and Specialize it for Efficient
Deployment", ICLR 2020) deploys a specialised sub-network by copying its active weights out of the
trained supernet; BigNAS (Yu et al., ECCV 2020) does the same. :func:`extract` returns exactly the
module ``space.build(arch, num_classes=...)`` gives (:class:`~hynas.models.mobile.MobileNet`, same
structure, same state-dict keys and shapes) with the active slice copied in: kernels transformed,
channels sliced, BatchNorm statistics sliced. In eval mode it computes what the supernet computes
for ``arch`` (on an input of the supernet's :meth:`~ElasticMobileNet.input_size`).
"""

from __future__ import annotations

from pathlib import Path

import torch

from hynas.core.arch import Architecture
from hynas.models.mobile import MobileNet, build_mobile
from hynas.supernets.mobile import ElasticMobileNet

__all__ = ["export_subnet", "extract"]


@torch.no_grad()
def extract(supernet: ElasticMobileNet, arch: Architecture) -> MobileNet:
    """The plain :class:`MobileNet` of ``arch`` holding the supernet's weights for it.

    Sets ``arch`` active on the supernet. The result shares no storage with the supernet and is in
    the supernet's train/eval mode.
    """
    supernet.set_active(arch)
    cfg = supernet.space.config(arch)
    with torch.device("meta"):  # no random initialisation: every tensor is loaded below
        net = build_mobile(cfg, num_classes=supernet.config.num_classes)
    assert isinstance(net, MobileNet)
    active = supernet.active_blocks()
    if [b.config() for b in active] != list(cfg.blocks[1:]):  # the space and the supernet disagree: a bug
        raise AssertionError(f"extract: the supernet's blocks for {arch} are not the space's")
    for i, block in enumerate(active, start=1):
        block.export(into=net.blocks[i])  # type: ignore[arg-type]
    device = supernet.classifier.weight.device
    pairs = [(net.stem, supernet.stem), (net.blocks[0], supernet.first_block)]
    pairs += [
        (getattr(net, name), getattr(supernet, name))
        for name in ("final_expand", "feature_mix", "classifier")
    ]
    for dst, src in pairs:
        dst.to_empty(device=device)
        dst.load_state_dict(src.state_dict())
    net.train(supernet.training)
    return net


def export_subnet(supernet: ElasticMobileNet, arch: Architecture, path: str | Path) -> Path:
    """Extract ``arch`` (of the supernet's space, which may be reduced) and save it as a network
    file (:func:`hynas.training.network.save_network`) holding the same architecture of the
    registered ``mobile`` space, recording the input size the supernet runs it at.

    A reduced space's genes index its own choice lists, so the architecture is written as the
    supernet's space formats it and re-read in the registered space (one clear error when it has a
    choice the registered space lacks); :func:`~hynas.training.network.load_network` then rebuilds
    exactly the extracted network."""
    from hynas.supernets.saved import in_registered_space
    from hynas.training.network import save_network

    registered = in_registered_space(supernet.space, arch)
    net = extract(supernet, arch)
    extra = {"input_size": supernet.input_size(), "resolution_scale": supernet.config.resolution_scale}
    return save_network(path, net, registered, {"num_classes": supernet.config.num_classes}, extra)
