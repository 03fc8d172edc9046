"""The ``hynas hw`` command group: hardware cost models from the command line.

``hynas hw profile`` builds a per-operator latency lookup table on this machine
(:mod:`hynas.hw.lut`). Imports of torch stay inside the commands so that ``hynas --help`` is fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

__all__ = ["hw_app"]

hw_app = typer.Typer(help="Hardware cost models: latency lookup tables, trust reports.", no_args_is_help=True)
_console = Console(stderr=True)


@hw_app.command("profile")
def profile(
    space: Annotated[str, typer.Option("--space", help="search space to profile (nb201, mobile)")],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="where to write the table (default $HYNAS_LUT_DIR or ~/.cache/hynas/lut-SPACE.json)"
        ),
    ] = None,
    batch: Annotated[int, typer.Option(help="batch size of every measurement")] = 1,
    threads: Annotated[int, typer.Option(help="torch intra-op threads")] = 1,
    warmup: Annotated[int, typer.Option(help="untimed runs before timing")] = 5,
    repeats: Annotated[int, typer.Option(help="timed runs per operator")] = 20,
    n_fit: Annotated[
        int, typer.Option("--n-fit", help="random networks measured end to end to fit the overhead")
    ] = 10,
    fit: Annotated[str, typer.Option(help="overhead fit: affine (scale and offset) or offset")] = "affine",
    mode: Annotated[
        str, typer.Option(help="time operators inside full networks (network) or alone (isolated)")
    ] = "network",
    stat: Annotated[str, typer.Option(help="statistic of the repeats: median or min")] = "median",
    clock: Annotated[
        str, typer.Option(help="wall, or cpu: the thread's CPU time (threads=1; steadier on a busy machine)")
    ] = "wall",
    seed: Annotated[int, typer.Option(help="seed of the fit networks")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="print the table's summary as JSON")] = False,
) -> None:
    """Measure every operator of SPACE once on this machine and save a latency lookup table."""
    from hynas.hw.lut import build_lut, default_lut_path
    from hynas.spaces import get_space

    get_space(space)  # unknown space: one clear error before any work
    table = build_lut(
        space,
        batch=batch,
        threads=threads,
        warmup=warmup,
        repeats=repeats,
        n_fit=n_fit,
        fit=fit,
        seed=seed,
        fit_repeats=max(3, repeats // 2),
        mode=mode,
        stat=stat,
        clock=clock,
        progress=lambda msg: _console.print(f"[dim]{msg}[/]", highlight=False),
    )
    path = table.save(out if out is not None else default_lut_path(space))
    summary = {
        "path": str(path),
        "space": table.space,
        "operators": len(table.entries),
        "scale": table.scale,
        "overhead_ms": table.overhead_s * 1e3,
        "build_seconds": table.meta["build_seconds"],
    }
    if as_json:
        typer.echo(json.dumps(summary))
    else:
        typer.echo(
            f"wrote {path}: {summary['operators']} operators of {space}, latency = "
            f"{table.scale:.3f} × Σ ops + {summary['overhead_ms']:.3f} ms "
            f"(built in {summary['build_seconds']:.1f} s)"
        )


@hw_app.command("validate")
def validate_cmd(
    space: Annotated[
        str, typer.Option("--space", help="nb201 (tables + measured) or mobile (measured)")
    ] = "nb201",
    n: Annotated[int, typer.Option("--n", help="table cells scored per HW-NAS-Bench device")] = 200,
    measure: Annotated[
        int,
        typer.Option("--measure", help="architectures measured on this machine as ground truth (0: skip)"),
    ] = 0,
    k: Annotated[int, typer.Option("--k", help="measured samples for the few-shot estimators")] = 10,
    device: Annotated[
        list[str] | None, typer.Option("--device", help="HW-NAS-Bench device(s) to score (default all)")
    ] = None,
    lut: Annotated[
        Path | None, typer.Option("--lut", help="lookup table to score (default lut:local)")
    ] = None,
    seed: Annotated[int, typer.Option(help="seed of the samples")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="print the rows as JSON")] = False,
) -> None:
    """Trust report: Kendall τ, Spearman ρ and MAPE of every latency estimator against ground truth."""
    from rich.table import Table

    from hynas.hw.validate import validate

    rows = validate(
        space,
        n=n,
        measure=measure,
        k=k,
        seed=seed,
        devices=device or None,
        lut=lut,
        progress=lambda msg: _console.print(f"[dim]{msg}[/]", highlight=False),
    )
    if as_json:
        typer.echo(json.dumps([r.to_dict() for r in rows]))
        return
    out = Table(title=f"latency estimators vs ground truth ({space})")
    for col in ("ground truth", "estimator", "n", "Kendall τ", "Spearman ρ", "MAPE"):
        out.add_column(col, justify="left" if col in ("ground truth", "estimator") else "right")
    for r in rows:
        mape = "—" if r.mape is None else f"{100 * r.mape:.1f}%"
        out.add_row(r.truth, r.estimator, str(r.n), f"{r.kendall:.3f}", f"{r.spearman:.3f}", mape)
    Console().print(out)
