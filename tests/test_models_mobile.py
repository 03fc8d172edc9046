"""The mobile MBConv space and its networks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hynas.core.errors import HynasError
from hynas.spaces import get_space
from hynas.spaces.mobile import MobileSpace

TEXT = "r192|k3e4-k5e6|k3e3-k3e3-k5e4|k7e6-k7e6|k3e4-k3e4-k3e4-k3e4|k5e6-k5e6"


def test_format_parse_roundtrip_and_canonical_dead_slots() -> None:
    space = get_space("mobile")
    arch = space.parse(TEXT)
    assert str(arch) == TEXT
    rng = np.random.default_rng(0)
    for _ in range(50):
        a = space.sample(rng)
        assert space.parse(str(a)) == a
        assert space.contains(a)
    # changing a gene of a slot past the stage's depth gives the same architecture
    i = space._slot(0, 3)  # type: ignore[attr-defined]
    g = list(arch.genes)
    g[i], g[i + 1] = 2, 2
    assert space.make(g) == arch
    assert not space.contains(type(arch)("mobile", tuple(g)))


def test_neighbours_change_one_decision_and_stay_canonical() -> None:
    space = get_space("mobile")
    arch = space.parse(TEXT)
    nbrs = space.neighbours(arch)
    assert len(nbrs) == len(set(nbrs)) and arch not in nbrs
    # 3 other resolutions + per stage 2 other depths + per present layer 2 kernels + 2 expands
    assert len(nbrs) == 3 + 5 * 2 + 13 * 4
    assert all(space.contains(n) for n in nbrs)


def test_encodings() -> None:
    space = get_space("mobile")
    arch = space.parse(TEXT)
    assert set(space.encodings()) >= {"onehot", "layers", "numeric"}
    layers = space.encode(arch, "layers")
    assert layers.shape == (4 + 5 * 4 * 6,)
    assert layers.sum() == 1 + 2 * 13  # resolution + (kernel, expand) of the 13 present layers
    num = space.encode(arch, "numeric")
    assert num[0] == 192 and list(num[1:6]) == [2, 3, 2, 4, 2]
    assert space.encode(arch, "onehot").sum() == len(space.dims)


def test_parse_errors_name_the_problem() -> None:
    space = get_space("mobile")
    with pytest.raises(HynasError, match="resolution=100"):
        space.parse(TEXT.replace("r192", "r100"))
    with pytest.raises(HynasError, match="kernel=9"):
        space.parse(TEXT.replace("k3e4-k5e6", "k9e4-k5e6", 1))
    with pytest.raises(HynasError, match="depth"):
        space.parse("r192|k3e4|k3e3-k3e3|k7e6-k7e6|k3e4-k3e4|k5e6-k5e6")
    with pytest.raises(HynasError, match="stages"):
        space.parse("r192|k3e4-k5e6")
    with pytest.raises(HynasError, match="kernels must be odd"):
        MobileSpace(kernels=(3, 4))


def test_mobile_network_structure() -> None:
    space = get_space("mobile")
    arch = space.parse(TEXT)
    cfg = space.config(arch)  # type: ignore[attr-defined]
    assert len(cfg.blocks) == 1 + 13
    assert [b.stride for b in cfg.blocks if b.stride == 2] == [2, 2, 2, 2]
    model = space.build(arch, num_classes=5).eval()
    with torch.inference_mode():
        out = model(torch.randn(1, 3, 192, 192))
    assert out.shape == (1, 5)
    # resolution 192 is reduced 32× before the head: final feature map 6×6
    with torch.inference_mode():
        feats = model.blocks(model.stem(torch.randn(1, 3, 192, 192)))  # type: ignore[operator]
    assert feats.shape == (1, 160, 6, 6)
