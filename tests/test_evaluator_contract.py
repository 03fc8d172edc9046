"""Every registered evaluator keeps the evaluator contract (:mod:`hynas.testing.evaluators`):
declared metrics are the returned ones, values are finite, the same options give the same values,
fidelities are checked, and each metric's declared direction is what the search optimises.

Evaluators that train get tiny options and one small architecture, so the everyday run stays fast;
those that need data skip cleanly without it (``tests/fmnist_util.py``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fmnist_util import need_fmnist
from hynas.evaluators import EVALUATORS
from hynas.testing.evaluators import check_evaluator

_LM = {"steps": (1, 2), "batch": 2, "eval_windows": 4}
#: evaluator -> (small options, architecture strings); a new evaluator runs with its defaults on 3
#: random architectures until it is listed here
CHEAP: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
    "mobile-fmnist": (
        {"steps": (1, 2), "eval_images": 50, "bn_images": 20, "batch": 8},
        ("r128|k3e3-k3e3|k3e3-k3e3|k3e3-k3e3|k3e3-k3e3|k3e3-k3e3",),
    ),
    # architectures inside the tiny supernet (tests/supernet_util.py REDUCED); options made per test
    "supernet": (
        {},
        (
            "r128|k3e3-k3e3|k3e3-k3e3|k3e3-k3e3|k3e3-k3e3|k3e3-k3e3",
            "r160|k5e4-k5e4|k5e4-k3e4|k3e4-k5e3|k5e4-k5e4|k5e4-k5e4",
        ),
    ),
    **{lm: (_LM, ("d32.hd16:attn-h2-kv1/mlp-f32,conv/none",)) for lm in ("lm-stdlib", "mqar", "lm-mqar")},
    # plans of the tiny teacher's conversion space; the teacher is made per test
    "convert-proxy": (
        {"steps": (1, 2), "batch": 2, "calib": 2, "eval_windows": 4},
        ("keep,ssm,swa+moe,moe",),
    ),
    # declares the metrics an ask/tell study's loop tells (evaluates nothing): space and metrics needed
    "told": ({"space": "mobile", "metrics": ("accuracy:max", "val_loss:min")}, ()),
}
#: what an evaluator needs that a machine may lack: the check skips the test without it
NEEDS: dict[str, Callable[[], None]] = {"mobile-fmnist": need_fmnist}


def _tiny_supernet(tmp_path: Path) -> dict[str, Any]:
    """The supernet evaluator scores with a trained checkpoint: a tiny one, on pattern images."""
    from supernet_util import train_tiny, write_npz

    data = write_npz(tmp_path / "data.npz")
    return {"checkpoint": str(train_tiny(tmp_path, data)), "bn_images": 8, "eval_images": 16}


def _tiny_teacher(tmp_path: Path) -> dict[str, Any]:
    """The conversion proxy carves a trained Transformer: the tiny one, trained for 2 steps."""
    from hynas.convert.lmfile import Batches
    from hynas.convert.teacher import train_teacher
    from hynas.evaluators.lm import stdlib_corpus
    from hynas.spaces.hybrid_convert import TEACHERS
    from hynas.spaces.hybrid_lm import parse_config

    batches = Batches(stdlib_corpus()["train"], context=32, batch=2)
    return {"teacher": str(train_teacher(tmp_path, parse_config(TEACHERS["tiny"]), batches, steps=2))}


#: evaluators whose options are made per test (a trained checkpoint)
MADE: dict[str, Callable[[Path], dict[str, Any]]] = {
    "supernet": _tiny_supernet,
    "convert-proxy": _tiny_teacher,
}


@pytest.mark.parametrize("name", EVALUATORS.names())
def test_evaluator_contract(name, tmp_path):
    NEEDS.get(name, lambda: None)()
    options, texts = CHEAP.get(name, ({}, ()))
    if name in MADE:
        options = {**options, **MADE[name](tmp_path)}
    space = EVALUATORS.create(name, **options).space
    archs = [space.parse(t) for t in texts] or 3
    check_evaluator(space.name, name, options, archs)
