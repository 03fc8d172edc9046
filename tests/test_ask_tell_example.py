"""``examples/ask_tell_fmnist.py`` (real training of ``mobile`` networks on Fashion-MNIST in the
user's own loop) runs with tiny settings, stores what it told, and a second run continues the
study (needs the Debian ``dataset-fashion-mnist`` files; ``tests/fmnist_util.py``)."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

import hynas
from cli_util import invoke_cli
from fmnist_util import need_fmnist

EXAMPLE = Path(__file__).parent.parent / "examples" / "ask_tell_fmnist.py"
TINY = ["--steps", "4", "--batch", "4", "--eval-images", "40", "--bn-images", "8", "--threads", "1"]


@pytest.mark.slow
def test_the_example_trains_real_networks_in_its_own_loop_and_continues(tmp_path, capsys):
    need_fmnist()
    store = str(tmp_path / "fmnist.db")
    main = runpy.run_path(str(EXAMPLE))["main"]
    main([*TINY, "--trials", "1", "--store", store, "--prune-below", "0"])
    main([*TINY, "--trials", "2", "--store", store, "--prune-below", "0"])  # a larger budget continues
    out = capsys.readouterr().out
    assert out.count("trial 0:") == 1 and out.count("trial 1:") == 1
    study = hynas.load(store)
    assert [t.number for t in study] == [0, 1] and all(t.ok for t in study)
    for t in study:
        assert 0.0 <= t.metrics["accuracy"] <= 100.0 and t.metrics["latency@roofline:raspi4"] > 0
    assert study.config.dataset == "fashion-mnist" and study.config.evaluator == "told"
    code, shown = invoke_cli(["show", store])
    assert code == 0 and "latency@roofline:raspi4" in shown
    # a pruning threshold above every possible accuracy prunes at half time
    main([*TINY, "--trials", "3", "--store", store, "--prune-below", "101"])
    assert [t.status for t in hynas.load(store)] == ["completed", "completed", "pruned"]
