"""Every registered cost model keeps the cost-model contract (:mod:`hynas.testing.cost_models`):
its declared metric and direction, finite and deterministic values, the declared direction is the
one a search optimises, and a cost does not fall from a network to a larger one.

Cost models are found by name patterns (``latency@roofline:<device>``), so each pattern of the
catalogue (``hynas list objectives``) names concrete examples here; a newly registered pattern
fails ``test_every_cost_model_has_examples`` until it is given some."""

from __future__ import annotations

import numpy as np
import pytest

from hynas.benchmarks.nb201 import HWNB_DEVICES
from hynas.core.errors import HynasError
from hynas.core.metrics import CATALOG, _load_plugins
from hynas.hw.devices import DEVICE_CATALOG
from hynas.proxies import NAMES as PROXIES
from hynas.spaces import get_space
from hynas.testing.cost_models import check_cost_model

#: a small and a larger network of each space (the larger one has at least every part of the other)
PAIRS = {
    "nb201": (
        "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    ),
    "mobile": (
        "r128|k3e3-k3e3|k3e3-k3e3|k3e3-k3e3|k3e3-k3e3|k3e3-k3e3",
        "r224|" + "|".join(["-".join(["k7e6"] * 4)] * 5),
    ),
    "ecnas": (
        "in,conv1x1,out|0-1,1-2",
        "in,conv3x3,conv3x3,conv3x3,out|0-1,0-2,0-3,1-2,1-3,1-4,2-3,2-4,3-4",
    ),
    "hybrid-lm": (
        "d32.hd16:attn-h2-kv1/mlp-f32,conv/none",
        "d96.hd16:" + ",".join(["attn-h8-kv8/mlp-f384"] * 5 + ["conv/mlp-f384"]),
    ),
}
VISION = ("nb201", "mobile", "ecnas")
ROOFLINE = tuple(DEVICE_CATALOG)
LM = ("hybrid-lm",)
#: catalogue pattern -> (space, name) examples; measured ones are listed in MEASURED
EXAMPLES: dict[str, list[tuple[str, str]]] = {
    "params, flops, memory": [(s, n) for s in VISION for n in ("params", "flops", "memory")],
    "latency@local, latency@onnx:local": [("nb201", "latency@local"), ("nb201", "latency@onnx:local")],
    # needs a table measured by `hynas hw profile` first (tests/test_hw_lut.py builds and checks one)
    "latency@lut:<local|file.json>": [],
    # latency@predictor:local measures cells first (tests/test_hw_resolvers.py)
    "latency@predictor:<device|local|file.csv>": [("nb201", f"latency@predictor:{d}") for d in HWNB_DEVICES],
    "latency@roofline:<device>": [(s, f"latency@roofline:{d}") for s in VISION for d in ROOFLINE],
    "energy@ecnas": [("ecnas", "energy@ecnas")],
    "memory@<ctx>[:<dtype>][:b<batch>]": [("hybrid-lm", "memory@4k"), ("hybrid-lm", "memory@128k:fp16:b2")],
    "kv_memory@<ctx>[:<dtype>][:b<batch>]": [("hybrid-lm", "kv_memory@128k")],
    "weights_memory": [("hybrid-lm", "weights_memory")],
    "prefill_flops@<ctx>": [("hybrid-lm", "prefill_flops@4k")],
    "decode_flops@<ctx>": [("hybrid-lm", "decode_flops@32k")],
    "prefill_latency@<ctx>:<device>": [("hybrid-lm", "prefill_latency@4k:b2:h100")],
    "decode_latency@<ctx>:<device>": [("hybrid-lm", f"decode_latency@32k:{d}") for d in ("a100", "raspi4")],
    "params, attn_layers, swa_layers, ssm_layers, conv_layers": [
        ("hybrid-lm", n) for n in ("params", "attn_layers", "swa_layers", "ssm_layers", "conv_layers")
    ],
    "zc@<proxy>": [("nb201", f"zc@{p}") for p in PROXIES],
    "naswot@nb201": [("nb201", "naswot@nb201")],
}
#: measured on this machine: repeatable only through the model's cache, and seconds per network
MEASURED = {"latency@local", "latency@onnx:local"}
#: computed by building and scoring networks: seconds per network
SLOW = MEASURED | {f"zc@{p}" for p in PROXIES if p != "synflow"}
#: known breaches of the contract, to fix in the cost model (strict: the test fails once fixed)
KNOWN: dict[tuple[str, str], str] = {}


def _have_fmnist() -> bool:
    from hynas.evaluators.vision import find_fmnist

    try:
        find_fmnist()
    except HynasError:
        return False
    return True


def test_every_cost_model_has_examples():
    _load_plugins()
    patterns = {entry[0] for entry in CATALOG}
    assert patterns == set(EXAMPLES), f"give examples for {sorted(patterns - set(EXAMPLES))}"


def _marks(space: str, name: str) -> list:
    marks = [pytest.mark.slow] if name in SLOW else []
    if (space, name) in KNOWN:
        marks.append(pytest.mark.xfail(strict=True, raises=AssertionError, reason=KNOWN[space, name]))
    return marks


def _cases() -> list:
    return [
        pytest.param(space, name, id=f"{space}-{name}", marks=_marks(space, name))
        for examples in EXAMPLES.values()
        for space, name in examples
    ]


@pytest.mark.parametrize(("space", "name"), _cases())
def test_cost_model_contract(space, name, tmp_path, monkeypatch):
    monkeypatch.setenv("HYNAS_LATENCY_CACHE", str(tmp_path / "latency.sqlite"))
    sp = get_space(space)
    small, big = (sp.parse(t) for t in PAIRS[space])
    archs = [small, big, sp.sample(np.random.default_rng(0))]
    # the direction is checked through a search of the space, whose evaluator may need data
    search = space != "mobile" or _have_fmnist()
    check_cost_model(name, sp, archs, larger=(small, big), measured=name in MEASURED, search=search)
