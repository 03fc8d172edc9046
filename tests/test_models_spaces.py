"""Every registered space that can build a model: forward shapes, and params equal to the analytic count."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hynas.core.errors import HynasError
from hynas.hw.analytic import analytic_costs
from hynas.hw.measure import example_input
from hynas.spaces import SPACES, get_space


def _built(name: str, seed: int) -> tuple[object, torch.nn.Module]:
    space = get_space(name)
    arch = space.sample(np.random.default_rng(seed))
    try:
        model = space.build(arch)
    except HynasError as exc:
        pytest.skip(f"space {name!r} does not build models: {exc}")
    return arch, model.eval()


@pytest.mark.parametrize("name", SPACES.names())
def test_space_builds_and_runs_forward(name: str) -> None:
    for seed in (0, 1):
        arch, model = _built(name, seed)
        x = example_input(arch, batch=2)  # type: ignore[arg-type]
        with torch.inference_mode():
            out = model(x)
        assert out.shape[0] == 2
        assert torch.isfinite(out).all()
        if name in ("nb201", "mobile"):
            classes = model.classifier.out_features  # type: ignore[union-attr]
            assert out.shape == (2, classes)


@pytest.mark.parametrize("name", SPACES.names())
def test_space_params_equal_analytic_count(name: str) -> None:
    space = get_space(name)
    if not (space.provides("op_graph") or space.provides("lm_config")):
        pytest.skip(f"no analytic cost model for {name!r}")
    for seed in range(3):
        arch, model = _built(name, seed)
        n = sum(p.numel() for p in model.parameters())
        assert analytic_costs(arch)["params"] == n, str(arch)  # type: ignore[arg-type]
