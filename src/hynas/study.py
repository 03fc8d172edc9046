"""A finished or running search, read from Python: ``hynas.load(store)`` and ``hynas.search(...)``
return a :class:`Study` (in the manner of Optuna's ``Study``).

A study is a list of its trials (``len``, iteration and indexing work as on the list
``hynas.search`` used to return), plus the configuration, the constrained Pareto front, the best
trial per objective, and tables: ``to_dataframe()`` (pandas, the ``pandas`` extra) and
``to_csv()`` (no extra). Reading never changes the store.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

from hynas.core.errors import HynasError
from hynas.core.experiment import ExperimentConfig
from hynas.core.store import TrialRecord

if TYPE_CHECKING:
    import pandas

    from hynas.wiring import Experiment

__all__ = ["Study", "load"]


class Study(Sequence[TrialRecord]):
    """The trials of one search and what they show. ``trials`` is a snapshot taken when the study
    was made (:func:`load` again to see trials finished since)."""

    def __init__(
        self,
        experiment: Experiment,
        trials: list[TrialRecord],
        location: str | None = None,
        reference: dict[str, float] | None = None,
    ) -> None:
        self.experiment = experiment
        self.trials = sorted(trials, key=lambda r: r.number)
        self.location = location
        self._reference = reference

    @property
    def config(self) -> ExperimentConfig:
        return self.experiment.config

    @property
    def objectives(self) -> list[str]:
        return [o.name for o in self.experiment.objectives]

    # a Sequence of trials: `len(study)`, `study[0]`, `for t in study`
    def __len__(self) -> int:
        return len(self.trials)

    @overload
    def __getitem__(self, i: int) -> TrialRecord: ...
    @overload
    def __getitem__(self, i: slice) -> list[TrialRecord]: ...
    def __getitem__(self, i: int | slice) -> TrialRecord | list[TrialRecord]:
        return self.trials[i]

    def __iter__(self) -> Iterator[TrialRecord]:
        return iter(self.trials)

    def __repr__(self) -> str:
        where = f" in {self.location!r}" if self.location else ""
        done = sum(t.ok for t in self.trials)
        return f"<Study {self.config.strategy} on {self.config.space}{where}: {len(self)} trials, {done} completed>"

    def ask(self) -> Any:
        """Only an ask/tell study asks (:func:`hynas.create_study`)."""
        raise HynasError(self._read_only())

    def tell(self, *args: Any, **kwargs: Any) -> Any:
        """Only an ask/tell study is told (:func:`hynas.create_study`)."""
        raise HynasError(self._read_only())

    def _read_only(self) -> str:
        if self.config.evaluator == "told" and self.location:
            return f"this study was opened read-only; continue it with hynas.create_study(store={self.location!r})"
        return "this study is read-only (a finished search); ask and tell on one from hynas.create_study(...)"

    def default_name(self) -> str:
        """A name for exports: the store's file name without its suffix, else space_strategy_seed."""
        if self.location and "://" not in self.location:
            return Path(self.location).stem
        c = self.config
        return f"{c.space}_{c.strategy}_seed{c.seed}"

    def to_optuna(self, storage: str, study_name: str | None = None) -> Any:
        """This run as a new Optuna study in ``storage`` (see :mod:`hynas.report.optuna_study`)."""
        from hynas.report.optuna_study import to_optuna

        return to_optuna(self, storage, study_name)

    def front(self) -> list[TrialRecord]:
        """The constrained Pareto front: completed trials that meet every constraint and that no
        other such trial dominates, sorted by the first objective (best first)."""
        from hynas.report.analysis import run_front

        return run_front(self.experiment, self.trials, self.reference_point()).records

    def hypervolume(self) -> float:
        """Hypervolume of :meth:`front` against the run's reference point (``hynas show`` shows the same)."""
        from hynas.report.analysis import run_front

        return run_front(self.experiment, self.trials, self.reference_point()).hypervolume

    def best(self, objective: str | None = None) -> TrialRecord:
        """The feasible completed trial best in ``objective`` (default: the first objective);
        ties go to the earlier trial."""
        name = objective or self.objectives[0]
        objs = {o.name: o for o in self.experiment.objectives}
        if name not in objs:
            raise HynasError(f"unknown objective {name!r}; this study's objectives: {', '.join(objs)}")
        o = objs[name]
        ok = [
            t
            for t in self.trials
            if t.ok and all(c.violation(t.metrics[c.name]) == 0.0 for c in self.experiment.constraints)
        ]
        if not ok:
            raise HynasError("no completed trial meets the constraints yet")
        return min(ok, key=lambda t: (o.to_min(t.metrics[name]), t.number))

    def rows(self) -> list[dict[str, Any]]:
        """One flat dictionary per trial: number, status, arch, fidelity, cost_s, error and every
        metric (report-only metrics prefixed ``hidden:``)."""
        out = []
        for t in self.trials:
            row: dict[str, Any] = {
                "number": t.number,
                "status": t.status,
                "arch": t.arch,
                "fidelity": t.fidelity,
                "cost_s": t.cost_s,
                "error": t.error,
            }
            row.update(t.metrics)
            row.update({f"hidden:{k}": v for k, v in t.hidden.items()})
            out.append(row)
        return out

    def to_dataframe(self) -> pandas.DataFrame:
        """The trials as a pandas DataFrame (one row per trial; needs ``pip install 'hynas[pandas]'``)."""
        try:
            import pandas as pd
        except ImportError:
            raise HynasError(
                "to_dataframe needs pandas: pip install 'hynas[pandas]' (or use to_csv)"
            ) from None
        return pd.DataFrame(self.rows(), columns=self._columns())

    def to_csv(self, path: str | Path | None = None) -> str:
        """The trials as CSV (the columns of :meth:`rows`); written to ``path`` when given, and returned."""
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=self._columns(), lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows())
        text = buf.getvalue()
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def _columns(self) -> list[str]:
        cols = ["number", "status", "arch", "fidelity", "cost_s", "error"]
        for row in self.rows():
            cols += [k for k in row if k not in cols]
        return cols

    def reference_point(self) -> Any:
        """The run's reference point, minimisation form (as ``hynas show`` uses for the hypervolume)."""
        from hynas.report.analysis import reference_point

        return reference_point(self.experiment, self.trials, self._reference)


def load(location: str) -> Study:
    """The study in the store at ``location`` (a file path, ``sqlite:///`` or ``postgresql://``
    URL), opened read-only: loading never changes the store, even while a search writes to it."""
    from hynas.stores import open_store
    from hynas.wiring import Experiment

    with open_store(location, create=False, read_only=True) as st:
        cfg = st.config()
        if cfg is None:
            raise HynasError(
                f"store {location!r} has no experiment configuration yet (no search was started in it)"
            )
        trials, reference = st.trials(), st.reference()
    return Study(Experiment(ExperimentConfig.from_dict(cfg)), trials, location, reference)
