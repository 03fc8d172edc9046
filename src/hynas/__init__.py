"""hynas: hardware-aware neural architecture search for flexible, hybrid networks.

The public API in one place; see ``docs/architecture.md`` for the design.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hynas.core import lookup as _lookup
from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.core.evaluator import Evaluation, Evaluator, Metric
from hynas.core.experiment import ExperimentConfig
from hynas.core.objectives import Constraint, Objective
from hynas.core.space import Dim, SearchSpace
from hynas.core.strategy import Candidate, Result, Strategy

if TYPE_CHECKING:
    from hynas.ask_tell import AskTellStudy
    from hynas.core.store import Store
    from hynas.study import Study
    from hynas.wiring import Experiment

__all__ = [
    "Architecture",
    "Candidate",
    "Constraint",
    "Dim",
    "Evaluation",
    "Evaluator",
    "Experiment",
    "ExperimentConfig",
    "HynasError",
    "Metric",
    "Objective",
    "Result",
    "SearchSpace",
    "Strategy",
    "Study",
    "__version__",
    "create_study",
    "load",
    "search",
]

__version__ = "0.1.0"

# core asks the wiring module for what only the plug-ins know (see hynas.core.lookup); it is
# imported on the first question, so `import hynas` and `import hynas.core.*` stay cheap
_lookup.install("hynas.wiring")


def __getattr__(name: str) -> Any:
    # imported on first use: `import hynas.core.x` runs this file first and must load nothing above core
    if name == "Experiment":
        from hynas.wiring import Experiment

        return Experiment
    if name == "Study":
        from hynas.study import Study

        return Study
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def create_study(*args: Any, **kwargs: Any) -> AskTellStudy:
    """An ask/tell study: ``trial = study.ask()``, your own training of ``trial.build()``, then
    ``study.tell(trial, {"accuracy": ...})``; persisted in ``store`` and continued when opened
    again. The arguments are :func:`hynas.ask_tell.create_study`'s (``space``, ``objectives``,
    ``strategy``, ``store``, ``metrics``, ``constraints``, ``seed``, ``budget``, ...)."""
    from hynas.ask_tell import create_study as _create

    return _create(*args, **kwargs)


def load(location: str) -> Study:
    """The search stored at ``location`` (a path or URL) as a :class:`~hynas.study.Study`: its
    trials, configuration, ``front()``, ``best()``, ``to_dataframe()`` and ``to_csv()``."""
    from hynas.study import load as _load

    return _load(location)


def search(
    config: ExperimentConfig | None = None, store: str | Store | None = None, **overrides: Any
) -> Study:
    """Run a search from Python and return it as a :class:`~hynas.study.Study` (a one-call entry
    point, like pymoo's ``minimize``): a list of its trials, with ``front()``, ``best()`` and tables.

    ``store``: ``None`` (the default) keeps the trials in memory only (``hynas.stores.MemoryStore``);
    a path or URL (as ``hynas search --store``) or an open store keeps them, and running again on
    the same store resumes.
    """
    from hynas.report.analysis import fix_reference
    from hynas.runners import run
    from hynas.runners.base import check_runnable
    from hynas.stores import MemoryStore, open_store
    from hynas.study import Study
    from hynas.wiring import Experiment

    cfg = (config or ExperimentConfig()).with_overrides(**overrides)
    exp = Experiment(cfg)
    check_runnable(exp)  # an ask/tell configuration is refused before a store is made
    if store is None or store == ":memory:":  # ":memory:": the old default, kept working
        with MemoryStore() as st:
            return Study(exp, run(exp, st))
    if not isinstance(store, str):
        records = run(exp, store)
        return Study(exp, records, None, fix_reference(exp, store, records))
    with open_store(store) as st:
        records = run(exp, st)
        reference = fix_reference(exp, st, records)  # as `hynas search` does (report and show read it)
        return Study(exp, records, store, reference)
