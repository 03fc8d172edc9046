"""The cost-model contract (:class:`hynas.core.metrics.CostModel`), as reusable checks.

``check_cost_model(name, space, archs, larger=None)`` resolves ``name`` for ``space`` the way a
search does (:func:`hynas.core.metrics.resolve_cost_model`) and checks:

- **declared**: the model's metric is ``name`` (a parametrised name may be normalised, so the
  part before ``@`` must match) with direction ``min`` or ``max``;
- **finite**: every value on ``archs`` is a finite number;
- **deterministic**: asking again, and asking a freshly resolved model, gives the same values
  (models with randomness, such as zero-cost proxies, seed it); ``measured=True`` (latency
  measured on this machine) checks only the repeat within one model, which caches;
- **direction honoured**: as an objective the metric keeps its declared direction and the strategy
  minimises the value itself (``min``) or its negation (``max``); a cost (``min``) does not fall
  from a network to a ``larger`` one: ``larger=(small, big)`` names such a pair;
- **stored values**: where ``stored_values()`` gives every architecture's value, those are the
  computed ones.

``built_lm_counts(cfg, context)`` counts what the analytic language-model costs
(:mod:`hynas.hw.lm_costs`) predict on the built network itself, on PyTorch's meta device: the
ground truth their tests and ``bench/hybrid.py`` compare with.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hynas.core.arch import Architecture
from hynas.core.metrics import CostModel, resolve_cost_model
from hynas.core.space import SearchSpace
from hynas.core.strategy import Candidate
from hynas.testing._assert import expect, finite

__all__ = ["built_lm_counts", "check_cost_model", "resolve"]


def resolve(name: str, space: SearchSpace) -> CostModel:
    model = resolve_cost_model(name, space)
    expect(model is not None, f"cost model {name!r} does not resolve for space {space.name!r}")
    assert model is not None  # for the type checker
    return model


def check_cost_model(
    name: str,
    space: SearchSpace,
    archs: Sequence[Architecture],
    larger: tuple[Architecture, Architecture] | None = None,
    measured: bool = False,
    search: bool = True,
) -> None:
    """Every rule of the module docstring; ``archs`` are members of ``space``. ``search=False``
    leaves out the direction check through a search (it builds the space's default evaluator,
    which may need data the machine lacks)."""
    where = f"cost model {name!r} on {space.name!r}"
    model = resolve(name, space)
    info = model.info
    expect(info.name.split("@")[0] == name.split("@")[0], f"{where} declares the metric {info.name!r}")
    expect(info.direction in ("min", "max"), f"{where} has direction {info.direction!r}")
    values = [model(a) for a in archs]
    for a, v in zip(archs, values, strict=True):
        expect(finite(v), f"{where}: {v!r} for {a} is not a finite number")
    expect([model(a) for a in archs] == values, f"{where}: asked twice, the values differ")
    if not measured:
        again = resolve(name, space)
        expect([again(a) for a in archs] == values, f"{where}: a freshly resolved model gives other values")
    if search:
        _check_direction(where, name, space, info.direction, archs[0], values[0])
    if larger is not None and info.direction == "min":
        small, big = (model(a) for a in larger)
        expect(big >= small, f"{where}: the larger network {larger[1]} costs less ({big} < {small})")
    stored = model.stored_values()
    if stored is not None:
        index = {a: i for i, a in enumerate(space.enumerate())}
        for a, v in zip(archs, values, strict=True):
            expect(float(stored[index[a]]) == v, f"{where}: stored value {stored[index[a]]} != {v} for {a}")


def _check_direction(
    where: str, name: str, space: SearchSpace, direction: str, arch: Architecture, value: float
) -> None:
    """As the objective of a search of ``space`` (its default evaluator), the metric keeps its
    direction and the strategy is told ``value`` in minimisation form."""
    from hynas.core.experiment import ExperimentConfig
    from hynas.wiring import Experiment

    exp = Experiment(ExperimentConfig(space=space.name, objectives=(name,), budget=1))
    obj = exp.objectives[0]
    expect(obj.direction == direction, f"{where}: the objective is {obj.direction}, declared {direction}")
    loss = exp.result(Candidate(arch), {name: value}).loss[0]
    expect(
        loss == (value if direction == "min" else -value),
        f"{where}: {value} ({direction}) reaches the strategy as loss {loss}",
    )


def built_lm_counts(cfg: Any, context: int, dtype: Any = None) -> tuple[int, int, int, int]:
    """(parameters, prefill FLOPs, cache bytes, decode FLOPs per token) of the hybrid LM built from
    ``cfg`` (an :class:`~hynas.spaces.hybrid_lm.LMConfig`) for one sequence of ``context`` tokens,
    counted by PyTorch's FLOP counter on the meta device (nothing is allocated or computed);
    ``dtype`` defaults to float32."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from hynas.models.hybrid_lm import HybridLM

    with torch.device("meta"):
        model = HybridLM(cfg, ssm_mode="parallel").to(dtype or torch.float32)
    params = sum(p.numel() for p in model.parameters())
    idx = torch.zeros(1, context, dtype=torch.long, device="meta")
    cache = model.new_cache()
    with FlopCounterMode(display=False) as fc:
        model(idx, cache)
    prefill = fc.get_total_flops()
    cache_bytes = cache.nbytes()
    with FlopCounterMode(display=False) as fc:
        model(idx[:, :1], cache)
    return params, prefill, cache_bytes, fc.get_total_flops()
