"""Every registered strategy keeps the strategy contract (:mod:`hynas.testing.strategies`).

Parametrized over ``STRATEGIES.names()``, so a newly registered strategy is tested automatically:
determinism under a seed, no duplicate queries, resume by replay giving the same result as an
uninterrupted run, a decent cell found, and (for multi-objective strategies) a non-dominated front.
"""

from __future__ import annotations

import pytest

from hynas.strategies import STRATEGIES, searches
from hynas.testing import strategies as contract

#: strategies whose runs take seconds, not milliseconds: their contract tests run with the slow suite
SLOW = {"optuna-gp"}


def _names(multi_only: bool = False) -> list:
    names = [n for n in STRATEGIES.names() if searches(n)]  # 'given' asks a list: tests/test_rescore.py
    if multi_only:
        names = [n for n in names if contract.takes_several_objectives(n)]
    return [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in names]


@pytest.mark.parametrize("name", _names())
def test_deterministic_under_seed(name, tmp_path):
    contract.check_deterministic(name, tmp_path)


@pytest.mark.parametrize("name", _names())
def test_no_duplicate_queries(name, tmp_path):
    contract.check_no_duplicate_queries(name, tmp_path)


@pytest.mark.parametrize("name", _names())
def test_resume_equals_uninterrupted(name, tmp_path):
    contract.check_resume(name, tmp_path)


@pytest.mark.parametrize("name", _names())
def test_finds_a_decent_cell(name, tmp_path):
    contract.check_finds_a_decent_cell(name, tmp_path)


@pytest.mark.parametrize("name", _names(multi_only=True))
def test_multi_objective_front_is_non_dominated(name, tmp_path):
    contract.check_front_is_non_dominated(name, tmp_path)
