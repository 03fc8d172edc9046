"""Parallel runners end to end: the process pool from the CLI, and Ray (a real local cluster)."""

from __future__ import annotations

import json
import os

import pytest
from typer.testing import CliRunner

from extras import need_module
from hynas.cli import app
from hynas.core.experiment import ExperimentConfig
from hynas.runners import RunOptions, run
from hynas.runners.faults import FaultyEvaluator
from hynas.stores import open_store
from hynas.wiring import Experiment


def test_cli_pool_run_then_resume_with_more_budget(tmp_path):
    store = str(tmp_path / "p.db")
    args = ["search", "-s", "rea", "--objective", "accuracy", "--seed", "3", "--store", store, "--json"]
    r = CliRunner().invoke(app, [*args, "--budget", "20", "--workers", "2", "--trial-timeout", "30"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout[r.stdout.index("{") :])["trials"] == 20
    r = CliRunner().invoke(app, [*args, "--budget", "30", "--workers", "2"])
    assert r.exit_code == 0, r.output
    with open_store(store) as st:
        recs = st.trials()
        sched = st.schedule()
    assert [x.number for x in recs] == list(range(30)) and len({x.arch for x in recs}) == 30
    # the pool asks while others are pending: some trial was proposed before its predecessor was told
    assert any(s.asked_after < s.number for s in sched)


@pytest.mark.slow
def test_ray_runner_requeues_killed_workers_and_times_out(tmp_path):
    need_module("ray", "ray")
    once = tmp_path / "once"
    once.mkdir()
    cfg = ExperimentConfig(strategy="rea", objectives=("accuracy",), budget=24, seed=1)
    exp = Experiment(cfg)
    exp.evaluator = FaultyEvaluator(exp.evaluator, seed=1, die=0.15, hang=0.1, hang_s=600, once_dir=str(once))
    with open_store(str(tmp_path / "r.db")) as st:
        recs = run(exp, st, options=RunOptions(runner="ray", workers=2, timeout_s=90))
    # the timeout runs from submission: a re-run after a killed worker includes starting a new worker
    # process (importing torch): over 45 s on a 2-core machine running four other processes
    assert sorted(r.number for r in recs) == list(range(24))
    kinds = {r.arch: exp.evaluator.fault(exp.space.parse(r.arch)) for r in recs}
    died = [a for a, k in kinds.items() if k == "die"]
    hung = [a for a, k in kinds.items() if k == "hang"]
    assert died and hung
    by_arch = {r.arch: r for r in recs}
    # Ray re-ran the task after its worker was killed
    assert all(by_arch[a].ok for a in died), {a: by_arch[a].error for a in died}
    assert all(not by_arch[a].ok and "timeout" in by_arch[a].error for a in hung)
    assert len(os.listdir(once)) == len(died) + len(hung)
