"""The elastic mobile supernet: elastic kernel / expand / depth / resolution, channel sorting, extraction."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.hw.analytic import analytic_costs
from hynas.spaces import get_space
from hynas.supernets import ElasticMobileConfig, ElasticMobileNet, extract

torch.set_num_threads(1)
SPACE = get_space("mobile")
CFG = ElasticMobileConfig(num_classes=10, resolution_scale=0.25)


def _supernet(seed: int = 0) -> ElasticMobileNet:
    """A supernet with non-trivial kernel transforms and BatchNorm statistics (as after training)."""
    torch.manual_seed(seed)
    net = ElasticMobileNet(config=CFG)
    with torch.no_grad():
        for name, p in net.named_parameters():
            if "kernel_transforms" in name:
                p.add_(0.2 * torch.randn_like(p))
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.normal_(0.0, 0.2)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0.0, 0.1)
    return net.eval()


def _archs(seed: int, n: int) -> list[Architecture]:
    rng = np.random.default_rng(seed)
    return [SPACE.sample(rng) for _ in range(n)]


SUPERNET = _supernet()


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_extracted_subnet_is_the_built_network_and_computes_the_same(seed: int) -> None:
    archs = _archs(seed, 8)  # 40 random architectures over the five seeds
    if seed == 0:
        archs += [SUPERNET.largest(), SUPERNET.smallest()]
    for arch in archs:
        net = extract(SUPERNET, arch)
        ref = SPACE.build(arch, num_classes=10)
        assert type(net) is type(ref)
        assert all(t.device.type == "cpu" for t in net.state_dict().values())  # nothing left unloaded
        assert [(k, v.shape) for k, v in net.state_dict().items()] == [
            (k, v.shape) for k, v in ref.state_dict().items()
        ]
        assert str(net) == str(ref)
        size = SUPERNET.input_size()
        assert size == round(SPACE.config(arch).resolution / 4)  # type: ignore[attr-defined]
        params = sum(p.numel() for p in net.parameters())
        costs = analytic_costs(arch, resolution=size, num_classes=10)
        assert params == sum(p.numel() for p in ref.parameters()) == costs["params"]
        x = torch.randn(2, 3, size, size)
        counter = FlopCounterMode(display=False)
        with counter, torch.no_grad():
            y_net = net.eval()(x)
        assert counter.get_total_flops() == costs["flops"] * 2  # batch 2
        with torch.no_grad():
            y_super = SUPERNET(x, arch)
        torch.testing.assert_close(y_super, y_net, rtol=0, atol=1e-5)


def test_extracted_network_owns_its_weights() -> None:
    arch = SUPERNET.largest()
    net = extract(SUPERNET, arch)
    before = SUPERNET.stages[0][0].expand.conv.weight.clone()  # type: ignore[index,union-attr]
    with torch.no_grad():
        for p in net.parameters():
            p.zero_()
    assert torch.equal(SUPERNET.stages[0][0].expand.conv.weight, before)  # type: ignore[index,union-attr]


def test_elastic_kernel_is_transformed_centre() -> None:
    torch.manual_seed(0)
    net = ElasticMobileNet(config=CFG)
    dw = net.stages[1][0].depthwise  # type: ignore[index]
    w7 = dw.conv.weight
    # identity transforms (the initial state): plain centre crops
    assert torch.equal(dw.active_weight(8, 5), w7[:8, :, 1:6, 1:6])
    assert torch.equal(dw.active_weight(8, 3), w7[:8, :, 2:5, 2:5])
    assert torch.equal(dw.active_weight(8, 7), w7[:8])
    # learned transforms: 5 = M75 · centre5(w7); 3 = M53 · centre3(5)
    with torch.no_grad():
        for p in dw.kernel_transforms.values():
            p.copy_(torch.randn_like(p))
    m75, m53 = dw.kernel_transforms["7to5"], dw.kernel_transforms["5to3"]
    w5 = (w7[:8, :, 1:6, 1:6].reshape(8, 25) @ m75.T).reshape(8, 1, 5, 5)
    w3 = (w5[:, :, 1:4, 1:4].reshape(8, 9) @ m53.T).reshape(8, 1, 3, 3)
    torch.testing.assert_close(dw.active_weight(8, 5), w5)
    torch.testing.assert_close(dw.active_weight(8, 3), w3)
    # training a k3 network trains both transforms; a k7 network leaves them alone
    x = torch.randn(2, 3, 32, 32)
    for layer, expect_grad in (("k3e4", True), ("k7e4", False)):
        net.zero_grad(set_to_none=True)
        arch = SPACE.parse("r128|" + "|".join([f"{layer}-{layer}"] * 5))
        net.train()(x, arch).sum().backward()
        assert (m75.grad is not None) == expect_grad and (m53.grad is not None) == expect_grad


def test_elastic_depth_and_expand_use_only_the_active_part() -> None:
    net = _supernet(1)
    arch = SPACE.parse("r128|k3e3-k5e4|k3e3-k3e3-k5e4|k7e6-k7e6|k3e4-k3e4-k3e4|k5e6-k5e6")
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        y = net(x, arch)
        # blocks past a stage's depth and expanded channels past the active width are not used
        for p in net.stages[0][2].parameters():  # type: ignore[index]
            p.normal_()
        block = net.stages[0][0]  # type: ignore[index]
        c = block.mid_channels(3)  # type: ignore[operator]
        assert c == 48 and block.expand.conv.weight.shape[0] == 96  # type: ignore[union-attr]
        block.expand.conv.weight[c:].normal_()  # type: ignore[union-attr,index]
        block.depthwise.conv.weight[c:].normal_()  # type: ignore[union-attr,index]
        block.project.conv.weight[:, c:].normal_()  # type: ignore[union-attr,index]
        torch.testing.assert_close(net(x), y, rtol=0, atol=0)
        block.project.conv.weight[:, c - 1].normal_()  # type: ignore[union-attr,index]
        assert not torch.equal(net(x), y)
    # training a sub-network updates only the active BatchNorm statistics
    bn = block.expand_bn  # type: ignore[union-attr]
    stats = bn.running_mean.clone()  # type: ignore[union-attr,operator]
    net.train()(x)
    assert torch.equal(bn.running_mean[c:], stats[c:])  # type: ignore[index]
    assert not torch.equal(bn.running_mean[:c], stats[:c])  # type: ignore[index]


def test_elastic_resolution_resizes_the_input() -> None:
    arch = SPACE.parse("r160|k3e3-k5e4|k3e3-k3e3-k5e4|k7e6-k7e6|k3e4-k3e4-k3e4|k5e6-k5e6")
    x = torch.randn(2, 3, 28, 28)
    with torch.no_grad():
        y = SUPERNET(x, arch)
        assert SUPERNET.input_size() == 40
        z = extract(SUPERNET, arch).eval()(
            F.interpolate(x, size=(40, 40), mode="bilinear", align_corners=False)
        )
    torch.testing.assert_close(y, z, rtol=0, atol=1e-5)


def test_reorganize_channels_keeps_the_largest_network_and_sorts_by_importance() -> None:
    net = _supernet(2)
    unsorted = copy.deepcopy(net)
    largest = net.largest()
    x = torch.randn(2, 3, 56, 56)
    small = SPACE.parse("r224|k3e3-k3e3|k3e3-k3e3|k3e3-k3e3|k3e3-k3e3|k3e3-k3e3")
    net.reorganize_channels()
    with torch.no_grad():
        torch.testing.assert_close(net(x, largest), unsorted(x, largest), rtol=1e-5, atol=1e-5)
        assert not torch.allclose(net(x, small), unsorted(x, small), atol=1e-3)
        # in training mode too (batch statistics are per channel)
        torch.testing.assert_close(
            net.train()(x, largest), unsorted.train()(x, largest), rtol=1e-5, atol=1e-5
        )
    for stage in net.stages:
        for block in stage:
            importance = block.project.conv.weight.abs().sum((0, 2, 3))  # type: ignore[union-attr]
            assert torch.all(importance[:-1] >= importance[1:])
            if block.se is not None:  # type: ignore[union-attr]
                se_imp = block.se.expand.weight.abs().sum((0, 2, 3))  # type: ignore[union-attr]
                assert torch.all(se_imp[:-1] >= se_imp[1:])
    # sorting twice changes nothing more
    state = {k: v.clone() for k, v in net.state_dict().items()}
    net.reorganize_channels()
    assert all(torch.equal(state[k], v) for k, v in net.state_dict().items())


def test_bad_architectures_and_options_are_refused() -> None:
    nb201 = get_space("nb201").sample(np.random.default_rng(0))
    with pytest.raises(HynasError, match="space 'mobile'"):
        SUPERNET.set_active(nb201)
    with pytest.raises(HynasError, match="num_classes"):
        ElasticMobileConfig(num_classes=0)
    with pytest.raises(HynasError, match="resolution_scale"):
        ElasticMobileConfig(resolution_scale=0)
    with pytest.raises(HynasError, match="not in the supernet"):
        SUPERNET.stages[0][0].set_active(9, 6)  # type: ignore[index,operator]


def test_training_mode_outputs_and_gradients_are_the_extracted_networks() -> None:
    """Weight sharing is exact: in train mode (batch statistics) the supernet and the extracted
    network compute the same loss, and the gradient of a shared weight is the extracted weight's
    gradient on the active slice and zero elsewhere."""
    net = _supernet(3).train()
    arch = SPACE.parse("r160|k7e4-k7e3|k7e6-k7e3-k7e4|k7e3-k7e6|k7e4-k7e4-k7e4-k7e3|k7e6-k7e3")
    sub = extract(net, arch).train()
    x, y = torch.randn(4, 3, 40, 40), torch.randint(0, 10, (4,))
    loss_super = F.cross_entropy(net(x, arch), y)
    loss_sub = F.cross_entropy(sub(x), y)
    torch.testing.assert_close(loss_super, loss_sub, rtol=1e-5, atol=1e-6)
    loss_super.backward()
    loss_sub.backward()
    block = net.stage_blocks(1)[2]  # k7e4, input 40 channels: 160 of 240 expanded channels
    static = sub.blocks[1 + 2 + 2].body  # type: ignore[index]  # first block, stage 1 (2 blocks), third of stage 2
    c = block.mid_channels(4)
    assert c == 160 and block.expand.conv.weight.shape[0] == 240
    expand_grad = block.expand.conv.weight.grad
    dw_grad = block.depthwise.conv.weight.grad
    assert expand_grad is not None and dw_grad is not None
    torch.testing.assert_close(expand_grad[:c], static[0].weight.grad, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(dw_grad[:c], static[3].weight.grad, rtol=1e-4, atol=1e-6)
    assert not expand_grad[c:].any() and not dw_grad[c:].any()
    assert net.stage_blocks(1)[3].expand.conv.weight.grad is None  # the stage runs 3 of 4 blocks
