"""Exported TorchScript and ONNX files compute what the PyTorch module computes; fine-tuning.

Each export traces the network (TorchScript) and runs the ``torch.export``-based ONNX exporter:
20-60 s per model on a loaded 2-core machine, hence ``slow``. ONNX Runtime comes with the
``export`` extra (``HYNAS_REQUIRE_EXPORT=1`` makes these tests mandatory).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from extras import need_module
from fmnist_util import need_fmnist
from hynas.export import export_model, load_exported
from test_export import IN_BOTH, make_nb201_store, make_supernet

pytestmark = pytest.mark.slow
torch.set_num_threads(1)
ATOL = 1e-5


def _ort_outputs(path: Path, x: torch.Tensor) -> np.ndarray:
    ort = need_module("onnxruntime", "export")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return np.asarray(session.run(None, {session.get_inputs()[0].name: x.numpy()})[0])


def _check_all_formats(out: Path, inputs: list[torch.Tensor]) -> dict[str, Any]:
    """ONNX Runtime and TorchScript give the safetensors module's outputs on every input."""
    model, _, cfg = load_exported(out)
    scripted = torch.jit.load(str(out / "model.ts"))
    for x in inputs:
        with torch.no_grad():
            want = model(x)
            assert torch.allclose(scripted(x), want, atol=ATOL, rtol=0)
        got = _ort_outputs(out / "model.onnx", x)
        assert got.shape == tuple(want.shape)
        np.testing.assert_allclose(got, want.numpy(), atol=ATOL, rtol=0)
    assert (
        cfg["files"]["onnx"]["max_abs_diff"] <= ATOL and cfg["files"]["torchscript"]["max_abs_diff"] <= ATOL
    )
    return cfg


def test_mobile_with_supernet_weights_in_every_format(tmp_path: Path) -> None:
    need_module("onnxscript", "export")
    from hynas.export.weights import load_supernet

    ckpt = make_supernet(tmp_path / "sn.safetensors")
    out = tmp_path / "m"
    export_model(out, arch=IN_BOTH, space="mobile", supernet=str(ckpt), bn_images=0)
    gen = torch.Generator().manual_seed(1)
    xs = [torch.randn(2, 3, 20, 20, generator=gen), torch.randn(5, 3, 20, 20, generator=gen)]  # any batch
    cfg = _check_all_formats(out, xs)
    assert cfg["files"]["onnx"]["dynamic_batch"] is True
    sup = load_supernet(ckpt)  # the weights are the supernet's: the ONNX model computes what it computes
    with torch.no_grad():
        want = sup.net(xs[1], sup.space.parse(IN_BOTH))
    np.testing.assert_allclose(_ort_outputs(out / "model.onnx", xs[1]), want.numpy(), atol=ATOL, rtol=0)


def test_nb201_untrained_from_a_store_in_every_format(tmp_path: Path) -> None:
    need_module("onnxscript", "export")
    store = make_nb201_store(tmp_path / "s.db")
    out = tmp_path / "n"
    res = export_model(out, store=store, trial=2)
    assert res.config["weights"]["source"] == "untrained"
    gen = torch.Generator().manual_seed(2)
    _check_all_formats(
        out, [torch.randn(2, 3, 32, 32, generator=gen), torch.randn(3, 3, 32, 32, generator=gen)]
    )
    card = (out / "MODEL_CARD.md").read_text()
    assert "ONNX Runtime" in card and "untrained" in card.lower()


def test_hybrid_lm_untrained_in_every_format(tmp_path: Path) -> None:
    need_module("onnxscript", "export")
    from hynas.spaces import get_space

    space = get_space("hybrid-lm")
    arch = space.sample(np.random.default_rng(3))
    out = tmp_path / "lm"
    res = export_model(out, arch=space.format(arch), space="hybrid-lm")
    spec = res.config["input"]
    assert spec["dtype"] == "int64" and res.config["files"]["onnx"]["dynamic_batch"] is False
    gen = torch.Generator().manual_seed(4)
    _check_all_formats(out, [torch.randint(spec["high"], tuple(spec["shape"]), generator=gen)])
    card = (out / "MODEL_CARD.md").read_text()
    assert "prefill_latency@a100" in card and "decode_latency@raspi4" in card


def test_finetuning_changes_the_weights_and_improves_accuracy(tmp_path: Path) -> None:
    need_fmnist()
    ckpt = make_supernet(tmp_path / "sn.safetensors")
    base = export_model(
        tmp_path / "a", arch=IN_BOTH, space="mobile", supernet=str(ckpt), formats="safetensors"
    )
    tuned = export_model(
        tmp_path / "b",
        arch=IN_BOTH,
        space="mobile",
        supernet=str(ckpt),
        formats="safetensors",
        finetune_steps=40,
    )
    ft = tuned.config["weights"]["finetune"]
    assert ft["val_accuracy_after"] > ft["val_accuracy_before"] and ft["val_accuracy_after"] > 30
    a, _, _ = load_exported(tmp_path / "a")
    b, _, _ = load_exported(tmp_path / "b")
    assert not torch.equal(a.classifier.weight, b.classifier.weight)
    assert "recalibrated" in base.config["weights"]["bn"]
    card = (tmp_path / "b" / "MODEL_CARD.md").read_text()
    assert (
        "fine-tuned for 40 steps on Fashion-MNIST (lr 0.01)" in card
        and f"{ft['val_accuracy_after']:.6g}" in card
    )
    assert ft["lr"] == 0.01 and ft["eval_images"] == 1000
