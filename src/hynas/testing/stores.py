"""The store contract suite: every guarantee of :mod:`hynas.core.store`, checked on a real store.

Subclass :class:`StoreContract` in a test file and say how to make a fresh store::

    class TestMyStore(StoreContract):
        def make_store(self, tmp_path):
            return MyStore(tmp_path / "s")

pytest then runs every ``test_*`` method on it: dense numbers with many writers (threads, and
processes for a durable store), one consistent snapshot, write-once and immutable trials, JSON
round trips, the driver lease (refusal, heartbeat, expiry, a dead driver's process), the reference
point stored once, clones, and a real search that resumes. A store whose ``durable`` is true must
also keep everything after close and reopen, and be opened by other processes: they call
``opener`` (``"module:function"``, given the store's ``location``).
"""

from __future__ import annotations

import importlib
import math
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from hynas.core.errors import HynasError
from hynas.core.store import Store, TrialRecord

__all__ = ["StoreContract"]

_CHILD = """
import importlib, os, sys
from hynas.core.store import TrialRecord
module, name = sys.argv[1].split(":")
store = getattr(importlib.import_module(module), name)(sys.argv[2])
mode, tag, n = sys.argv[3], sys.argv[4], int(sys.argv[5])
if mode == "write":
    for i in range(n):
        number = store.claim(f"{tag}-{i}", worker=tag)
        store.finish(TrialRecord(number, f"{tag}-{i}", "completed", metrics={"i": float(i)}), worker=tag)
    store.close()
else:  # a driver that dies holding the lease, with one trial running
    store.acquire(tag, 30.0)
    store.claim(f"{tag}-pending", worker=tag)
    os._exit(0)
"""


def _rec(number: int, arch: str = "", **kw: object) -> TrialRecord:
    return TrialRecord(number, arch or f"a{number}", "completed", **kw)  # type: ignore[arg-type]


class StoreContract:
    """The guarantees every store keeps; see the module docstring for how to use it."""

    #: ``module:function`` that opens a durable store from its ``location`` in another process
    opener = "hynas.stores:open_store"

    def make_store(self, tmp_path: Path) -> Store:
        """A fresh, empty store (skip the test here when its backend is missing)."""
        raise NotImplementedError

    def dispose(self, store: Store) -> None:
        """Clean up after a test (close the store; drop it from a server)."""
        store.close()

    def reopen(self, store: Store) -> Store:
        """A new handle on the same store, opened as another process would open it."""
        if not store.location:
            return store.clone()
        module, name = self.opener.split(":")
        opened: Store = getattr(importlib.import_module(module), name)(store.location)
        return opened

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[Store]:
        st = self.make_store(tmp_path)
        try:
            yield st
        finally:
            self.dispose(st)

    def _durable(self, store: Store) -> None:
        if not store.durable:
            pytest.skip(f"{type(store).__name__} is not durable")
        if not store.location:
            raise AssertionError("a durable store must have a location that opens it again")

    def _child(self, store: Store, mode: str, tag: str, n: int = 0) -> subprocess.Popen[bytes]:
        args = [sys.executable, "-c", _CHILD, self.opener, store.location, mode, tag, str(n)]
        return subprocess.Popen(args, stderr=subprocess.PIPE)

    # -- configuration and trials ------------------------------------------------------------------
    def test_a_new_store_is_empty(self, store: Store) -> None:
        assert store.config() is None and store.reference() is None and store.driver() is None
        assert store.state() == ([], []) and store.trials() == [] and store.schedule() == []

    def test_configuration_round_trips_as_json(self, store: Store) -> None:
        store.set_config({"seed": 3, "objectives": ("accuracy", "latency"), "budget": None})
        assert store.config() == {"seed": 3, "objectives": ["accuracy", "latency"], "budget": None}
        store.set_config({"seed": 4})
        assert store.config() == {"seed": 4}

    def test_claimed_numbers_are_dense_and_a_number_is_started_once(self, store: Store) -> None:
        assert [store.claim(f"x{i}") for i in range(3)] == [0, 1, 2]
        store.start(3, "x3", 12.0, asked_after=0)
        for number in (0, 3):
            with pytest.raises(HynasError, match="already in store"):
                store.start(number, "again", None, asked_after=0)
        assert store.claim("x4") == 4
        sched = store.schedule()
        assert [(s.number, s.arch, s.told_seq) for s in sched] == [(i, f"x{i}", None) for i in range(5)]
        assert sched[3].fidelity == 12.0 and store.trials() == []

    def test_finish_moves_a_running_trial_and_counts_the_told_order(self, store: Store) -> None:
        store.start(0, "a0", None, asked_after=0)
        store.start(1, "a1", None, asked_after=0, worker="w1")
        assert store.finish(_rec(1, cost_s=2.0), attempts=2, worker="w1") == 0
        assert store.claim("a2") == 2  # asked after one told result
        assert store.finish(_rec(0)) == 1
        assert [r.number for r in store.trials()] == [0, 1]
        got = {s.number: (s.asked_after, s.told_seq, s.attempts, s.worker) for s in store.schedule()}
        assert got == {0: (0, 1, 1, ""), 1: (0, 0, 2, "w1"), 2: (1, None, 0, "")}

    def test_finish_refuses_what_is_not_running(self, store: Store) -> None:
        with pytest.raises(HynasError, match="never started"):
            store.finish(_rec(0))
        store.start(0, "a0", None, asked_after=0)
        with pytest.raises(HynasError, match="status"):
            store.finish(TrialRecord(0, "a0", "running"))
        store.finish(_rec(0))
        with pytest.raises(HynasError, match="already in store"):
            store.finish(_rec(0))
        with pytest.raises(HynasError, match="already in store"):
            store.add(_rec(0))

    def test_finished_trials_read_back_equal_and_never_change(self, store: Store) -> None:
        original = {"accuracy": 91.5, "gap": math.inf, "bad": -math.inf}
        metrics = dict(original)
        rec = TrialRecord(0, "arch-0", "completed", 200.0, metrics, {"test": 90.0}, 12.5, "", 1.0, 2.0)
        failed = TrialRecord(1, "arch-1", "failed", None, error="RuntimeError: boom", started_at=3.0)
        store.add(rec)
        store.add(failed)
        metrics["accuracy"] = 0.0  # the caller's dict is not the stored one
        got = store.trials()
        assert got == [replace(rec, metrics=original), failed]
        got[0].metrics["accuracy"] = -1.0
        assert store.trials()[0].metrics["accuracy"] == 91.5
        nan = TrialRecord(2, "arch-2", "completed", metrics={"x": math.nan})
        store.add(nan)
        assert math.isnan(store.trials()[2].metrics["x"])
        sched = store.schedule()
        assert [(s.asked_after, s.told_seq, s.attempts) for s in sched] == [(0, 0, 1), (1, 1, 1), (2, 2, 1)]

    def test_a_value_of_the_wrong_type_is_refused_and_nothing_is_written(self, store: Store) -> None:
        store.start(0, "a0", None, asked_after=0)
        with pytest.raises(HynasError, match="trial 0"):
            store.finish(TrialRecord(0, "a0", "completed", metrics={"x": "high"}))  # type: ignore[dict-item]
        assert [(s.number, s.told_seq) for s in store.schedule()] == [(0, None)]  # still running

    # -- many writers ------------------------------------------------------------------------------
    def test_writer_threads_get_dense_distinct_numbers(self, store: Store) -> None:
        errors: list[BaseException] = []

        def writer(tag: str) -> None:
            handle = store.clone()
            try:
                for i in range(15):
                    number = handle.claim(f"{tag}-{i}", worker=tag)
                    handle.finish(_rec(number, f"{tag}-{i}"), worker=tag)
            except BaseException as exc:
                errors.append(exc)
            finally:
                handle.close()

        threads = [threading.Thread(target=writer, args=(f"t{k}",)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        recs, sched = store.state()
        assert [r.number for r in recs] == list(range(60)) and len({r.arch for r in recs}) == 60
        assert sorted(s.told_seq for s in sched if s.told_seq is not None) == list(range(60))

    def test_state_is_one_consistent_snapshot(self, store: Store) -> None:
        done = threading.Event()

        def writer() -> None:
            handle = store.clone()
            try:
                for i in range(40):
                    handle.start(i, f"a{i}", None, asked_after=i)
                    handle.finish(_rec(i))
            finally:
                handle.close()
                done.set()

        t = threading.Thread(target=writer)
        t.start()
        snapshots = 0
        while not done.is_set() or snapshots == 0:
            recs, sched = store.state()
            told = sorted(s.told_seq for s in sched if s.told_seq is not None)
            assert [r.number for r in recs] == [s.number for s in sched if s.told_seq is not None]
            assert told == list(range(len(told)))
            snapshots += 1
        t.join()
        assert len(store.trials()) == 40

    def test_writer_processes_get_dense_distinct_numbers(self, store: Store) -> None:
        self._durable(store)
        children = [self._child(store, "write", f"p{k}", 20) for k in range(2)]
        for i in range(10):  # this process writes at the same time
            number = store.claim(f"main-{i}")
            store.finish(_rec(number, f"main-{i}"))
        for c in children:
            _, err = c.communicate(timeout=120)
            assert c.returncode == 0, err.decode()
        recs = store.trials()
        assert [r.number for r in recs] == list(range(50)) and len({r.arch for r in recs}) == 50
        assert sorted(s.told_seq for s in store.schedule() if s.told_seq is not None) == list(range(50))

    # -- durability and handles --------------------------------------------------------------------
    def test_a_closed_and_reopened_store_keeps_everything(self, store: Store) -> None:
        self._durable(store)
        store.set_config({"seed": 1})
        store.add(_rec(0, metrics={"accuracy": 50.0}))
        store.start(1, "a1", 12.0, asked_after=1)
        store.set_reference({"latency": 3.5})
        store.acquire("driver", 30.0)
        other = self.reopen(store)  # committed before the methods returned: seen while still open
        try:
            assert other.trials() == store.trials() and len(other.schedule()) == 2
        finally:
            other.close()
        expected = store.state()
        store.close()
        again = self.reopen(store)
        try:
            assert again.state() == expected and again.config() == {"seed": 1}
            assert again.reference() == {"latency": 3.5}
            lease = again.driver()
            assert lease is not None and lease.token == "driver"
            again.finish(_rec(1, fidelity=12.0))  # the pending trial is finished by whoever resumes
            assert [r.number for r in again.trials()] == [0, 1]
        finally:
            again.close()

    def test_a_clone_shares_the_store_and_closes_alone(self, store: Store) -> None:
        other = store.clone()
        other.add(_rec(0))
        other.close()
        assert [r.number for r in store.trials()] == [0]
        store.add(_rec(1))
        assert len(store.trials()) == 2

    def test_the_reference_point_is_stored_once(self, store: Store) -> None:
        store.set_reference({"accuracy": -10.0, "latency": 5.0})
        store.set_reference({"accuracy": 0.0})
        assert store.reference() == {"accuracy": -10.0, "latency": 5.0}
        other = self.reopen(store)
        try:
            other.set_reference({"latency": 1.0})
            assert other.reference() == {"accuracy": -10.0, "latency": 5.0}
        finally:
            other.close()

    # -- the driver lease --------------------------------------------------------------------------
    def test_one_live_driver_at_a_time(self, store: Store) -> None:
        assert store.acquire("a", lease_s=30.0) is None
        other = store.clone()
        try:
            with pytest.raises(HynasError, match="in use by another search"):
                other.acquire("b", lease_s=30.0)
            assert store.acquire("a", lease_s=30.0) is not None  # the holder may take it again
            before = store.driver()
            time.sleep(0.02)
            store.heartbeat("a")
            after = store.driver()
            assert before is not None and after is not None and after.heartbeat > before.heartbeat
            other.release("b")  # not the holder: nothing happens
            assert store.driver() is not None
            store.release("a")
            assert store.driver() is None
            assert other.acquire("b", lease_s=30.0) is None
        finally:
            other.close()

    def test_an_expired_lease_lets_another_driver_take_the_pending_trials(self, store: Store) -> None:
        store.acquire("a", lease_s=30.0)
        store.start(0, "a0", None, asked_after=0)
        store.start(1, "a1", None, asked_after=0)
        store.finish(_rec(0))
        other = self.reopen(store)
        try:
            with pytest.raises(HynasError, match="in use by another search"):
                other.acquire("b", lease_s=30.0)
            time.sleep(0.3)  # "a" heartbeats no more
            prev = other.acquire("b", lease_s=0.2)
            assert prev is not None and prev.token == "a"
            pending = [s.number for s in other.schedule() if s.told_seq is None]
            assert pending == [1]
            other.finish(_rec(1))
            store.heartbeat("a")  # the old driver cannot take the store back by beating
            store.release("a")
            lease = store.driver()
            assert lease is not None and lease.token == "b"
            assert [r.number for r in store.trials()] == [0, 1]
        finally:
            other.close()

    def test_a_dead_driver_process_is_taken_over_at_once(self, store: Store) -> None:
        self._durable(store)
        child = self._child(store, "die", "dead")
        _, err = child.communicate(timeout=120)
        assert child.returncode == 0, err.decode()
        lease = store.driver()
        assert lease is not None and lease.token == "dead"
        prev = store.acquire("alive", lease_s=3600.0)  # same host: its pid is gone, no need to wait
        assert prev is not None and prev.token == "dead"
        pending = [s for s in store.schedule() if s.told_seq is None]
        assert [(s.number, s.arch) for s in pending] == [(0, "dead-pending")]
        store.finish(_rec(0, "dead-pending"))
        assert [r.arch for r in store.trials()] == ["dead-pending"]

    # -- what the runner does with it --------------------------------------------------------------
    def test_a_search_runs_and_resumes_on_the_store(self, store: Store) -> None:
        from hynas.core.experiment import ExperimentConfig
        from hynas.runners import run
        from hynas.stores import MemoryStore
        from hynas.wiring import Experiment

        def cfg(budget: int) -> ExperimentConfig:
            return ExperimentConfig(strategy="rea", objectives=("accuracy",), budget=budget, seed=7)

        first = run(Experiment(cfg(6)), store)
        assert [r.number for r in first] == list(range(6)) and store.driver() is None  # released
        handle = self.reopen(store)
        try:
            resumed = run(Experiment(cfg(10)), handle)
        finally:
            handle.close()
        with MemoryStore() as fresh:
            straight = run(Experiment(cfg(10)), fresh)

        def key(recs: list[TrialRecord]) -> list[tuple[object, ...]]:
            return [(r.number, r.arch, r.status, r.metrics) for r in recs]

        assert key(resumed) == key(straight) and key(store.trials()) == key(straight)
        assert (store.config() or {}).get("budget") == 10
        assert store.driver() is None
