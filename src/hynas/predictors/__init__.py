"""Performance predictors: regressors from an architecture encoding to a metric, with uncertainty.

Used by BANANAS (``hynas.strategies.bananas``) and by ``hynas predictor eval``. Every predictor
implements :class:`Predictor`: ``fit(X, y)`` then ``predict(X) -> (mean, std)``; ``std`` is the
predictor's own spread (ensemble disagreement, posterior std), which acquisition functions use.

Registered (``PREDICTORS.create(name, seed=...)``):

- ``mlp-ensemble``: BANANAS's ensemble of small feed-forward networks (White, Neiswanger & Savani,
  "BANANAS: Bayesian Optimization with Neural Architectures for Neural Architecture Search",
  AAAI 2021), trained jointly in PyTorch as one batched model.
- ``gbdt``: gradient-boosted trees (scikit-learn's ``HistGradientBoostingRegressor``); the spread
  comes from an ensemble of boosters fitted on bootstrap resamples.
- ``gp``: Gaussian process with a Matern-5/2 + white-noise kernel (scikit-learn).
- ``random-forest``: scikit-learn random forest; spread across trees.
"""

from __future__ import annotations

from hynas.core.registry import Registry
from hynas.predictors.base import Predictor
from hynas.predictors.models import GBDTEnsemble, GPPredictor, MLPEnsemble, RandomForestPredictor

__all__ = ["PREDICTORS", "GBDTEnsemble", "GPPredictor", "MLPEnsemble", "Predictor", "RandomForestPredictor"]

PREDICTORS: Registry[Predictor] = Registry("predictor", Predictor)
PREDICTORS.register("mlp-ensemble")(MLPEnsemble)
PREDICTORS.register("gbdt")(GBDTEnsemble)
PREDICTORS.register("gp")(GPPredictor)
PREDICTORS.register("random-forest")(RandomForestPredictor)
