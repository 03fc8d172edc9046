"""Zero-cost proxies on small real PyTorch models, and the ``zc@`` objective resolver."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from hynas.core.errors import HynasError
from hynas.core.experiment import ExperimentConfig
from hynas.proxies import PROXIES, make_batch, score
from hynas.wiring import Experiment


def _net(width: int = 8, depth: int = 2, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    layers: list[nn.Module] = [nn.Conv2d(3, width, 3, padding=1), nn.BatchNorm2d(width)]
    for _ in range(depth - 1):
        layers += [nn.ReLU(), nn.Conv2d(width, width, 3, padding=1), nn.BatchNorm2d(width)]
    layers += [nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, 10)]
    return nn.Sequential(*layers)


@pytest.mark.parametrize("proxy", list(PROXIES))
def test_proxy_is_finite_and_deterministic(proxy):
    m = _net()
    a = score(m, proxy, batch=16, shape=(3, 8, 8))
    b = score(m, proxy, batch=16, shape=(3, 8, 8))
    assert np.isfinite(a) and a == b
    # the model itself is not modified by scoring
    assert score(m, proxy, batch=16, shape=(3, 8, 8)) == a


def test_synflow_matches_the_closed_form_on_a_linear_net():
    """For a bias-free linear chain, synflow = Σ_l Σ |W_l| * (path sums) = 2 × Π|W| for two layers."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(4, 3, bias=False), nn.Linear(3, 1, bias=False))
    w1, w2 = net[1].weight.detach().abs(), net[2].weight.detach().abs()
    r = float((w2 @ w1).sum())  # R = 1ᵀ |W2| |W1| 1
    assert score(net, "synflow", batch=2, shape=(4,)) == pytest.approx(2 * r, rel=1e-6)


def test_wider_nets_score_higher_on_size_sensitive_proxies():
    small, big = _net(width=4), _net(width=16, depth=3)
    for proxy in ("synflow", "snip", "naswot"):
        assert score(big, proxy, batch=16, shape=(3, 8, 8)) > score(small, proxy, batch=16, shape=(3, 8, 8))


def test_naswot_kernel_counts_distinct_codes():
    """Identical inputs give identical codes: a singular kernel, so the log-determinant collapses."""
    m = _net()
    x, y = make_batch(8, (3, 8, 8))
    from hynas.proxies import naswot

    distinct = naswot(m, x, y)
    same = naswot(m, x[:1].repeat(8, 1, 1, 1), y)
    assert distinct > same


def test_unknown_proxy_and_no_relu():
    with pytest.raises(HynasError, match="valid: synflow"):
        score(_net(), "fisher")
    lin = nn.Sequential(nn.Flatten(), nn.Linear(12, 2))
    with pytest.raises(HynasError, match="ReLU"):
        score(lin, "naswot", batch=4, shape=(3, 2, 2))


@pytest.mark.slow
def test_zc_objective_resolver_errors():
    with pytest.raises(HynasError, match="zc@synflow"):
        Experiment(ExperimentConfig(strategy="random", objectives=("zc@fisher",), budget=2))


@pytest.mark.slow
def test_zc_objective_on_nb201_models():
    """zc@naswot as a search objective on the real NAS-Bench-201 network (space.build)."""
    from hynas.report.analysis import run_front  # noqa: F401 - import check only
    from hynas.runners.evaluate import evaluate_candidate

    exp = Experiment(ExperimentConfig(strategy="random", objectives=("accuracy", "zc@naswot"), budget=2))
    (c,) = exp.strategy.ask(1)
    rec = evaluate_candidate(exp, 0, c)
    assert rec.ok, rec.error
    again = exp.cost_models["zc@naswot"](c.arch)
    assert np.isfinite(rec.metrics["zc@naswot"]) and rec.metrics["zc@naswot"] == again
    assert exp.objectives[1].direction == "max"


@pytest.mark.parametrize("proxy", ["synflow", "snip", "grad_norm"])
def test_token_models_get_token_batches(proxy):
    """On the hybrid LM (token ids in, per-token logits out) the gradient proxies score the real
    network on token batches with next-token labels: finite, and the same on a second model."""
    from hynas.core.metrics import resolve_cost_model
    from hynas.spaces import get_space

    space = get_space("hybrid-lm")
    arch = space.sample(np.random.default_rng(3))
    a = resolve_cost_model(f"zc@{proxy}", space)(arch)
    b = resolve_cost_model(f"zc@{proxy}", space)(arch)
    assert np.isfinite(a) and a > 0 and a == b


@pytest.mark.parametrize(("proxy", "why"), [("jacov", "token ids"), ("naswot", "no nn.ReLU")])
def test_proxies_a_space_cannot_give_are_refused_before_any_trial(proxy, why):
    from hynas.core.metrics import resolve_cost_model
    from hynas.spaces import get_space

    with pytest.raises(HynasError, match=why):
        resolve_cost_model(f"zc@{proxy}", get_space("hybrid-lm"))


def test_image_spaces_are_scored_at_their_own_input_shape():
    """The mobile space's networks read images at the architecture's resolution gene; the batch
    follows it (a 32x32 batch for every arch would score a network at a size it never sees)."""
    from hynas.core.metrics import resolve_cost_model
    from hynas.spaces import get_space

    space = get_space("mobile")
    model = resolve_cost_model("zc@synflow", space)
    seen: list[tuple[int, ...]] = []
    for i in range(40):
        arch = space.sample(np.random.default_rng(i))
        x, _y = model._inputs(arch, None)
        seen.append(tuple(x.shape[1:]))
        assert tuple(x.shape[1:]) == space.input_shape(arch, 1)[1:]
    assert len(set(seen)) > 1


def test_naswot_is_finite_and_lowest_for_a_network_whose_codes_are_all_equal():
    """All inputs get one ReLU code (an all-zero network): the kernel is singular; the score is
    finite and below that of a network that tells its inputs apart."""
    from hynas.proxies import naswot

    dead = _net()
    with torch.no_grad():
        for p in dead.parameters():
            p.zero_()
    x, y = make_batch(16, (3, 8, 8))
    low, high = naswot(dead, x, y), naswot(_net(), x, y)
    assert np.isfinite(low) and np.isfinite(high) and low < high
