"""``hynas show``, ``hynas report`` and ``hynas list``: read a store, write a report, list the plug-ins."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from hynas.cli import common
from hynas.cli.checks import check_out_dir
from hynas.cli.common import app
from hynas.core.errors import HynasError

__all__ = ["list_", "open_existing", "report", "show"]


def open_existing(path: str) -> tuple[Any, list[Any], Any, Any]:
    """Experiment, trials, configuration and reference point (minimisation form) of a store."""
    from hynas.study import load

    study = load(path)
    return study.experiment, study.trials, study.config.to_dict(), study.reference_point()


@app.command()
def show(
    store: Annotated[str, typer.Argument(help="store file")],
    as_json: Annotated[bool, typer.Option("--json", help="every trial as JSON")] = False,
    front: Annotated[bool, typer.Option("--front", help="only the Pareto front")] = False,
) -> None:
    """Show the trials of a store as a table (or JSON)."""
    from hynas.report.analysis import run_front
    from hynas.report.summary import status_text

    exp, records, cfg, ref = open_existing(store)
    if front:
        records = run_front(exp, records, ref).records
    if as_json:
        print(json.dumps({"config": cfg, "trials": [r.__dict__ for r in records]}, indent=2, default=float))
        return
    names = [o.name for o in exp.objectives] + [c.name for c in exp.constraints]
    names = list(dict.fromkeys(names))
    hidden = sorted({k for r in records for k in r.hidden})
    # a multi-fidelity run gets a fidelity column (epochs or steps of each query)
    fids = len({r.fidelity for r in records}) > 1
    table = Table(title=f"{store}: {len(records)} trials")
    for col in ("#", "status", "architecture", *(["fidelity"] if fids else []), *names, *hidden, "cost s"):
        table.add_column(col, justify="left" if col in ("architecture", "status") else "right")
    for r in records:
        vals = [f"{r.metrics[n]:.4g}" if n in r.metrics else "-" for n in names]
        hid = [f"{r.hidden[n]:.4g}" if n in r.hidden else "-" for n in hidden]
        fid = ["-" if r.fidelity is None else f"{r.fidelity:g}"] if fids else []
        table.add_row(
            str(r.number),
            status_text(r, 40),
            r.arch,
            *fid,
            *vals,
            *hid,
            f"{r.cost_s:.0f}",
        )
    common.wide().print(table)


@app.command()
def report(
    store: Annotated[str, typer.Argument(help="store file")],
    out: Annotated[Path | None, typer.Option(help="output folder (default: <store>-report)")] = None,
) -> None:
    """Write a Pareto plot, an anytime plot, a markdown summary and (with the report extra) report.html."""
    from hynas.report.html import plotly_available
    from hynas.report.markdown import write_report
    from hynas.stores import sqlite_path

    out_dir = out or Path(f"{Path(sqlite_path(store) or store).with_suffix('')}-report")
    check_out_dir(out_dir)
    exp, records, _, ref = open_existing(store)
    paths = write_report(exp, records, out_dir, store, ref)
    for kind, p in paths.items():
        common.console.print(f"{kind}: {escape(str(p))}")
    if not plotly_available():
        common.console.print(
            escape("html: not written (report.html needs plotly: pip install 'hynas[report]')")
        )


@app.command("list")
def list_(
    what: Annotated[
        str,
        typer.Argument(
            help="spaces, strategies, objectives, devices, evaluators, predictors, stores, runners, "
            "commands or all"
        ),
    ] = "all",
    options: Annotated[
        bool, typer.Option("--options", help="with strategies: each option's type, range and default")
    ] = False,
) -> None:
    """List what can be searched, with what, for what, on which device (plug-ins included)."""
    from hynas.catalog import SECTIONS, catalog, strategy_options
    from hynas.cli import COMMANDS

    if options and what == "strategies":
        what = "strategy options"
    valid = [*SECTIONS, "commands", *(["strategy options"] if options else [])]
    if what != "all" and what not in valid:
        raise HynasError(f"unknown list {what!r}; valid: all, {', '.join(valid)}")
    sections = catalog(None if what == "all" else what)  # only what is shown is computed
    if what in ("all", "commands"):
        sections["commands"] = (
            ["command group", "description", "from"],
            [[f"hynas {n}", e.summary, e.origin] for n, e in sorted(COMMANDS.items())],
        )
    if options and what in ("all", "strategy options"):
        sections["strategy options"] = strategy_options()
    for name, (cols, rows) in sections.items():
        table = Table(title=name)
        for c in cols:
            table.add_column(c)
        for row in rows:
            table.add_row(*[escape(str(x)) for x in row])  # a plug-in summary is text, not markup
        common.wide().print(table)
