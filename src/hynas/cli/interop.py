"""``hynas export-optuna``: a run written into an Optuna study (optuna-dashboard, ``optuna.visualization``)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from hynas.cli import common
from hynas.cli.common import app

__all__ = ["export_optuna"]


@app.command("export-optuna")
def export_optuna(
    store: Annotated[str, typer.Argument(help="hynas store (file or URL), read-only")],
    storage: Annotated[str, typer.Argument(help="Optuna storage URL, e.g. sqlite:///optuna.db")],
    study_name: Annotated[
        str | None, typer.Option(help="name of the new Optuna study (default: the store's file name)")
    ] = None,
) -> None:
    """Write a hynas run into a new Optuna study, for optuna-dashboard and optuna.visualization."""
    from hynas.study import load

    out = load(store).to_optuna(storage, study_name)
    n = len(out.get_trials(deepcopy=False))
    common.console.print(
        f"wrote {n} trials to Optuna study {escape(out.study_name)!r} in {escape(storage)}; "
        f"view it with: optuna-dashboard {escape(storage)}",
        highlight=False,
        soft_wrap=True,
    )
