"""Failures in every place a trial can fail: the evaluator (exception, NaN, timeout, retries), a
worker process killed mid-trial, the driver SIGKILLed at random points, a second driver."""

from __future__ import annotations

import json
import os
import random
import socket
import time

import pytest

from bench_util import load_bench
from hynas.core.errors import HynasError
from hynas.core.experiment import ExperimentConfig
from hynas.runners import RunOptions, run
from hynas.runners.faults import FaultyEvaluator
from hynas.stores import open_store
from hynas.wiring import Experiment

CFG = ExperimentConfig(strategy="rea", objectives=("accuracy",), budget=40, seed=11)


def _exp(cfg: ExperimentConfig = CFG, **faults) -> Experiment:
    exp = Experiment(cfg)
    if faults:
        exp.evaluator = FaultyEvaluator(exp.evaluator, seed=cfg.seed, **faults)
    return exp


def _key(recs):
    return sorted((r.number, r.arch, r.status, r.metrics, r.cost_s) for r in recs)


@pytest.mark.parametrize("workers", [1, 2])
def test_exceptions_and_nans_become_failed_trials_and_the_search_goes_on(store_path, workers):
    exp = _exp(error=0.15, nan=0.15)
    with open_store(store_path) as st:
        recs = run(exp, st, options=RunOptions(workers=workers))
    assert sorted(r.number for r in recs) == list(range(40))
    failed = {r.arch: r.error for r in recs if not r.ok}
    expected = {r.arch: exp.evaluator.fault(exp.space.parse(r.arch)) for r in recs}
    assert set(failed) == {a for a, f in expected.items() if f in ("error", "nan")} and failed
    for arch, err in failed.items():
        assert ("injected evaluator error" in err) if expected[arch] == "error" else ("NaN" in err)


@pytest.mark.parametrize("workers", [1, 2])
def test_timeout_fails_the_trial_and_retries_recover_it(store_path, tmp_path, workers):
    exp = _exp(
        ExperimentConfig(strategy="random", objectives=("accuracy",), budget=12, seed=4), hang=0.25, hang_s=30
    )
    t0 = time.monotonic()
    with open_store(store_path) as st:
        recs = run(exp, st, options=RunOptions(workers=workers, timeout_s=0.5))
    assert time.monotonic() - t0 < 25
    timed_out = [r for r in recs if not r.ok]
    assert timed_out and all("timeout" in r.error for r in timed_out)
    assert len(recs) == 12
    # with a retry, a fault that fires once (marker files) is recovered
    once = tmp_path / "once"
    once.mkdir()
    exp = _exp(
        ExperimentConfig(strategy="random", objectives=("accuracy",), budget=12, seed=4),
        hang=0.25,
        hang_s=30,
        once_dir=str(once),
    )
    with open_store(str(tmp_path / "retry.db")) as st:
        recs = run(exp, st, options=RunOptions(workers=workers, timeout_s=0.5, retries=1))
        attempts = {s.number: s.attempts for s in st.schedule()}
    assert all(r.ok for r in recs)
    retried = [r for r in recs if "retried" in r.error]
    assert retried and all("timeout" in r.error for r in retried)
    assert sorted(attempts[r.number] for r in retried) == [2] * len(retried)


def test_worker_dying_mid_trial_is_requeued(store_path, tmp_path):
    once = tmp_path / "once"
    once.mkdir()
    exp = _exp(die=0.2, once_dir=str(once))
    with open_store(store_path) as st:
        recs = run(exp, st, options=RunOptions(workers=2))
    assert sorted(r.number for r in recs) == list(range(40)) and all(r.ok for r in recs)
    requeued = [r for r in recs if "worker lost" in r.error]
    assert requeued and len(requeued) == len(os.listdir(once))


def test_a_worker_that_always_dies_ends_failed_not_lost(store_path):
    exp = _exp(ExperimentConfig(strategy="random", objectives=("accuracy",), budget=10, seed=2), die=0.3)
    with open_store(store_path) as st:
        recs = run(exp, st, options=RunOptions(workers=2, max_requeues=2))
    assert sorted(r.number for r in recs) == list(range(10))
    dead = [r for r in recs if not r.ok]
    assert dead and all("worker lost 3 times" in r.error for r in dead)


def test_workers_killed_at_random_lose_no_trial(store_path):
    """A killer thread SIGKILLs this run's own worker processes at random moments."""
    cfg = ExperimentConfig(strategy="rea", objectives=("accuracy",), budget=50, seed=3)
    exp = _exp(cfg, delay_s=0.1)
    # this test process has no children but the pool workers
    killing = load_bench("faults").killing_workers(random.Random(0), (0.05, 0.2))
    with killing as kills, open_store(store_path) as st:
        recs = run(exp, st, options=RunOptions(workers=2, max_requeues=50))
    assert len(kills) >= 5
    assert sorted(r.number for r in recs) == list(range(50))  # every trial ended, none lost or twice
    assert all(r.status in ("completed", "failed") for r in recs)
    assert any("worker lost" in r.error for r in recs)
    with open_store(store_path) as st:
        assert not [s for s in st.schedule() if s.told_seq is None]  # nothing left running


def _driver_kills_lose_nothing(tmp_path, kills: int, budget: int, seed: int) -> list[int]:
    """SIGKILL a forked driver at ``kills`` random points (bench/faults.py), resume; nothing
    committed is lost, nothing is duplicated or missing, and the result is an uninterrupted run's."""
    out = load_bench("faults").driver_kills(tmp_path, seed, kills, budget)
    assert out["completed_lost"] == out["duplicated"] == out["missing"] == 0, out
    assert out["same_as_uninterrupted"], out
    return out["kill_points"]


def test_driver_killed_at_random_points_loses_and_duplicates_nothing(tmp_path):
    assert len(set(_driver_kills_lose_nothing(tmp_path, kills=4, budget=40, seed=0))) > 1


@pytest.mark.slow
def test_driver_killed_at_20_random_points(tmp_path):
    points = _driver_kills_lose_nothing(tmp_path, kills=20, budget=120, seed=1)
    assert min(points) < 120 and len(set(points)) >= 10


def test_trial_left_running_by_a_dead_driver_is_requeued_exactly_once(store_path):
    cfg = ExperimentConfig(strategy="rea", objectives=("accuracy",), budget=10, seed=7)
    with open_store(store_path) as st:
        ref = run(Experiment(cfg), st)
    # the same search whose driver died while trial 6 was running
    other = store_path + ".2"
    with open_store(other) as st:
        run(Experiment(cfg.__class__(**{**cfg.to_dict(), "budget": 6})), st)
        st.start(6, ref[6].arch, None, asked_after=6)
        st.acquire("dead-driver", 30)
        lease = {"host": socket.gethostname(), "pid": 999999999, "token": "x", "heartbeat": 0}
        st._set_meta("driver", json.dumps(lease))
    with open_store(other) as st:
        recs = run(Experiment(cfg), st)
    assert _key(recs) == _key(ref)


def test_a_live_driver_holds_the_store(store_path):
    with open_store(store_path) as st:
        st.acquire("a", lease_s=30)
        with pytest.raises(HynasError, match="in use by another search"):
            st.acquire("b", lease_s=30)
        # a driver on another machine that went silent longer than the lease is taken over
        st._set_meta("driver", '{"host": "elsewhere", "pid": 1, "token": "c", "heartbeat": 0}')
        assert st.acquire("b", lease_s=30).host == "elsewhere"
        st._set_meta("driver", f'{{"host": "elsewhere", "pid": 1, "token": "c", "heartbeat": {time.time()}}}')
        with pytest.raises(HynasError, match="in use by another search"):
            st.acquire("b", lease_s=30)


def test_bad_run_options_are_clear_errors():
    with pytest.raises(HynasError, match="unknown runner 'spark'; valid: sequential, pool, ray"):
        RunOptions(runner="spark")
    with pytest.raises(HynasError, match="bad trial timeout"):
        RunOptions(timeout_s=-1)
    with pytest.raises(HynasError, match="bad retries"):
        RunOptions(retries=-2)
    assert RunOptions(workers=3).runner == "pool"
