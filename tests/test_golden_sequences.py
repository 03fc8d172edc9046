"""Golden query sequences: every strategy, on each tabular space, asks exactly the architectures it
asked when the golden file was written (``tests/golden/sequences.json``). A refactor that changes
what any strategy proposes, or the results it is told, fails here.

The hashes are taken with MKL's CPU-independent code path (``MKL_CBWR=COMPATIBLE``): without it
the predictor-based strategies (bananas) ask different architectures on different CPU models.

Regenerate only on purpose (a deliberate change of behaviour, said in the commit):
``python tests/test_golden_sequences.py --write``.

Some torch-based strategies (bananas' predictor, optuna-gp's GP) still ask differently on CPUs
whose kernels round differently: on an AMD EPYC with AVX-512 (2026-12-02) 13 of their 16 hashes
differed at an unchanged commit, with ``MKL_CBWR=COMPATIBLE`` and with ``ATEN_CPU_CAPABILITY``
avx2 or default alike. A golden value is therefore one hash or the list of hashes seen, one per
numeric path; ``--add`` appends this machine's hash where it is not listed yet (only at a commit
whose behaviour is unchanged, on a CPU of another kind). A refactor that changes what a strategy
asks changes its hash on every machine, and still fails here.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import pytest

GOLDEN = Path(__file__).parent / "golden" / "sequences.json"
# as tests/conftest.py sets it, for `python tests/test_golden_sequences.py --write` too: MKL's
# CPU-independent code path, so torch-based strategies give the same sequences on every machine
os.environ.setdefault("MKL_CBWR", "COMPATIBLE")

#: (space, objectives, constraints) per case; budgets stay small so the everyday run is quick
PROBLEMS = {
    "nb201-acc": ("nb201", ("accuracy",), ()),
    "nb201-acc-lat": ("nb201", ("accuracy", "latency@raspi4"), ()),
    "nb201-constrained": ("nb201", ("accuracy", "params"), ("latency@pixel3 <= 10",)),
    "ecnas-acc-energy": ("ecnas", ("accuracy", "energy@ecnas"), ()),
}
BUDGET = {"optuna-gp": 25}  # the GP sampler refits on every trial
DEFAULT_BUDGET = 40
SEEDS = (0, 1)


def _strategies() -> list[str]:
    from hynas.strategies import STRATEGIES, searches

    return sorted(n for n in STRATEGIES.names() if searches(n))  # 'given' asks a list it is given


def sequence_hash(strategy: str, problem: str, seed: int) -> str:
    """SHA-256 over the (architecture, fidelity, status) of every trial of a seeded run, or the
    refusal when the strategy does not take the problem."""
    import hynas

    space, objectives, constraints = PROBLEMS[problem]
    try:
        trials = hynas.search(
            space=space,
            strategy=strategy,
            objectives=objectives,
            constraints=constraints,
            budget=BUDGET.get(strategy, DEFAULT_BUDGET),
            seed=seed,
        )
    except hynas.HynasError as exc:  # a problem the strategy refuses must stay refused
        return f"refused: {exc}"
    text = "\n".join(f"{t.number}|{t.arch}|{t.fidelity}|{t.status}" for t in trials)
    return hashlib.sha256(text.encode()).hexdigest()


def _cases() -> list[tuple[str, str, int]]:
    return [(s, p, seed) for s in _strategies() for p in PROBLEMS for seed in SEEDS]


def _params() -> list:
    out = []
    for s, p, seed in _cases():
        marks = [] if seed == 0 and p in ("nb201-acc", "nb201-acc-lat") else [pytest.mark.slow]
        out.append(pytest.param(s, p, seed, marks=marks, id=f"{s}-{p}-{seed}"))
    return out


@pytest.mark.parametrize(("strategy", "problem", "seed"), _params())
def test_query_sequence_is_the_golden_one(strategy, problem, seed):
    golden = json.loads(GOLDEN.read_text())
    key = f"{strategy}|{problem}|{seed}"
    assert key in golden, f"no golden sequence for {key}: regenerate with --write (on purpose only)"
    assert sequence_hash(strategy, problem, seed) in accepted(golden[key])


def accepted(value: str | list[str]) -> list[str]:
    """The hashes a golden value accepts: one hash, or the list seen on several numeric paths."""
    return value if isinstance(value, list) else [value]


def test_every_registered_strategy_has_golden_sequences():
    golden = json.loads(GOLDEN.read_text())
    assert {k.split("|")[0] for k in golden} == set(_strategies())


if __name__ == "__main__" and sys.argv[1:] == ["--add"]:
    golden = json.loads(GOLDEN.read_text())
    added = 0
    for s, p, seed in _cases():
        key, h = f"{s}|{p}|{seed}", sequence_hash(s, p, seed)
        seen = accepted(golden.get(key, []))
        if h not in seen:
            golden[key], added = [*seen, h] if seen else h, added + 1
    GOLDEN.write_text(json.dumps(golden, indent=1, sort_keys=True) + "\n")
    print(f"added {added} hashes to {GOLDEN}")

if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    out = {f"{s}|{p}|{seed}": sequence_hash(s, p, seed) for s, p, seed in _cases()}
    GOLDEN.parent.mkdir(exist_ok=True)
    GOLDEN.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(out)} sequences to {GOLDEN}")
