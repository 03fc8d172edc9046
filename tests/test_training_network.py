"""Network files: an extracted sub-network saved as safetensors + JSON comes back as the same module."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from hynas.core.errors import HynasError
from hynas.spaces import get_space
from hynas.supernets import ElasticMobileConfig, ElasticMobileNet, export_subnet, extract
from hynas.training import save_checkpoint
from hynas.training.network import load_network, save_network

torch.set_num_threads(1)


def test_exported_subnet_round_trips(tmp_path: Path) -> None:
    torch.manual_seed(0)
    sn = ElasticMobileNet(config=ElasticMobileConfig(num_classes=7, resolution_scale=0.25)).eval()
    arch = get_space("mobile").parse("r192|k3e4-k5e6|k3e3-k3e3-k5e4|k7e6-k7e6|k3e4-k3e4-k3e4-k3e4|k5e6-k5e6")
    path = export_subnet(sn, arch, tmp_path / "net.safetensors")
    model, got, header = load_network(path)
    assert got == arch and header["options"] == {"num_classes": 7}
    assert header["extra"] == {"input_size": 48, "resolution_scale": 0.25}
    assert header["params"] == sum(p.numel() for p in model.parameters())
    ref = extract(sn, arch).eval()
    assert type(model) is type(ref) and not model.training
    assert all(
        torch.equal(a, b) for a, b in zip(model.state_dict().values(), ref.state_dict().values(), strict=True)
    )
    x = torch.randn(2, 3, 48, 48)
    with torch.no_grad():
        torch.testing.assert_close(model(x), sn(x, arch), rtol=0, atol=1e-5)


def test_any_space_and_clear_errors(tmp_path: Path) -> None:
    space = get_space("nb201")
    arch = space.sample(np.random.default_rng(1))
    net = space.build(arch)
    path = save_network(tmp_path / "nb.safetensors", net, arch)
    model, got, _ = load_network(path)
    assert got == arch and all(
        torch.equal(a, b) for a, b in zip(model.state_dict().values(), net.state_dict().values(), strict=True)
    )
    with pytest.raises(HynasError, match=r"is not space\.build"):
        save_network(tmp_path / "x.safetensors", net, arch, {"num_classes": 100})
    ck = save_checkpoint(tmp_path / "ck.safetensors", model=net, step=0, space="nb201", config={})
    with pytest.raises(HynasError, match="not a hynas network file"):
        load_network(ck)
    raw = path.read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(HynasError, match="not a readable network file"):
        load_network(tmp_path / "cut.safetensors")
