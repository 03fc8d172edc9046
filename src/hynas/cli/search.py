"""``hynas search``: run a search (or resume it) with a progress display and a summary."""

from __future__ import annotations

import json
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from hynas.cli import common
from hynas.cli.checks import check_search_flags
from hynas.cli.common import app, load_config_file, parse_options
from hynas.core import progress as trial_progress

__all__ = ["default_store", "run_search", "search", "trial_line"]


def default_store(cfg: Any) -> str:
    """``hynas-runs/<space>_<dataset>_<strategy>_seed<seed>.db``."""
    parts = [cfg.space, cfg.dataset or "", cfg.strategy, f"seed{cfg.seed}"]
    return str(Path("hynas-runs") / ("_".join(p for p in parts if p) + ".db"))


@app.command()
def search(
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="TOML file with any of the settings below")
    ] = None,
    space: Annotated[str | None, typer.Option(help="search space (default nb201)")] = None,
    dataset: Annotated[
        str | None,
        typer.Option(help="dataset of the evaluator (default: the space's, e.g. cifar10 for nb201)"),
    ] = None,
    evaluator: Annotated[
        str | None, typer.Option(help="evaluator (default: the space's tabular one)")
    ] = None,
    strategy: Annotated[
        str | None, typer.Option("--strategy", "-s", help="search strategy (default nsga2)")
    ] = None,
    strategy_option: Annotated[
        list[str] | None, typer.Option("--strategy-option", "-o", help="KEY=VALUE")
    ] = None,
    evaluator_option: Annotated[
        list[str] | None, typer.Option("--evaluator-option", help="KEY=VALUE")
    ] = None,
    objective: Annotated[
        list[str] | None, typer.Option("--objective", help="repeatable; default accuracy and latency@raspi4")
    ] = None,
    constraint: Annotated[
        list[str] | None, typer.Option("--constraint", help="e.g. 'latency@raspi4 <= 5'")
    ] = None,
    budget: Annotated[int | None, typer.Option(help="number of queries (default 300)")] = None,
    budget_seconds: Annotated[
        float | None, typer.Option(help="simulated/measured seconds of evaluation")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="random seed (default 0)")] = None,
    store: Annotated[
        str | None,
        typer.Option(help="store file (default hynas-runs/<space>_<dataset>_<strategy>_seed<seed>.db)"),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
    trial_delay: Annotated[
        float, typer.Option(help="sleep after each trial (for demos and kill tests)")
    ] = 0.0,
    runner: Annotated[str, typer.Option(help="sequential, pool or ray (see docs/scale.md)")] = "sequential",
    workers: Annotated[int, typer.Option(help="trials at once (>1: a process pool unless --runner ray)")] = 1,
    trial_timeout: Annotated[float | None, typer.Option(help="seconds per trial before it fails")] = None,
    retries: Annotated[int, typer.Option(help="extra attempts for a failed trial")] = 0,
    ray_address: Annotated[str | None, typer.Option(help="join this Ray cluster (with --runner ray)")] = None,
) -> None:
    """Run a search (or resume it: the same command on the same store continues)."""
    from hynas.core.experiment import ExperimentConfig

    data: dict[str, Any] = load_config_file(config) if config else {}
    flags = {
        "space": space,
        "dataset": dataset,
        "evaluator": evaluator,
        "strategy": strategy,
        "budget": budget,
        "budget_seconds": budget_seconds,
        "seed": seed,
        "store": store,
        "objectives": objective or None,
        "constraints": constraint or None,
    }
    data.update({k: v for k, v in flags.items() if v is not None})
    if strategy_option:
        data["strategy_options"] = {
            **data.get("strategy_options", {}),
            **parse_options(strategy_option, "--strategy-option"),
        }
    if evaluator_option:
        data["evaluator_options"] = {
            **data.get("evaluator_options", {}),
            **parse_options(evaluator_option, "--evaluator-option"),
        }
    if "budget_seconds" in data and "budget" not in data:
        data["budget"] = None
    check_search_flags(data, trial_delay, runner)
    store_path = data.pop("store", None)
    cfg = ExperimentConfig.from_dict(data)
    store_path = str(store_path or default_store(cfg))
    from hynas.runners import RunOptions

    opts = RunOptions(runner, workers, trial_timeout, retries, ray_address=ray_address)
    run_search(cfg, store_path, quiet, as_json, trial_delay, opts)


def run_search(
    cfg: Any, store_path: str, quiet: bool, as_json: bool, trial_delay: float, opts: Any = None
) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from hynas.report.analysis import RunFront, reference_point, true_front
    from hynas.report.summary import summarize
    from hynas.runners import run
    from hynas.runners.base import check_runnable
    from hynas.stores import open_store, sqlite_path
    from hynas.stores.sqlite import check_store_path
    from hynas.wiring import Experiment

    file = sqlite_path(store_path)
    if file is not None:
        check_store_path(file)
    exp = Experiment(cfg)
    check_runnable(exp)
    if file is not None:
        check_store_path(file, make_folder=True)
    # the true front only when every objective comes from a table (never computed over the space)
    tf = true_front(exp) if len(exp.objectives) > 1 else None
    total = cfg.budget if cfg.budget is not None else None
    with open_store(store_path) as st:
        exp.config.check_store(st)
        # a terminal gets a live bar (with the running trial's step and loss); piped or captured
        # output gets one log line per finished trial instead (a bar there shows only its last state)
        live = not (quiet or as_json) and common.err_console.is_terminal
        log_lines = not (quiet or as_json or live)
        progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[status]}"),
            TextColumn("{task.fields[trial]}"),
            console=common.err_console,
            disable=not live,
        )
        # front, incumbent and hypervolume, updated per new trial at a cost that does not grow
        # with the run; it also fixes (and stores) the observed part of the reference point
        tracker = RunFront(exp, st.reference())

        def on_trial(rec: Any, records: list[Any]) -> None:
            tracker.update(records)
            if tracker.newly_fixed and tracker.fixed is not None:
                st.set_reference(tracker.fixed)
            if log_lines:
                common.err_console.print(
                    trial_line(rec, len(records), total), highlight=False, soft_wrap=True
                )
            if progress.disable:
                return
            status = progress.tasks[0].fields["status"]
            if len(records) % 5 == 0 or len(records) == total:
                best = tracker.best()
                if best is not None:
                    o = exp.objectives[0]
                    status = f"best {o.name}={best.metrics[o.name]:.4g}"
                    if len(exp.objectives) > 1:
                        hv = tracker.hypervolume
                        status += f"  HV={hv:.4g}" + (f" ({hv / tf.hypervolume:.3f} of true)" if tf else "")
            progress.update(task, completed=len(records), status=status, trial="")

        def on_step(step: int, steps: int, loss: float) -> None:
            progress.update(task, trial=f"trial: step {step}/{steps} loss {loss:.3g}")

        with progress, trial_progress.listening(on_step) if live else nullcontext():
            task = progress.add_task(f"{cfg.strategy} on {cfg.space}", total=total, status="", trial="")
            try:
                records = run(exp, st, on_trial=on_trial, trial_delay=trial_delay, options=opts)
            except KeyboardInterrupt:
                n = len(st.trials())
                common.err_console.print(
                    f"interrupted: {n} completed trials are saved in {escape(store_path)}; "
                    "run the same command to resume",
                    highlight=False,
                    soft_wrap=True,
                )
                raise typer.Exit(130) from None
            progress.update(task, completed=len(records))
        tracker.update(records)
        if tracker.fixed is not None:
            st.set_reference(tracker.fixed)
        summary = summarize(exp, records, reference_point(exp, records, st.reference()))
    summary["store"] = store_path
    if as_json:
        print(json.dumps(summary, indent=2, default=float))
        return
    _print_summary(summary, exp)
    common.console.print(
        f"store: {escape(store_path)}   (report: hynas report {escape(store_path)})", soft_wrap=True
    )


def trial_line(rec: Any, done: int, total: int | None) -> str:
    """One log line for a finished trial (output without a terminal): number, status, metrics,
    cost and the whole architecture string, never wrapped."""
    from hynas.report.summary import format_duration

    of = f"/{total}" if total else ""
    what = "  ".join(f"{k}={v:.4g}" for k, v in rec.metrics.items()) if rec.ok else f"failed: {rec.error}"
    return f"[{done}{of}] trial {rec.number} {what}  ({format_duration(rec.cost_s)})  {rec.arch}"


def _print_summary(s: dict[str, Any], exp: Any) -> None:
    from hynas.report.summary import format_duration

    common.console.print(
        f"[bold]{s['trials']} trials[/] ({s['failed']} failed), cost {format_duration(s['cost_s'])}; "
        f"objectives: {', '.join(s['objectives'])}"
        + (f"; constraints: {', '.join(s['constraints'])}" if s["constraints"] else "")
    )
    if len(exp.objectives) > 1:
        ratio = (
            f", ratio to true front {s['hypervolume_ratio']:.4f}"
            if s["hypervolume_ratio"] is not None
            else ""
        )
        common.console.print(f"hypervolume {s['hypervolume']:.6g}{ratio}")
    table = Table(title=f"Pareto front ({len(s['front'])} architectures)")
    cols = [o.name for o in exp.objectives] + [
        c.name for c in exp.constraints if c.name not in {o.name for o in exp.objectives}
    ]
    hidden = sorted({k for row in s["front"] for k in row if k.startswith("hidden:")})
    table.add_column("#", justify="right")
    # a terminal folds long architecture strings; piped output keeps each on one line, to copy
    table.add_column("architecture", overflow="fold", no_wrap=not common.console.is_terminal)
    for c in cols + hidden:
        table.add_column(c.replace("hidden:", ""), justify="right")
    for row in s["front"][:30]:
        table.add_row(str(row["number"]), row["arch"], *[f"{row[c]:.4g}" for c in cols + hidden])
    console = common.console
    if not console.is_terminal:  # no terminal width to respect: room for the longest architecture
        longest = max((len(row["arch"]) for row in s["front"][:30]), default=0)
        console = Console(
            file=console.file, width=max(console.width, longest + 16 * (len(cols) + len(hidden)) + 20)
        )
    console.print(table)
    if len(s["front"]) > 30:
        common.console.print(f"... {len(s['front']) - 30} more (hynas show --json)")
