"""A space brings its own hardware facts: a tiny space defined only here (nothing under hynas/hw
knows it) gets analytic costs and roofline latency through the SearchSpace fact interface, and
a fact it lacks is one clear error."""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import hynas.hw
from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.core.metrics import resolve_cost_model
from hynas.core.opgraph import OpGraph
from hynas.core.space import Dim, SearchSpace, SpaceDefaults
from hynas.hw.analytic import analytic_costs, arch_ops
from hynas.hw.devices import get_device
from hynas.hw.roofline import roofline_latency
from hynas.spaces import SPACES, get_space

IN, OUT = 12, 3


class TinyMLPSpace(SearchSpace):
    """Tiny MLP: 1-3 hidden layers of width 8/16/32 on 12 features, 3 classes (test only)."""

    name = "tiny-mlp"
    dims = (Dim("depth", (1, 2, 3)), Dim("width", (8, 16, 32)))
    defaults = SpaceDefaults("none", None, ("params",))

    def format(self, arch: Architecture) -> str:
        return f"d{self.dims[0].choices[arch.genes[0]]}w{self.dims[1].choices[arch.genes[1]]}"

    def parse(self, text: str) -> Architecture:
        m = re.fullmatch(r"d(\d)w(\d+)", text)
        if not m:
            raise HynasError(f"malformed tiny-mlp arch {text!r}")
        return self.make([self.dims[0].choices.index(int(m[1])), self.dims[1].choices.index(int(m[2]))])

    def _layers(self, arch: Architecture) -> list[tuple[int, int]]:
        depth, width = (d.choices[g] for d, g in zip(self.dims, arch.genes, strict=True))
        sizes = [IN] + [width] * depth + [OUT]
        return list(itertools.pairwise(sizes))

    def build(self, arch: Architecture, **kwargs: Any) -> Any:
        import torch

        layers: list[torch.nn.Module] = []
        for c_in, c_out in self._layers(arch):
            layers += [torch.nn.Linear(c_in, c_out), torch.nn.ReLU()]
        return torch.nn.Sequential(*layers[:-1])

    # the facts cost models read
    def op_graph(
        self,
        arch: Architecture,
        batch: int = 1,
        dtype_bytes: int = 4,
        resolution: int | None = None,
        **options: Any,
    ) -> OpGraph:
        if options:
            raise TypeError(f"unexpected options {sorted(options)}")
        g = OpGraph(batch, dtype_bytes)
        x = g.fmap("input", IN, 1)
        for i, (c_in, c_out) in enumerate(self._layers(arch)):
            y = g.fmap(f"fc{i}", c_out, 1)
            g.add(
                f"fc{i}", "linear", f"i{c_in}_o{c_out}", (x,), y, batch * c_in * c_out, c_in * c_out + c_out
            )
            x = y
        return g

    def input_shape(
        self, arch: Architecture, batch: int = 1, resolution: int | None = None
    ) -> tuple[int, ...]:
        return (int(batch), IN)


@pytest.fixture
def tiny(monkeypatch: pytest.MonkeyPatch) -> Iterator[SearchSpace]:
    monkeypatch.setattr(SPACES, "_entries", dict(SPACES._entries))  # registered for this test only
    SPACES.register("tiny-mlp")(TinyMLPSpace)
    get_space.cache_clear()
    yield get_space("tiny-mlp")
    get_space.cache_clear()


def test_a_new_space_gets_analytic_costs_and_roofline_latency(tiny: SearchSpace) -> None:
    arch = tiny.parse("d2w16")
    layers = [(12, 16), (16, 16), (16, 3)]
    params = sum(i * o + o for i, o in layers)
    flops = sum(2 * i * o for i, o in layers)
    assert sum(p.numel() for p in tiny.build(arch).parameters()) == params
    costs = analytic_costs(arch)
    assert costs["params"] == params and costs["flops"] == flops and costs["n_ops"] == 3
    assert costs["peak_activation_bytes"] == 4 * (16 + 16)  # the widest layer's input and output
    for name, want in (("params", params / 1e6), ("flops", flops / 1e6), ("memory", 4 * 32 / 1e6)):
        model = resolve_cost_model(name, tiny)
        assert model is not None and model(arch) == pytest.approx(want)
    for dev in ("a100", "raspi4"):
        lat = resolve_cost_model(f"latency@roofline:{dev}", tiny)
        assert lat is not None
        want = roofline_latency(arch_ops(arch), get_device(dev)) * 1e3
        assert lat(arch) == pytest.approx(want) and math.isfinite(lat(arch)) and lat(arch) > 0
    # a deeper network costs more everywhere
    deeper = tiny.parse("d3w16")
    assert analytic_costs(deeper)["flops"] > flops
    assert resolve_cost_model("latency@roofline:raspi4", tiny)(deeper) > want  # type: ignore[misc]
    from hynas.hw.measure import example_input

    assert tuple(example_input(arch, 2).shape) == (2, 12)
    assert tiny.provides("op_graph") and tiny.provides("input_shape")
    assert not tiny.provides("lut_networks") and not tiny.provides("lm_config")
    assert not tiny.provides("example_input")  # a normal tensor of input_shape is drawn for it
    from hynas.evaluators import space_defaults

    assert space_defaults("tiny-mlp") == SpaceDefaults("none", None, ("params",))


def test_a_fact_the_space_lacks_is_one_clear_error(tiny: SearchSpace) -> None:
    from hynas.hw.lut import covering_archs

    with pytest.raises(HynasError, match="space 'tiny-mlp' does not provide lut_networks"):
        tiny.lut_networks()
    with pytest.raises(HynasError, match="no latency lookup table for space 'tiny-mlp'; spaces with tables"):
        covering_archs("tiny-mlp")
    with pytest.raises(HynasError, match="does not provide latency_samples"):
        tiny.latency_samples("raspi4")
    with pytest.raises(HynasError, match="HW-NAS-Bench, which covers space nb201 only, not 'tiny-mlp'"):
        resolve_cost_model("latency@predictor:raspi4", tiny)
    with pytest.raises(HynasError, match="bad size options"):
        analytic_costs(tiny.parse("d1w8"), width=3)
    with pytest.raises(HynasError, match="no HW-NAS-Bench latency table for device 'tpu'; valid: eyeriss"):
        get_space("nb201").latency_samples("tpu")
    with pytest.raises(HynasError, match="unknown space fact 'flops'"):
        tiny.provides("flops")
    assert resolve_cost_model("kv_memory@128k", tiny) is None  # not a language model


def test_a_space_without_an_op_graph_has_no_analytic_costs(monkeypatch: pytest.MonkeyPatch) -> None:
    class Bare(TinyMLPSpace):
        name = "bare"
        op_graph = SearchSpace.op_graph  # type: ignore[assignment]

    monkeypatch.setattr(SPACES, "_entries", dict(SPACES._entries))  # registered for this test only
    SPACES.register("bare")(Bare)
    get_space.cache_clear()
    try:
        bare = get_space("bare")
        assert resolve_cost_model("params", bare) is None
        with pytest.raises(
            HynasError, match=r"no analytic cost model for space 'bare' .*supported spaces: ecnas"
        ):
            analytic_costs(Architecture("bare", (0, 0)))
    finally:
        get_space.cache_clear()


def test_cost_models_do_not_branch_on_a_space_name() -> None:
    """Only the table-backed HW-NAS-Bench / EC-NAS-Bench code may name the space of its table."""
    table_backed = {"predictor.py", "validate.py", "energy.py", "cli.py"}
    names = "|".join(re.escape(n) for n in SPACES.names())
    pattern = re.compile(rf"""["']({names})["']|isinstance\([^)]*Space\)""")
    for path in sorted(Path(hynas.hw.__file__).parent.glob("*.py")):
        if path.name in table_backed:
            continue
        hits = [ln for ln in path.read_text(encoding="utf-8").splitlines() if pattern.search(ln)]
        assert not hits, f"{path.name} names a space: {hits}"


def test_every_registered_space_states_its_facts() -> None:
    for name in SPACES.names():
        space = get_space(name)
        assert space.defaults is not None, name
        arch = space.sample(np.random.default_rng(0))
        if space.provides("op_graph"):
            assert arch_ops(arch) == space.op_graph(arch).costs()
        if space.provides("lut_networks"):
            keys = {(o.kind, o.shape) for a in space.lut_networks() for o in arch_ops(a)}
            assert {(o.kind, o.shape) for o in arch_ops(arch)} <= keys, name
