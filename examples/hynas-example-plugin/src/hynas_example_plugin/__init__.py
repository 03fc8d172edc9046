"""An example hynas plug-in: the ``toy-mlp`` space, the ``toy-mlp-moons`` evaluator and the
``depth`` cost model.

hynas finds this package through its entry point (group ``hynas.plugins`` in ``pyproject.toml``),
which names :func:`register`. Keep this module cheap to import: hynas loads it on the first
lookup in any registry, including ``hynas list``; torch is imported only when a model is built.
"""

from __future__ import annotations

__all__ = ["register"]


def register() -> None:
    """Register the space, the evaluator and the cost model (hynas calls this once)."""
    from hynas.core.metrics import register_resolver
    from hynas.evaluators import EVALUATORS
    from hynas.spaces import SPACES
    from hynas_example_plugin.costs import resolve
    from hynas_example_plugin.evaluator import MoonsEvaluator
    from hynas_example_plugin.space import ToyMLPSpace

    SPACES.register("toy-mlp")(ToyMLPSpace)
    EVALUATORS.register("toy-mlp-moons")(MoonsEvaluator)
    register_resolver(resolve, ("depth", "hidden layers of a toy-mlp network: toy-mlp"), name="toy-depth")
