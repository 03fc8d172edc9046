from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from hynas.cli import app
from hynas.spaces import get_space
from hynas.stores import open_store


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["nsga2", "random"])
def test_cli_search_over_hybrid_lm_end_to_end(tmp_path, strategy):
    store = str(tmp_path / "hy.db")
    args = [
        "search",
        "--space", "hybrid-lm",
        "--strategy", strategy,
        "--objective", "bpb",
        "--objective", "recall",
        "--objective", "kv_memory@128k",
        "--objective", "decode_latency@32k:a100",
        "--constraint", "attn_layers >= 1",
        "--evaluator-option", "steps=[10]",
        "--evaluator-option", "batch=4",
        "--budget", "5",
        "--store", store,
        "--json",
    ]  # fmt: skip
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output[res.output.index("{") :])
    assert summary["trials"] == 5 and summary["failed"] == 0
    space = get_space("hybrid-lm")
    with open_store(store, create=False) as st:
        trials = st.trials()
    assert len(trials) == 5
    for t in trials:
        arch = space.parse(t.arch)
        assert space.contains(arch)
        assert 0 < t.metrics["bpb"] < 9 and 0 <= t.metrics["recall"] <= 100
        assert t.metrics["kv_memory@128k"] >= 0 and t.metrics["decode_latency@32k:a100"] > 0
    # resuming with a larger budget continues the same store
    args[args.index("5")] = "6"
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    with open_store(store, create=False) as st:
        assert len(st.trials()) == 6


def test_cli_rejects_bad_hybrid_objectives(tmp_path):
    args = ["search", "--space", "hybrid-lm", "--objective", "bpb", "--objective", "decode_latency@128k",
            "--budget", "1", "--store", str(tmp_path / "x.db")]  # fmt: skip
    res = subprocess.run(
        [sys.executable, "-c", "from hynas.cli import main; main()", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert res.returncode == 2
    assert "name a device" in res.stderr and "Traceback" not in res.stderr
