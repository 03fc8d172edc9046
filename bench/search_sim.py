"""In-process ask/evaluate/tell loop for benchmarks (the runner's loop without a store).

Same semantics as :func:`hynas.runners.run`: ask one, evaluate, tell; stop at a query budget or
when the summed simulated cost reaches ``budget_seconds``. Returns :class:`TrialRecord`s so that
``hynas.report.analysis`` works on them.
"""

from __future__ import annotations

import time
from typing import Any

from hynas.core.experiment import ExperimentConfig
from hynas.core.store import TrialRecord
from hynas.runners.sequential import evaluate_candidate, record_to_result
from hynas.wiring import Experiment


def simulate(
    strategy: str,
    dataset: str = "cifar10",
    objectives: tuple[str, ...] = ("accuracy",),
    budget: int | None = 100,
    budget_seconds: float | None = None,
    seed: int = 0,
    options: dict[str, Any] | None = None,
    constraints: tuple[str, ...] = (),
) -> tuple[Experiment, list[TrialRecord], float]:
    """Run one search; returns the experiment, its trials and the wall time in seconds."""
    cfg = ExperimentConfig(
        dataset=dataset,
        strategy=strategy,
        strategy_options=options or {},
        objectives=objectives,
        constraints=constraints,
        budget=budget,
        budget_seconds=budget_seconds,
        seed=seed,
    )
    t0 = time.perf_counter()
    exp = Experiment(cfg)
    records: list[TrialRecord] = []
    cost = 0.0
    while (budget is None or len(records) < budget) and (budget_seconds is None or cost < budget_seconds):
        cand = exp.strategy.ask(1)[0]
        rec = evaluate_candidate(exp, len(records), cand)
        records.append(rec)
        cost += rec.cost_s
        exp.strategy.tell([record_to_result(exp, rec)])
    return exp, records, time.perf_counter() - t0
