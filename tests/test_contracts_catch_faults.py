"""The contract suites of :mod:`hynas.testing` fail on plug-ins that break their contract (so a
pass means something), and a third-party plug-in registered at run time is checked like ours."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import numpy as np
import pytest

from hynas.core.arch import Architecture
from hynas.core.evaluator import Evaluation
from hynas.core.metrics import RESOLVERS, CostModel, MetricInfo
from hynas.core.strategy import Strategy
from hynas.evaluators import EVALUATORS
from hynas.evaluators.tabular import NB201Tabular
from hynas.predictors.models import RandomForestPredictor
from hynas.spaces import get_space
from hynas.spaces.nb201 import NB201Space
from hynas.strategies import STRATEGIES
from hynas.testing.cost_models import check_cost_model
from hynas.testing.evaluators import check_evaluator
from hynas.testing.predictors import check_predictor
from hynas.testing.spaces import check_space
from hynas.testing.strategies import check_deterministic, check_no_duplicate_queries

NB201 = get_space("nb201")


@pytest.fixture
def scratch(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Plug-ins registered inside a test are gone after it."""
    for reg in (STRATEGIES, EVALUATORS):
        monkeypatch.setattr(reg, "_entries", dict(reg._entries))
    yield


class ForgetfulSpace(NB201Space):
    """Parses every string as the first cell: ``parse`` is not the inverse of ``format``."""

    def parse(self, text: str) -> Architecture:
        return self.from_index(0)


def test_space_contract_catches_a_bad_round_trip():
    check_space(NB201, samples=5)
    with pytest.raises(AssertionError, match=r"space 'nb201': parse\(format\(a\)\) != a"):
        check_space(ForgetfulSpace(), samples=5)


class UnseededRandom(Strategy):
    """Random search on an unseeded generator: not deterministic under a seed."""

    name = "unseeded"

    def propose(self) -> Architecture:
        rng = np.random.default_rng()
        return self._first_fresh(self.space.sample(rng) for _ in range(100)) or self._random_fresh()


class Seeded(Strategy):
    """A third-party strategy that keeps the contract."""

    name = "seeded"

    def propose(self) -> Architecture:
        return self._random_fresh()


def test_strategy_contract_checks_third_party_strategies(scratch, tmp_path):
    STRATEGIES.register("seeded")(Seeded)
    check_deterministic("seeded", tmp_path)
    check_no_duplicate_queries("seeded", tmp_path)
    STRATEGIES.register("unseeded")(UnseededRandom)
    with pytest.raises(AssertionError, match="'unseeded': two runs with seed 0 ask different"):
        check_deterministic("unseeded", tmp_path)


class NoisyForest(RandomForestPredictor):
    """Adds unseeded noise to its predictions."""

    def _predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mean, std = super()._predict(x)
        return mean + np.random.default_rng().normal(0, 1e-3, len(mean)), std


def test_predictor_contract_catches_nondeterminism():
    check_predictor(lambda seed: RandomForestPredictor(seed=seed))
    with pytest.raises(AssertionError, match="two fits with seed 3 predict differently"):
        check_predictor(lambda seed: NoisyForest(seed=seed))


class Chatty(NB201Tabular):
    """Returns a metric it never declared."""

    def evaluate(self, arch: Architecture, fidelity: float | None = None) -> Evaluation:
        e = super().evaluate(arch, fidelity)
        return Evaluation({**e.metrics, "mood": 1.0}, e.hidden, e.cost_s, e.fidelity)


def test_evaluator_contract_catches_an_undeclared_metric(scratch):
    EVALUATORS.register("chatty")(Chatty)
    with pytest.raises(AssertionError, match=r"evaluator 'chatty' returned metrics \[.*'mood'"):
        check_evaluator("nb201", "chatty", archs=1)


class Shrinking(CostModel):
    """A cost that falls as the network grows (minus the analytic parameter count)."""

    info = MetricInfo("fake@shrink", "min", "", "test cost model")

    def __call__(self, arch: Architecture) -> float:
        from hynas.hw.analytic import analytic_costs

        return -float(analytic_costs(arch)["params"])


class Unstable(CostModel):
    """Different values from each freshly resolved model."""

    info = MetricInfo("fake@unstable", "min", "", "test cost model")

    def __init__(self) -> None:
        self.salt = np.random.default_rng().integers(1 << 30)

    def __call__(self, arch: Architecture) -> float:
        return float(int(hashlib.sha256(f"{self.salt}{arch}".encode()).hexdigest()[:6], 16))


@pytest.fixture
def fakes() -> Iterator[None]:
    def resolver(name: str, space: object) -> CostModel | None:
        return {"fake@shrink": Shrinking, "fake@unstable": Unstable}.get(name, lambda: None)()

    RESOLVERS.insert(0, resolver)
    yield
    RESOLVERS.remove(resolver)


def test_cost_model_contract_catches_a_falling_cost_and_instability(fakes):
    small, big = (
        NB201.from_index(0),
        NB201.parse(
            "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
        ),
    )
    check_cost_model("params", NB201, [small, big], larger=(small, big))
    with pytest.raises(AssertionError, match=r"the larger network .* costs less"):
        check_cost_model("fake@shrink", NB201, [small, big], larger=(small, big))
    with pytest.raises(AssertionError, match="a freshly resolved model gives other values"):
        check_cost_model("fake@unstable", NB201, [small, big])
