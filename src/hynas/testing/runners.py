"""The runner contract suite: a runner loses no trial and repeats none when the process evaluating
a trial dies, and its results are the sequential runner's.

Subclass :class:`RunnerContract` in a test file, name the runner and its worker count::

    class TestPool(RunnerContract):
        runner = "pool"
        slots = 2

pytest then runs every ``test_*`` method. Each search runs in a driver process of its own on an
SQLite store, and evaluations die through :class:`hynas.runners.faults.FaultyEvaluator`'s ``die``
fault (``SIGKILL``) or through ``os._exit``, each the first time an architecture is evaluated.
Where the evaluation runs in the driver (the sequential runner), the driver dies with it and is
started again on the same store, as a user would; elsewhere the runner re-queues the trial itself.
Either way the store must end with trials 0..N-1 exactly once, nothing left running, and the same
trials as an uninterrupted sequential run.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from hynas.core.arch import Architecture
from hynas.core.evaluator import Evaluation
from hynas.core.experiment import ExperimentConfig
from hynas.core.store import TrialRecord
from hynas.runners import RunOptions, run
from hynas.runners.faults import FaultyEvaluator
from hynas.stores import MemoryStore, open_store
from hynas.wiring import Experiment

__all__ = ["RunnerContract"]

DEATHS = ("sigkill", "exit")


class _ExitingEvaluator(FaultyEvaluator):
    """The ``die`` fault through ``os._exit`` (no signal, no clean-up) instead of ``SIGKILL``."""

    def evaluate(self, arch: Architecture, fidelity: float | None = None) -> Evaluation:
        if self.fault(arch) == "die" and self._armed(arch, "die"):
            os._exit(3)
        return super().evaluate(arch, fidelity)  # the marker is set: it evaluates normally


def _drive(experiment: Experiment, location: str, options: RunOptions) -> None:
    with open_store(location) as st:
        run(experiment, st, options=options)


def _key(records: list[TrialRecord]) -> list[tuple[object, ...]]:
    return sorted((r.number, r.arch, r.status, r.metrics) for r in records)


class RunnerContract:
    """What every runner keeps; see the module docstring for how to use it."""

    #: the runner's name (``RunOptions.runner``)
    runner = "sequential"
    #: trials in flight at once (the sequential runner has one)
    slots = 1
    #: seconds one driver process may take before the test fails
    driver_timeout_s = 300.0

    def require(self) -> None:
        """Skip here when the runner's extra is not installed."""

    @pytest.fixture(autouse=True)
    def _required(self) -> Iterator[None]:
        self.require()
        yield

    def options(self, slots: int, **kw: object) -> RunOptions:
        return RunOptions(runner=self.runner, workers=slots, **kw)  # type: ignore[arg-type]

    def sequential(self, config: ExperimentConfig) -> list[TrialRecord]:
        """The trials of an uninterrupted sequential run (in memory)."""
        with MemoryStore() as st:
            return run(Experiment(config), st)

    def drive_until_done(self, experiment: Experiment, location: str, options: RunOptions, tries: int) -> int:
        """Run the search in a driver process, again after each death; returns how many died."""
        ctx = mp.get_context("fork")  # the child inherits the experiment and its fault injection
        for died in range(tries):
            proc = ctx.Process(target=_drive, args=(experiment, location, options))
            proc.start()
            proc.join(self.driver_timeout_s)
            if proc.is_alive():
                proc.kill()
                proc.join()
                raise AssertionError(f"the {self.runner} driver ran past {self.driver_timeout_s} s")
            if proc.exitcode == 0:
                return died
        raise AssertionError(f"the {self.runner} search did not finish in {tries} driver runs")

    def check_store(self, location: str, expected: list[TrialRecord]) -> list[TrialRecord]:
        with open_store(location, create=False) as st:
            records, schedule = st.state()
        numbers = sorted(s.number for s in schedule)
        assert numbers == list(range(len(expected))), "a trial was lost or stored twice"
        assert all(s.told_seq is not None for s in schedule), "a trial was left running"
        assert _key(records) == _key(expected)
        return records

    # -- the tests ---------------------------------------------------------------------------------
    def test_one_slot_gives_the_sequential_trials_in_order(self, tmp_path: Path) -> None:
        cfg = ExperimentConfig(strategy="rea", objectives=("accuracy",), budget=10, seed=3)
        with open_store(str(tmp_path / "one.db")) as st:
            got = run(Experiment(cfg), st, options=self.options(1))
        assert [(r.number, r.arch, r.metrics) for r in got] == [
            (r.number, r.arch, r.metrics) for r in self.sequential(cfg)
        ]

    def test_all_slots_give_the_sequential_trials(self, tmp_path: Path) -> None:
        if self.slots < 2:
            pytest.skip(f"the {self.runner} runner has one slot")
        # random search proposes the same sequence whatever the timing of the results
        cfg = ExperimentConfig(strategy="random", objectives=("accuracy",), budget=12, seed=5)
        with open_store(str(tmp_path / "many.db")) as st:
            got = run(Experiment(cfg), st, options=self.options(self.slots))
        assert _key(got) == _key(self.sequential(cfg))

    @pytest.mark.parametrize("death", DEATHS)
    def test_a_dying_evaluation_loses_no_trial_and_repeats_none(self, tmp_path: Path, death: str) -> None:
        # one slot: the results must also be the sequential ones in order (rea depends on the order)
        cfg = ExperimentConfig(strategy="rea", objectives=("accuracy",), budget=12, seed=2)
        self._run_with_deaths(tmp_path, cfg, 1, death)

    @pytest.mark.parametrize("death", DEATHS)
    def test_dying_evaluations_in_every_slot_lose_no_trial(self, tmp_path: Path, death: str) -> None:
        if self.slots < 2:
            pytest.skip(f"the {self.runner} runner has one slot")
        cfg = ExperimentConfig(strategy="random", objectives=("accuracy",), budget=16, seed=6)
        self._run_with_deaths(tmp_path, cfg, self.slots, death)

    def _run_with_deaths(self, tmp_path: Path, cfg: ExperimentConfig, slots: int, death: str) -> None:
        once = tmp_path / "once"
        once.mkdir()
        exp = Experiment(cfg)
        wrap = FaultyEvaluator if death == "sigkill" else _ExitingEvaluator
        exp.evaluator = faulty = wrap(exp.evaluator, seed=cfg.seed, die=0.25, once_dir=str(once))
        expected = self.sequential(cfg)
        doomed = {r.arch for r in expected if faulty.fault(faulty.space.parse(r.arch)) == "die"}
        assert doomed, "the fault injection must hit some trial"
        location = str(tmp_path / "faults.db")
        self.drive_until_done(exp, location, self.options(slots), tries=len(doomed) + 2)
        self.check_store(location, expected)
        assert len(os.listdir(once)) == len(doomed)  # every doomed evaluation did die once
