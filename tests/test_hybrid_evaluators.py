from __future__ import annotations

import numpy as np
import pytest

from hynas.core.errors import HynasError
from hynas.evaluators import default_evaluator, make_evaluator
from hynas.evaluators.lm import make_mqar, stdlib_corpus
from hynas.spaces import get_space

SPACE = get_space("hybrid-lm")
TINY = "d32.hd16:attn-h2-kv1/mlp-f32,conv/none"


def test_stdlib_corpus_is_split_by_file_and_nonempty():
    c = stdlib_corpus()
    assert set(c) == {"train", "val", "test"}
    assert len(c["train"]) > 5 * len(c["val"]) > 0 and len(c["test"]) > 0
    assert bytes(c["train"][:50000]).decode("utf-8", "replace").count("def ") > 0


def test_mqar_sequences_have_answerable_queries():
    rng = np.random.default_rng(0)
    x, y = make_mqar(16, 32, 4, rng)
    for r in range(16):
        pairs = {int(x[r, 2 * i]): int(x[r, 2 * i + 1]) for i in range(4)}
        qs = np.nonzero(y[r] != -100)[0]
        assert len(qs) == 4 and qs.min() >= 8
        for q in qs:
            assert pairs[int(x[r, q])] == y[r, q]  # the target is the queried key's value
    with pytest.raises(HynasError, match="do not fit"):
        make_mqar(1, 16, 8, rng)


def test_lm_evaluator_is_deterministic_and_learns():
    ev = make_evaluator("hybrid-lm", "lm-stdlib", steps=(5, 60), context=64, batch=8)
    arch = SPACE.parse(TINY)
    low = ev.evaluate(arch, fidelity=5)
    high = ev.evaluate(arch, fidelity=60)
    again = ev.evaluate(arch, fidelity=60)
    assert high.metrics["bpb"] == again.metrics["bpb"]
    assert high.metrics["bpb"] < low.metrics["bpb"] < 8.5  # 8 bits per byte is uniform guessing
    assert "test_bpb" in high.hidden and high.fidelity == 60 and high.cost_s > 0
    assert ev.metrics()["test_bpb"].hidden


def test_mqar_evaluator_reports_recall_and_default_is_both_tasks():
    assert default_evaluator("hybrid-lm") == "lm-mqar"
    ev = make_evaluator("hybrid-lm", "mqar", steps=(10,), batch=8)
    e = ev.evaluate(SPACE.parse(TINY))
    assert set(e.metrics) == {"recall"} and 0.0 <= e.metrics["recall"] <= 100.0
    both = make_evaluator("hybrid-lm", None)
    assert set(both.metrics()) == {"bpb", "test_bpb", "recall"}


def test_bad_evaluator_options_are_clear():
    with pytest.raises(HynasError, match="fidelities are 50, 100, 200, 400"):
        make_evaluator("hybrid-lm", "lm-stdlib").evaluate(SPACE.parse(TINY), fidelity=7)
    with pytest.raises(HynasError, match=r"must be a number of training steps.*'many'"):
        make_evaluator("hybrid-lm", "lm-stdlib", fidelity="many")
    with pytest.raises(HynasError, match="valid datasets: stdlib"):
        make_evaluator("hybrid-lm", "lm-stdlib", dataset="imagenet")
    with pytest.raises(HynasError, match="bad options"):
        make_evaluator("hybrid-lm", "mqar", epochs=3)
    with pytest.raises(HynasError, match="shorter than the space's windows"):
        make_evaluator("hybrid-lm", "lm-stdlib", context=8)
    for name, bad in (("batch", True), ("threads", 0), ("batch", 2.5)):  # a bool is not a whole number
        with pytest.raises(HynasError, match=rf"{name} must be a whole number >= 1, got {bad!r}"):
            make_evaluator("hybrid-lm", "lm-stdlib", **{name: bad})
