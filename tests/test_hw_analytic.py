"""Analytic costs against the built models: params exactly, FLOPs against FlopCounterMode."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.hw.analytic import analytic_costs, arch_ops, input_shape
from hynas.hw.ops import total
from hynas.spaces import get_space


def _counted(arch: Architecture, batch: int = 1, **kw: int) -> tuple[int, int]:
    model = get_space(arch.space).build(arch, **kw).eval()
    counter = FlopCounterMode(display=False)
    with counter, torch.inference_mode():
        model(torch.randn(*input_shape(arch, batch)))
    return sum(p.numel() for p in model.parameters()), counter.get_total_flops()


@pytest.mark.parametrize("name", ["nb201", "mobile"])
def test_params_and_flops_match_built_model(name: str) -> None:
    space = get_space(name)
    rng = np.random.default_rng(3)
    for _ in range(4):
        arch = space.sample(rng)
        costs = analytic_costs(arch, batch=2)
        params, flops = _counted(arch, batch=2)
        assert costs["params"] == params
        assert costs["flops"] == flops
        assert costs["macs"] * 2 == costs["flops"]


def test_nb201_size_options_follow_the_builder() -> None:
    arch = get_space("nb201").parse(
        "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"
    )
    costs = analytic_costs(arch, C=8, N=2, num_classes=100)
    params, flops = _counted(arch, C=8, N=2, num_classes=100)
    assert (costs["params"], costs["flops"]) == (params, flops)


def test_ops_are_ordered_rows_summing_to_totals() -> None:
    arch = get_space("mobile").parse("r160|k3e4-k5e6|k3e3-k3e3-k5e4|k7e6-k7e6|k3e4-k3e4-k3e4-k3e4|k5e6-k5e6")
    ops = arch_ops(arch)
    assert ops[0].kind.startswith("stem") and ops[-1].kind == "linear"
    assert sum(o.kind == "mbconv" for o in ops) == 14
    flops, nbytes, params = total(ops)
    costs = analytic_costs(arch)
    assert (flops, nbytes, params) == (costs["flops"], costs["bytes"], costs["params"])
    # the lookup-table key: blocks at the same place with the same choices share a shape key
    assert ops[1].shape.endswith("_r80")
    # bytes scale with the dtype, FLOPs do not
    half = analytic_costs(arch, dtype_bytes=2)
    assert half["flops"] == costs["flops"] and half["bytes"] == pytest.approx(costs["bytes"] / 2)


def test_flops_scale_with_batch_and_resolution() -> None:
    arch = get_space("mobile").parse("r128|k3e4-k5e6|k3e3-k3e3-k5e4|k7e6-k7e6|k3e4-k3e4-k3e4-k3e4|k5e6-k5e6")
    one, four = analytic_costs(arch), analytic_costs(arch, batch=4)
    assert four["flops"] == 4 * one["flops"]
    assert four["peak_activation_bytes"] == 4 * one["peak_activation_bytes"]
    assert analytic_costs(arch, resolution=224)["flops"] > 2.5 * one["flops"]


def test_peak_activation_nb201_by_hand() -> None:
    """All-conv cell, C=16 at 32×32 (65,536 bytes a map): computing node 2 holds node 0, node 1, both
    edge outputs and their sum: 5 maps."""
    arch = get_space("nb201").parse(
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    )
    fmap = 16 * 32 * 32 * 4
    # node 3 needs at most 4 (node 0 or 1, node 2, the running sum and an edge output)
    assert analytic_costs(arch)["peak_activation_bytes"] == 5 * fmap
    none = get_space("nb201").parse("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    assert analytic_costs(none)["peak_activation_bytes"] <= 6 * fmap


def test_peak_activation_mobile_by_hand() -> None:
    arch = get_space("mobile").parse("r224|k7e6-k7e6|k3e3-k3e3-k5e4|k7e6-k7e6|k3e4-k3e4-k3e4-k3e4|k5e6-k5e6")
    costs = analytic_costs(arch)
    # first stage-1 block (stride 2, no residual, so its 16×112×112 input is freed after the
    # expansion): the depthwise conv reads the 96×112×112 expanded map and writes 96×56×56
    expanded = 4 * (96 * 112 * 112 + 96 * 56 * 56)
    assert costs["peak_activation_bytes"] == expanded


def test_unsupported_space_and_bad_options() -> None:
    arch = get_space("nb201").parse("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    with pytest.raises(HynasError, match="batch must be"):
        analytic_costs(arch, batch=0)
    with pytest.raises(HynasError, match="bad size options"):
        analytic_costs(arch, width=3)
    with pytest.raises(HynasError, match="supported spaces"):
        arch_ops(Architecture("nope", (0,)))
    with pytest.raises(HynasError, match="not a member"):
        arch_ops(Architecture("nb201", (9, 0, 0, 0, 0, 0)))


def test_hybrid_lm_rows_come_from_the_lm_cost_model() -> None:
    space = get_space("hybrid-lm")
    arch = space.sample(np.random.default_rng(0))
    costs = analytic_costs(arch)
    model = space.build(arch)
    assert costs["params"] == sum(p.numel() for p in model.parameters())
    assert costs["flops"] > 0 and "peak_activation_bytes" not in costs
