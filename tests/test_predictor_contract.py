"""Every registered predictor keeps the predictor contract (:mod:`hynas.testing.predictors`)."""

from __future__ import annotations

import pytest

from hynas.predictors import PREDICTORS
from hynas.testing.predictors import check_predictor


@pytest.mark.parametrize("name", PREDICTORS.names())
def test_predictor_contract(name):
    check_predictor(lambda seed: PREDICTORS.create(name, seed=seed))
