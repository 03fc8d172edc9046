"""``hynas rescore``: evaluate a finished search's front again, at full cost, into a new store.

A search scored by a cheap proxy (a supernet's inherited weights, a conversion plan after a few
alignment steps) ends with a front; this re-evaluates its architectures with another evaluator or
other evaluator options (e.g. ``--evaluator mobile-fmnist`` for stand-alone training, or
``--evaluator-option kd_steps=400`` for full distillation) through the ``given`` strategy, so the
new store is an ordinary search store: ``hynas show``, ``report``, ``export`` and ``hynas.load``
read it, and the same command continues it after a kill.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from hynas.cli.common import app, parse_options
from hynas.cli.search import run_search
from hynas.core.errors import HynasError

__all__ = ["rescore", "rescore_config"]


def rescore_config(
    source: str,
    which: str = "front",
    evaluator: str | None = None,
    evaluator_options: dict[str, Any] | None = None,
    dataset: str | None = None,
) -> Any:
    """The configuration that evaluates ``source``'s front (``which="front"``) or all its completed
    trials (``"all"``) again, with ``evaluator`` / ``evaluator_options`` / ``dataset`` changed."""
    from hynas.study import load

    if which not in ("front", "all"):
        raise HynasError(f"--which must be 'front' or 'all', got {which!r}")
    study = load(source)
    chosen = study.front() if which == "front" else [t for t in study if t.status == "completed"]
    if not chosen:
        raise HynasError(f"{source} has no completed trials to rescore")
    archs = list(dict.fromkeys(str(t.arch) for t in chosen))  # fidelity variants of one arch: once
    cfg = study.config
    new_evaluator = evaluator or cfg.evaluator
    options = dict(cfg.evaluator_options) if new_evaluator == cfg.evaluator else {}
    options.update(evaluator_options or {})
    return cfg.with_overrides(
        strategy="given",
        strategy_options={"archs": archs},
        evaluator=new_evaluator,
        evaluator_options=options,
        dataset=dataset or cfg.dataset,
        budget=len(archs),
        budget_seconds=None,
    )


@app.command()
def rescore(
    source: Annotated[str, typer.Argument(help="store of the finished search (path or URL)")],
    store: Annotated[str, typer.Option(help="new store for the re-scored trials (path or URL)")],
    which: Annotated[
        str, typer.Option(help="'front' (its Pareto front) or 'all' completed trials")
    ] = "front",
    evaluator: Annotated[str | None, typer.Option(help="evaluator (default: the search's)")] = None,
    evaluator_option: Annotated[
        list[str] | None, typer.Option("--evaluator-option", help="KEY=VALUE, over the search's options")
    ] = None,
    dataset: Annotated[str | None, typer.Option(help="dataset (default: the search's)")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """Evaluate a search's front again (another evaluator or options) into a new store."""
    if store == source:
        raise HynasError("--store must be a new store, not the search being rescored")
    cfg = rescore_config(
        source, which, evaluator, parse_options(evaluator_option, "--evaluator-option"), dataset
    )
    run_search(cfg, store, quiet, as_json, 0.0)
