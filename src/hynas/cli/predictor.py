"""``hynas predictor eval``: rank correlation of a predictor against training-set size."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hynas.cli.common import parse_options
from hynas.core.errors import HynasError

__all__ = ["predictor_app"]

predictor_app = typer.Typer(
    name="predictor", help="Performance predictors: evaluate their rank correlation.", no_args_is_help=True
)


def _sizes(text: str) -> list[int]:
    try:
        out = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise HynasError(
            f"malformed --sizes {text!r}; expected comma-separated whole numbers, e.g. 10,20,50"
        ) from None
    if not out:
        raise HynasError("--sizes is empty; give e.g. 10,20,50,100,200")
    return out


@predictor_app.command("eval")
def eval_(
    space: Annotated[str, typer.Option(help="search space with tabular data")] = "nb201",
    dataset: Annotated[str | None, typer.Option(help="dataset of the tabular evaluator")] = "cifar10",
    predictor: Annotated[str, typer.Option(help="predictor name (see below)")] = "mlp-ensemble",
    metric: Annotated[str, typer.Option(help="metric to predict")] = "accuracy",
    encoding: Annotated[str | None, typer.Option(help="encoding (default: path if the space has it)")] = None,
    sizes: Annotated[str, typer.Option(help="training sizes, comma-separated")] = "10,20,50,100,200",
    trials: Annotated[int, typer.Option(help="repeats per size")] = 5,
    test_size: Annotated[int, typer.Option(help="held-out test architectures")] = 1000,
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    option: Annotated[list[str] | None, typer.Option("--option", "-o", help="predictor KEY=VALUE")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Kendall τ and Spearman ρ of a predictor at several training sizes."""
    from hynas.predictors import PREDICTORS
    from hynas.predictors.evaluate import evaluate_predictor, space_data

    PREDICTORS.factory(predictor)
    x, y = space_data(space, dataset, metric, encoding)
    rows = evaluate_predictor(
        x, y, predictor, _sizes(sizes), trials, test_size, seed, parse_options(option, "--option")
    )
    if as_json:
        print(
            json.dumps({"space": space, "dataset": dataset, "predictor": predictor, "rows": rows}, indent=2)
        )
        return
    table = Table(
        title=f"{predictor} on {space}/{dataset} ({metric}; {trials} repeats, {test_size} test archs)"
    )
    for col in ("train size", "Kendall τ", "Spearman ρ", "s / fit"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(
            str(r["train_size"]),
            f"{r['kendall_tau']:.3f} ± {r['kendall_tau_std']:.3f}",
            f"{r['spearman']:.3f} ± {r['spearman_std']:.3f}",
            f"{r['seconds']:.2f}",
        )
    Console().print(table)
