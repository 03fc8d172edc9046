"""Contract suites for every kind of plug-in, as Optuna ships ``optuna.testing`` for its samplers
and storages: a third party runs the same checks on its own plug-in that hynas runs on the
registered ones (the thin ``tests/test_*_contract.py`` files parametrize them over the registries).

Each module checks one kind and raises ``AssertionError`` naming the plug-in and the broken rule:
``hynas.testing.spaces`` (``check_space``, ``check_space_model``), ``hynas.testing.strategies``
(``check_strategy`` and its parts), ``hynas.testing.predictors`` (``check_predictor``),
``hynas.testing.evaluators`` (``check_evaluator``) and ``hynas.testing.cost_models``
(``check_cost_model``). Call them from a test of your own, for example::

    from hynas.testing.spaces import check_space

    def test_my_space_keeps_the_contract():
        check_space(MySpace())

Stores and runners have suites to subclass in a test file (pytest runs them):
``hynas.testing.stores.StoreContract`` and ``hynas.testing.runners.RunnerContract``. The suites
need pytest (the ``test`` extra).
"""
