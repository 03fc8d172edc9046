"""The ``hynas`` command line: search, show, report, list.

Every user error is a :class:`~hynas.core.errors.HynasError`; :func:`main` prints it as one line on
stderr and exits with status 2. Ctrl-C stops a search after the last committed trial (exit 130);
re-running the same command resumes it.
"""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer.exceptions import TyperException

from hynas.cli_checks import check_out_dir, check_search_flags
from hynas.core.errors import HynasError

app = typer.Typer(
    name="hynas",
    help="Hardware-aware neural architecture search: search a space for several objectives at once.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)


def _wide() -> Console:
    """Piped or captured output has no terminal width: give architecture strings and names room."""
    return console if console.is_terminal else Console(width=max(console.width, 200))


#: subcommand groups added by other modules (hw, predictor, ...): (typer app, name)
SUBAPPS: list[tuple[typer.Typer, str]] = []


def _parse_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
    except RecursionError:
        raise HynasError(f"option value {text[:30]!r}... is nested too deeply") from None


def _parse_options(items: list[str] | None, what: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise HynasError(f"malformed {what} {item!r}; expected KEY=VALUE, e.g. population=20")
        k, v = item.split("=", 1)
        out[k.strip()] = _parse_value(v.strip())
    return out


def _load_config_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise HynasError(f"config file {str(path)!r} not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise HynasError(f"config file {str(path)!r} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise HynasError(f"cannot read config file {str(path)!r}: {exc.strerror}") from None
    except RecursionError:
        raise HynasError(f"config file {str(path)!r} is nested too deeply to be a hynas config") from None
    return data


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

    data: dict[str, Any] = _load_config_file(config) if config else {}
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
            **_parse_options(strategy_option, "--strategy-option"),
        }
    if evaluator_option:
        data["evaluator_options"] = {
            **data.get("evaluator_options", {}),
            **_parse_options(evaluator_option, "--evaluator-option"),
        }
    if "budget_seconds" in data and "budget" not in data:
        data["budget"] = None
    check_search_flags(data, trial_delay, runner)
    store_path = data.pop("store", None)
    cfg = ExperimentConfig.from_dict(data)
    store_path = str(store_path or default_store(cfg))
    from hynas.runners import RunOptions

    opts = RunOptions(runner, workers, trial_timeout, retries, ray_address=ray_address)
    _run_search(cfg, store_path, quiet, as_json, trial_delay, opts)


def _run_search(
    cfg: Any, store_path: str, quiet: bool, as_json: bool, trial_delay: float, opts: Any = None
) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from hynas.core.experiment import Experiment
    from hynas.report.analysis import RunFront, reference_point, true_front
    from hynas.report.summary import summarize
    from hynas.runners import run
    from hynas.runners.sequential import check_config
    from hynas.stores import open_store, sqlite_path
    from hynas.stores.sqlite import check_store_path

    file = sqlite_path(store_path)
    if file is not None:
        check_store_path(file)
    exp = Experiment(cfg)
    if file is not None:
        check_store_path(file, make_folder=True)
    # the true front only when every objective comes from a table (never computed over the space)
    tf = true_front(exp) if len(exp.objectives) > 1 else None
    total = cfg.budget if cfg.budget is not None else None
    with open_store(store_path) as st:
        check_config(exp.config, st)
        progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[status]}"),
            console=err_console,
            disable=quiet or as_json,
        )
        # front, incumbent and hypervolume, updated per new trial at a cost that does not grow
        # with the run; it also fixes (and stores) the observed part of the reference point
        tracker = RunFront(exp, st.reference())

        def on_trial(rec: Any, records: list[Any]) -> None:
            tracker.update(records)
            if tracker.newly_fixed and tracker.fixed is not None:
                st.set_reference(tracker.fixed)
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
            progress.update(task, completed=len(records), status=status)

        with progress:
            task = progress.add_task(f"{cfg.strategy} on {cfg.space}", total=total, status="")
            try:
                records = run(exp, st, on_trial=on_trial, trial_delay=trial_delay, options=opts)
            except KeyboardInterrupt:
                n = len(st.trials())
                err_console.print(
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
    console.print(
        f"store: {escape(store_path)}   (report: hynas report {escape(store_path)})", soft_wrap=True
    )


def _print_summary(s: dict[str, Any], exp: Any) -> None:
    from hynas.report.summary import format_duration

    console.print(
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
        console.print(f"hypervolume {s['hypervolume']:.6g}{ratio}")
    table = Table(title=f"Pareto front ({len(s['front'])} architectures)")
    cols = [o.name for o in exp.objectives] + [
        c.name for c in exp.constraints if c.name not in {o.name for o in exp.objectives}
    ]
    hidden = sorted({k for row in s["front"] for k in row if k.startswith("hidden:")})
    table.add_column("#", justify="right")
    table.add_column("architecture", overflow="fold")
    for c in cols + hidden:
        table.add_column(c.replace("hidden:", ""), justify="right")
    for row in s["front"][:30]:
        table.add_row(str(row["number"]), row["arch"], *[f"{row[c]:.4g}" for c in cols + hidden])
    console.print(table)
    if len(s["front"]) > 30:
        console.print(f"... {len(s['front']) - 30} more (hynas show --json)")


def _open_existing(path: str) -> tuple[Any, list[Any], Any, Any]:
    """Experiment, trials, configuration and reference point (minimisation form) of a store."""
    from hynas.core.experiment import Experiment, ExperimentConfig
    from hynas.stores import open_store

    with open_store(path, create=False, read_only=True) as st:
        cfg_dict = st.config()
        if cfg_dict is None:
            raise HynasError(
                f"store {path!r} has no experiment configuration yet (no search was started in it)"
            )
        records = st.trials()
        stored_ref = st.reference()
    from hynas.report.analysis import reference_point

    exp = Experiment(ExperimentConfig.from_dict(cfg_dict))
    return exp, records, cfg_dict, reference_point(exp, records, stored_ref)


@app.command()
def show(
    store: Annotated[str, typer.Argument(help="store file")],
    as_json: Annotated[bool, typer.Option("--json", help="every trial as JSON")] = False,
    front: Annotated[bool, typer.Option("--front", help="only the Pareto front")] = False,
) -> None:
    """Show the trials of a store as a table (or JSON)."""
    from hynas.report.analysis import run_front

    exp, records, cfg, ref = _open_existing(store)
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
            r.status if r.ok else f"failed: {r.error[:40]}",
            r.arch,
            *fid,
            *vals,
            *hid,
            f"{r.cost_s:.0f}",
        )
    _wide().print(table)


@app.command()
def report(
    store: Annotated[str, typer.Argument(help="store file")],
    out: Annotated[Path | None, typer.Option(help="output folder (default: <store>-report)")] = None,
) -> None:
    """Write a Pareto plot, an anytime plot and a markdown summary."""
    from hynas.report.markdown import write_report
    from hynas.stores import sqlite_path

    out_dir = out or Path(f"{Path(sqlite_path(store) or store).with_suffix('')}-report")
    check_out_dir(out_dir)
    exp, records, _, ref = _open_existing(store)
    paths = write_report(exp, records, out_dir, store, ref)
    for kind, p in paths.items():
        console.print(f"{kind}: {escape(str(p))}")


@app.command("list")
def list_(
    what: Annotated[str, typer.Argument(help="spaces, strategies, objectives, devices or all")] = "all",
    options: Annotated[
        bool, typer.Option("--options", help="with strategies: each option's type, range and default")
    ] = False,
) -> None:
    """List what can be searched, with what, for what, on which device."""
    from hynas.catalog import catalog, strategy_options

    sections = catalog()
    if options:
        sections["strategy options"] = strategy_options()
        if what == "strategies":
            what = "strategy options"
    if what != "all" and what not in sections:
        raise HynasError(f"unknown list {what!r}; valid: all, {', '.join(sections)}")
    for name, (cols, rows) in sections.items():
        if what not in ("all", name):
            continue
        table = Table(title=name)
        for c in cols:
            table.add_column(c)
        for row in rows:
            table.add_row(*[str(x) for x in row])
        _wide().print(table)


def main() -> None:
    """Console entry point: one line per user error, never a traceback."""
    from hynas import plugins

    plugins.load()  # registers optional command groups

    for sub, name in SUBAPPS:
        if not any(g.name == name for g in app.registered_groups):
            app.add_typer(sub, name=name)
    try:
        code = app(standalone_mode=False)
    except HynasError as exc:
        _error_line(str(exc))
        sys.exit(2)
    except TyperException as exc:  # a usage error (bad flag or value): one line, not a box
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        _error_line(f"{exc.format_message()}{hint}")
        sys.exit(getattr(exc, "exit_code", 2))
    except typer.Abort:
        _error_line("aborted")
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


def _error_line(message: str) -> None:
    """One line on stderr, never wrapped; escaped: "pip install 'hynas[ray]'" is text, not markup."""
    err_console.print(f"[red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
