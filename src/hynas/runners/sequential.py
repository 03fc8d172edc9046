"""The sequential runner: ask one, evaluate, commit, tell — and resume by replay.

Every finished trial is committed to the store before the next ``ask``. On start the runner
replays the stored trials through the freshly seeded strategy (``ask`` must return the stored
architecture, then ``tell`` gets the stored result), so a resumed run continues exactly where the
killed one stopped: no completed trial is lost or repeated, and a seeded run ends in the same
state as an uninterrupted one. A failed evaluation (exception or NaN) is stored as ``failed`` with
its reason and the search goes on.
"""

from __future__ import annotations

import math
import time
import traceback
from collections.abc import Callable

from hynas.core.errors import HynasError
from hynas.core.experiment import Experiment, ExperimentConfig
from hynas.core.store import Store, TrialRecord
from hynas.core.strategy import Candidate, Result

__all__ = ["budget_left", "check_config", "evaluate_candidate", "record_to_result", "run", "sync_store"]


def check_config(config: ExperimentConfig, store: Store) -> None:
    """Refuse a store written with a different configuration, naming the differing fields."""
    stored = store.config()
    if stored is None:
        return
    diffs = config.diff(stored)
    if diffs:
        raise HynasError(
            f"store {store.path!r} was made with a different configuration ("
            + "; ".join(diffs)
            + "); use another --store or the same settings"
        )


def sync_store(experiment: Experiment, store: Store) -> list[TrialRecord]:
    """Check or write the store's configuration and replay its trials into the strategy."""
    config = experiment.config
    check_config(config, store)
    stored = store.config()
    if stored is None:
        store.set_config(config.to_dict())
    else:
        if stored.get("budget") != config.budget or stored.get("budget_seconds") != config.budget_seconds:
            store.set_config(config.to_dict())
    records = store.trials()
    strategy = experiment.strategy
    for rec in records:
        cand = strategy.ask(1)[0]
        if str(cand.arch) != rec.arch or cand.fidelity != rec.fidelity:
            raise HynasError(
                f"cannot resume from {store.path!r}: at trial {rec.number} the strategy proposes {cand.arch} "
                f"but the store holds {rec.arch}; the store was written by a different hynas version"
            )
        strategy.tell([record_to_result(experiment, rec)])
    return records


def record_to_result(experiment: Experiment, rec: TrialRecord) -> Result:
    cand = Candidate(experiment.space.parse(rec.arch), rec.fidelity)
    if not rec.ok:
        return Result(cand, ok=False, violation=math.inf, cost_s=rec.cost_s)
    return experiment.result(cand, rec.metrics, rec.cost_s)


def budget_left(experiment: Experiment, records: list[TrialRecord], pending: int = 0) -> bool:
    cfg = experiment.config
    if cfg.budget is not None and len(records) + pending >= cfg.budget:
        return False
    return not (cfg.budget_seconds is not None and sum(r.cost_s for r in records) >= cfg.budget_seconds)


def evaluate_candidate(experiment: Experiment, number: int, cand: Candidate) -> TrialRecord:
    """Evaluate one candidate; any exception or NaN objective becomes a failed record."""
    started = time.time()
    try:
        ev = experiment.evaluate(cand)
        experiment.result(cand, ev.metrics, ev.cost_s)  # raises on NaN objectives
        return TrialRecord(
            number=number,
            arch=str(cand.arch),
            status="completed",
            fidelity=cand.fidelity,
            metrics=dict(ev.metrics),
            hidden=dict(ev.hidden),
            cost_s=ev.cost_s,
            started_at=started,
            finished_at=time.time(),
        )
    except Exception as exc:  # a failed trial must never stop the search
        reason = f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, HynasError):
            reason += " | " + traceback.format_exc(limit=3).replace("\n", " ")[-500:]
        return TrialRecord(
            number=number,
            arch=str(cand.arch),
            status="failed",
            fidelity=cand.fidelity,
            error=reason,
            started_at=started,
            finished_at=time.time(),
        )


def run(
    experiment: Experiment,
    store: Store,
    on_trial: Callable[[TrialRecord, list[TrialRecord]], None] | None = None,
    trial_delay: float = 0.0,
) -> list[TrialRecord]:
    """Run (or resume) ``experiment`` until its budget is spent; returns every trial."""
    records = sync_store(experiment, store)
    strategy = experiment.strategy
    while budget_left(experiment, records):
        cand = strategy.ask(1)[0]
        rec = evaluate_candidate(experiment, len(records), cand)
        if trial_delay:
            time.sleep(trial_delay)
        store.add(rec)
        records.append(rec)
        strategy.tell([record_to_result(experiment, rec)])
        if on_trial is not None:
            on_trial(rec, records)
    return records
