"""``export_subnet`` of a supernet trained on a reduced space: the network file holds the same
architecture in the registered ``mobile`` space (a reduced space's genes index its own choices)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from hynas.core.errors import HynasError
from hynas.spaces import get_space
from hynas.spaces.mobile import MobileSpace
from hynas.supernets import ElasticMobileConfig, ElasticMobileNet, export_subnet, extract
from hynas.supernets.saved import parse_in_space
from hynas.training.network import load_network

torch.set_num_threads(1)
#: no choice list starts like the registered one's, so a gene means another choice in each
SHIFTED = MobileSpace(resolutions=(160, 192), kernels=(5, 7), expands=(4, 6), depths=(3, 4), num_classes=10)
TEXT = "r192|k7e6-k5e4-k7e4|k5e6-k5e4-k7e6-k7e4|k5e4-k5e4-k5e6|k7e4-k5e4-k7e6|k5e6-k7e4-k5e4-k5e4"


def test_a_reduced_space_subnet_is_saved_as_the_same_architecture(tmp_path: Path) -> None:
    torch.manual_seed(0)
    sn = ElasticMobileNet(SHIFTED, ElasticMobileConfig(num_classes=10, resolution_scale=0.125)).eval()
    arch = SHIFTED.parse(TEXT)
    assert arch.genes != get_space("mobile").parse(TEXT).genes  # the bug's precondition
    path = export_subnet(sn, arch, tmp_path / "net.safetensors")
    model, got, header = load_network(path)
    assert header["arch"] == TEXT and got == get_space("mobile").parse(TEXT)
    assert header["extra"]["input_size"] == 24
    ref = extract(sn, arch).eval()
    x = torch.randn(2, 3, 24, 24)
    with torch.no_grad():
        torch.testing.assert_close(model(x), ref(x), rtol=0, atol=0)
        torch.testing.assert_close(model(x), sn(x, arch), rtol=0, atol=1e-5)


def test_a_choice_the_mobile_space_lacks_is_one_line(tmp_path: Path) -> None:
    space = MobileSpace(resolutions=(128,), kernels=(3,), expands=(3,), depths=(1, 2), num_classes=10)
    sn = ElasticMobileNet(space, ElasticMobileConfig(num_classes=10, resolution_scale=0.125)).eval()
    arch = space.parse("r128|k3e3|k3e3|k3e3|k3e3|k3e3")
    with pytest.raises(HynasError, match=r"choices the mobile space lacks .*depths 2/3/4") as info:
        export_subnet(sn, arch, tmp_path / "net.safetensors")
    assert "\n" not in str(info.value) and not (tmp_path / "net.safetensors").exists()


def test_one_outside_message_for_the_evaluator_and_the_export(tmp_path: Path) -> None:
    with pytest.raises(
        HynasError, match=r"outside the thing \(.*\); it was trained for .*kernels 5/7"
    ) as info:
        parse_in_space(SHIFTED, "r192|k3e6-k5e4|k5e6-k5e4|k5e4-k5e4|k7e4-k5e4|k5e6-k7e4", "the thing")
    assert "\n" not in str(info.value)
    with pytest.raises(HynasError, match=r"\(in the space of the thing\)"):
        parse_in_space(SHIFTED, "r192|nonsense", "the thing")
