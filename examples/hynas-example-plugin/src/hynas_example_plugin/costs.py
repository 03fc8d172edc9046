"""``depth``: a cost model of the ``toy-mlp`` space (its number of hidden layers)."""

from __future__ import annotations

from hynas import Architecture, SearchSpace
from hynas.core.metrics import CostModel, MetricInfo
from hynas_example_plugin.space import LAYERS


class Depth(CostModel):
    info = MetricInfo("depth", "min", "layers", "hidden layers of a toy-mlp network")

    def __call__(self, arch: Architecture) -> float:
        return float(LAYERS[arch.genes[0]])


def resolve(name: str, space: SearchSpace) -> CostModel | None:
    """Serves ``depth`` on ``toy-mlp``; every other name is another resolver's."""
    return Depth() if name == "depth" and space.name == "toy-mlp" else None
