"""The parts of differentiable search without training: layouts, per-operation costs, the hardware
term, the gates each method builds, partial channels, and the mobile mixed-op supernet; plus one
slow end-to-end latency-targeted search on the mobile space from the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from cli_util import invoke_cli
from fmnist_util import need_fmnist
from hynas.core.errors import HynasError
from hynas.core.metrics import resolve_cost_model
from hynas.differentiable.cost import (
    CostTable,
    derived_penalty,
    estimated_penalty,
    hardware_loss,
    penalty,
    sampled_penalty,
)
from hynas.differentiable.layout import SKIP, layout_for
from hynas.differentiable.rules import entropy, gates_for, temperature
from hynas.differentiable.supernet import MixedOp, MobileSupernet, NB201Supernet
from hynas.spaces import get_space


def test_mobile_layout_decodes_skips_as_shallower_stages():
    sp = get_space("mobile")
    lay = layout_for(sp, "fbnet", resolution=160)
    assert len(lay.slots) == 20 and len(lay.choices[0]) == 9 and lay.choices[2][-1] == SKIP
    picks = [0] * 20
    picks[2] = lay.choices[2].index(SKIP)  # stage 1 slot 2 skipped, slot 3 kept: depth 3
    picks[6] = picks[7] = lay.choices[6].index(SKIP)  # stage 2: depth 2
    arch = lay.decode(picks)
    assert (
        str(arch)
        == "r160|k3e3-k3e3-k3e3|k3e3-k3e3|k3e3-k3e3-k3e3-k3e3|k3e3-k3e3-k3e3-k3e3|k3e3-k3e3-k3e3-k3e3"
    )
    with pytest.raises(HynasError, match="resolution 100 is not a choice"):
        layout_for(sp, "fbnet", resolution=100)
    with pytest.raises(HynasError, match="does not support space 'ecnas'"):
        layout_for(get_space("ecnas"), "darts")


@pytest.mark.parametrize("metric", ["latency@roofline:raspi4", "flops", "params"])
def test_per_operation_costs_are_exact_for_layer_additive_costs(metric):
    """On the mobile space the roofline latency, FLOPs and parameters add up over layers, so the
    per-choice table predicts every network's cost exactly (here 30 random ones)."""
    sp = get_space("mobile")
    lay = layout_for(sp, "fbnet")
    model = resolve_cost_model(metric, sp)
    table = CostTable.build(metric, lay, model)
    rng = np.random.default_rng(1)
    for _ in range(30):
        picks = [int(rng.integers(len(c))) for c in lay.choices]
        assert table.predict(picks) == pytest.approx(model(lay.decode(picks)), rel=1e-9)
    # the smallest network: every skippable slot skipped, the cheapest block elsewhere
    assert table.smallest_arch == "r128|" + "|".join(["k3e3-k3e3"] * 5)
    assert table.smallest == pytest.approx(model(sp.parse(table.smallest_arch)))
    with pytest.raises(HynasError, match="below the smallest network"):
        table.check_target(table.smallest * 0.9, "fbnet")
    table.check_target(table.smallest * 1.1, "fbnet")


def test_expected_cost_is_the_probability_weighted_table():
    lay = layout_for(get_space("mobile"), "proxyless")
    model = resolve_cost_model("latency@roofline:raspi4", lay.space)
    table = CostTable.build("lat", lay, model)
    one_hot = [torch.nn.functional.one_hot(torch.tensor(len(c) - 1), len(c)).float() for c in lay.choices]
    picks = [len(c) - 1 for c in lay.choices]
    assert float(table.expected(one_hot)) == pytest.approx(model(lay.decode(picks)), rel=1e-6)
    uniform = [torch.full((len(c),), 1 / len(c)) for c in lay.choices]
    mean = table.base + sum(sum(r) / len(r) for r in table.deltas)
    assert float(table.expected(uniform)) == pytest.approx(mean, rel=1e-6)


@pytest.mark.parametrize("style", ["additive", "multiplicative"])
def test_hardware_term_pushes_the_expected_cost_down_and_respects_a_target(style):
    ce = torch.tensor(2.0)
    a = torch.zeros(5, requires_grad=True)
    costs = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0])
    kw = {"scale": 3.0}

    def hardware(cost, target):
        r = penalty(cost, target=target, **kw)
        return hardware_loss(ce, r, style=style, weight=1.0, beta=0.6)

    loss = hardware((torch.softmax(a, 0) * costs).sum(), target=None)
    (g,) = torch.autograd.grad(loss, a)
    assert g[0] < 0 < g[4]  # gradient descent raises the cheap op's weight, lowers the dear one's
    below = hardware(torch.tensor(2.5), target=3.0)
    above = hardware(torch.tensor(4.5), target=3.0)
    assert float(below) == pytest.approx(2.0) and float(above) > 2.0
    # TuNAS's absolute value: below the target costs too, equally far on either side, zero on it
    kw["target_style"] = "absolute"
    below, above = (hardware(torch.tensor(v), target=3.0) for v in (2.4, 3.6))
    assert float(below) > 2.0 and float(below) == pytest.approx(float(above))
    assert float(hardware(torch.tensor(3.0), target=3.0)) == pytest.approx(2.0)


def _toy_table(costs):
    return CostTable("lat", 0.0, (tuple(costs),), min(costs), "toy")


def test_sampled_penalty_is_the_mean_penalty_of_drawn_networks():
    table = _toy_table([20.0, 29.0, 36.0])
    p = torch.softmax(torch.tensor([0.0, 0.5, 1.0]), 0)
    torch.manual_seed(0)
    costs, logp = table.sample([p], 5000)
    freq = torch.bincount((costs == 29.0).long() + 2 * (costs == 36.0).long(), minlength=3).float() / 5000
    assert torch.allclose(freq, p, atol=0.03)  # drawn with the slot's probabilities
    assert torch.allclose(logp, torch.log(p)[torch.bucketize(costs, torch.tensor([20.0, 29.0, 36.0]))])
    kw = {"scale": 1.0, "target": 28.0, "target_style": "absolute"}
    torch.manual_seed(0)
    r = sampled_penalty(table, [p], 20000, **kw)
    exact = float((p * penalty(torch.tensor([20.0, 29.0, 36.0]), **kw)).sum())
    assert float(r) == pytest.approx(exact, rel=0.02)


@pytest.mark.parametrize("estimate", ["expected", "sampled"])
def test_a_sampled_cost_term_concentrates_alpha_on_the_target_an_expected_one_need_not(estimate):
    """Choices costing 20, 29 and 36 with target 28: an even mix of 20 and 36 has expected cost 28
    (no expected penalty) but derives the 20 network; the expected penalty of sampled networks is
    smallest on the 29 choice alone (TuNAS)."""
    table = _toy_table([20.0, 29.0, 36.0])
    kw = {"scale": 1.0, "target": 28.0, "target_style": "absolute"}
    a = torch.tensor([1.0, -1.0, 1.0], requires_grad=True)  # starts as a mix of 20 and 36
    opt = torch.optim.Adam([a], lr=0.05)
    torch.manual_seed(0)
    for _ in range(300):
        p = torch.softmax(a, 0)
        r = (
            penalty(table.expected([p]), **kw)
            if estimate == "expected"
            else sampled_penalty(table, [p], 64, **kw)
        )
        opt.zero_grad()
        r.backward()
        opt.step()
    p = torch.softmax(a.detach(), 0)
    if estimate == "sampled":
        assert int(p.argmax()) == 1 and float(p[1]) > 0.9, p
    else:
        assert float(table.expected([p])) == pytest.approx(28.0, abs=0.5) and float(p[1]) < 0.5, p


def test_derived_penalty_is_the_derived_networks_with_the_expected_costs_gradient():
    table = _toy_table([20.0, 29.0, 36.0])
    kw = {"scale": 1.0, "target": 28.0, "target_style": "absolute"}
    a = torch.tensor([1.0, -1.0, 1.0], requires_grad=True)  # expected cost 28: no expected penalty
    for pick, sign in ((0, 1), (2, -1)):
        r = derived_penalty(table, [torch.softmax(a, 0)], [pick], **kw)
        assert float(r.detach()) == pytest.approx(abs((20.0, 29.0, 36.0)[pick] / 28.0 - 1))
        (g,) = torch.autograd.grad(r, a)
        # below the target descent moves mass to the dear choice, above it to the cheap one
        assert sign * g[0] > 0 > sign * g[2]


def test_the_derived_estimate_follows_alpha_not_fbnets_gumbel_draw():
    """FBNet's choice probabilities are a Gumbel-softmax draw; the derived network is argmax α, so
    its penalty's gradient is that of the expected cost under softmax(α), whatever the draw (with
    the draw's, FBNet's derived network overshot a 28 ms target by 12.6 %)."""
    table = _toy_table([20.0, 29.0, 36.0])
    kw = {"samples": 8, "scale": 1.0, "target": 28.0, "target_style": "absolute"}
    a = torch.tensor([1.0, -1.0, 0.9], requires_grad=True)
    grads = {}
    for estimate in ("derived", "expected"):
        for draw in range(2):
            torch.manual_seed(draw)
            gumbel = torch.softmax(a + -torch.log(-torch.log(torch.rand(3))), 0)
            r = estimated_penalty(table, estimate, [a], [gumbel], **kw)
            (grads[estimate, draw],) = torch.autograd.grad(r, a)
    want = derived_penalty(table, [torch.softmax(a, 0)], [0], scale=1.0, target=28.0, target_style="absolute")
    (g_want,) = torch.autograd.grad(want, a)
    assert torch.allclose(grads["derived", 0], g_want) and torch.allclose(grads["derived", 1], g_want)
    assert not torch.allclose(grads["expected", 0], grads["expected", 1])  # the draw moves this one


def test_entropy_term_is_zero_for_one_choice_one_for_uniform_and_sharpens_alpha():
    certain, uniform = torch.tensor([30.0, 0.0, 0.0]), torch.zeros(5)
    assert float(entropy([certain])) == pytest.approx(0.0, abs=1e-6)
    assert float(entropy([uniform])) == pytest.approx(1.0)
    assert float(entropy([certain, uniform])) == pytest.approx(0.5, abs=1e-6)
    a = torch.tensor([0.3, 0.1, 0.0], requires_grad=True)
    (g,) = torch.autograd.grad(entropy([a]), a)
    assert g[0] < 0 < g[2]  # descent raises the leading choice, lowers the others


def test_gates_of_each_method():
    torch.manual_seed(0)
    alphas = [torch.nn.Parameter(torch.randn(5)) for _ in range(6)]
    soft, _ = gates_for("darts", alphas, "arch", 1.0)
    assert all(
        act is None and torch.allclose(w, torch.softmax(a, 0))
        for (w, act), a in zip(soft, alphas, strict=True)
    )
    hard, _ = gates_for("gdas", alphas, "arch", 1.0)
    assert all(len(act) == 1 and float(w.detach()[act[0]]) == pytest.approx(1.0) for w, act in hard)
    one, _ = gates_for("proxyless", alphas, "weights", 1.0)
    assert all(len(act) == 1 and not w.requires_grad for w, act in one)
    two, _ = gates_for("proxyless", alphas, "arch", 1.0)
    for (w, act), a in zip(two, alphas, strict=True):
        assert len(set(act)) == 2 and sorted(float(w.detach()[i]) for i in act) == pytest.approx([0.0, 1.0])
        # BinaryConnect's estimator: dL/dα_i = Σ_j dL/dg_j p_j (δ_ij − p_i) over the two paths
        upstream = torch.randn(5)
        (grad,) = torch.autograd.grad((w * upstream).sum(), a)
        p = torch.softmax(a.detach()[act], 0)
        for k, i in enumerate(act):
            want = sum(float(upstream[j]) * float(p[m]) * ((m == k) - float(p[k])) for m, j in enumerate(act))
            assert float(grad[i]) == pytest.approx(want, abs=1e-6)
        assert all(float(grad[i]) == 0.0 for i in range(5) if i not in act)
    assert temperature("gdas", 0, 10, 10.0, 0.1) == 10.0 and temperature(
        "gdas", 9, 10, 10.0, 0.1
    ) == pytest.approx(0.1)
    assert temperature("fbnet", 5, 11, 5.0, 0.05) == pytest.approx(0.5)


def test_partial_channels_and_the_supernets_forward():
    lay = layout_for(get_space("nb201"), "pcdarts")
    from hynas.models.nb201 import nb201_op

    op = MixedOp([nb201_op(o, 2) for o in lay.choices[0]], partial=4)
    x = torch.randn(3, 8, 6, 6)
    w = torch.softmax(torch.randn(5), 0)
    y = op(x, w)
    assert y.shape == x.shape
    # 6 of the 8 channels bypass the operations (shuffled into every 4th-ish place): they are unchanged
    kept = {tuple(x[:, c].flatten().tolist()) for c in range(2, 8)}
    assert sum(tuple(y[:, c].flatten().tolist()) in kept for c in range(8)) == 6
    net = NB201Supernet(lay, channels=8, cells=1, partial=4)
    gates = [(torch.softmax(torch.zeros(5), 0), None)] * 6
    ew = [torch.ones(n) / n for n in (1, 2, 3)]
    assert net(torch.randn(2, 1, 28, 28), gates, ew).shape == (2, 10)
    assert not any(b.numel() for b in net.buffers())  # batch statistics only
    mob = layout_for(get_space("mobile"), "fbnet")
    mnet = MobileSupernet(mob)
    mgates = [(torch.ones(len(c)), [len(c) - 1]) for c in mob.choices]
    assert mnet(torch.randn(2, 3, 32, 32), mgates).shape == (2, 10)


@pytest.mark.slow
def test_fbnet_with_a_latency_target_on_mobile_from_the_cli(tmp_path):
    """`hynas search --space mobile --strategy fbnet` with a latency target: trials are mobile
    networks scored by the space's own evaluator and cost model; the α history holds the skips."""
    need_fmnist()
    store = str(tmp_path / "m.db")
    args = [
        "search", "--space", "mobile", "--strategy", "fbnet", "--budget", "2", "--store", store, "--json",
        "--evaluator-option", "steps=[3]", "--evaluator-option", "resolution_scale=0.125",
        "--evaluator-option", "eval_images=100", "--evaluator-option", "bn_images=50",
        "-o", "train_images=32", "-o", "val_images=32", "-o", "eval_images=50", "-o", "batch=8", "-o", "steps=2",
        "-o", "resolution_scale=0.125", "-o", "cost=latency@roofline:raspi4", "-o", "target=25",
    ]  # fmt: skip
    code, out = invoke_cli(args)
    assert code == 0, out
    summary = json.loads(out[out.index("{") :])
    assert summary["trials"] == 2 and summary["config"]["space"] == "mobile"
    doc = json.loads((tmp_path / "m-differentiable" / "alphas.json").read_text())
    assert len(doc["epochs"]) == 2 and "skip" in doc["epochs"][0]["op_mix"]
    bad = [a.replace("target=25", "target=5").replace(store, str(tmp_path / "n.db")) for a in args]
    code, out = invoke_cli(bad)
    assert code == 2 and "below the smallest network" in out and len(out.strip().splitlines()) == 1
    assert not (tmp_path / "n-differentiable").exists() and not (tmp_path / "n.db").exists()


def test_hynas_list_shows_the_methods_and_their_options():
    from hynas.catalog import catalog, strategy_options
    from hynas.differentiable import METHODS

    _, rows = catalog("strategies")["strategies"]
    assert {r[0] for r in rows} >= set(METHODS)
    _, opts = strategy_options()
    assert any(r[1] == "target" and "darts" in r[0] for r in opts)
