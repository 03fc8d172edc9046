"""``hynas report``: Pareto plot, anytime plot and a markdown summary in one folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hynas.core.store import TrialRecord
from hynas.report.html import plotly_available, write_html
from hynas.report.plots import plot_anytime, plot_objective, plot_pareto
from hynas.report.summary import format_duration, summarize, trial_counts
from hynas.wiring import Experiment

__all__ = ["write_report"]


def _fmt(v: object) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _code(text: str) -> str:
    """Inline code that survives a markdown table cell (arch strings contain ``|``)."""
    return "`" + text.replace("|", "\\|") + "`"


def write_report(
    exp: Experiment,
    records: list[TrialRecord],
    out_dir: Path,
    store_path: str,
    ref: np.ndarray | None = None,
) -> dict[str, Path]:
    """``ref``: the run's reference point (default: computed from ``records``). Writes ``report.md``,
    the PNG figures (``pareto.png``, or ``objective.png`` for a single objective, and ``anytime.png``)
    and, when plotly is installed (the ``report`` extra), the interactive ``report.html``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if len(exp.objectives) > 1:
        main = ("pareto", plot_pareto(exp, records, out_dir / "pareto.png", ref), "Pareto front")
    else:
        main = (
            "objective",
            plot_objective(exp, records, out_dir / "objective.png"),
            "Objective of every trial",
        )
    curve = plot_anytime(exp, records, out_dir / "anytime.png", ref)
    s = summarize(exp, records, ref)
    cfg = s["config"]
    lines = [
        f"# hynas report: `{store_path}`",
        "",
        "| setting | value |",
        "|---|---|",
        *[f"| {k} | `{v}` |" for k, v in cfg.items()],
        "",
        f"- trials: {trial_counts(s)}",
        f"- cost: {format_duration(s['cost_s'])} (simulated for tabular benchmarks)",
        f"- objectives: {', '.join(s['objectives'])}",
        f"- constraints: {', '.join(s['constraints']) or 'none'}",
        f"- hypervolume: {s['hypervolume']:.6g} (reference point in minimisation form: "
        f"{', '.join(f'{x:.6g}' for x in s['reference_point_min_form'])}; from "
        f"{', '.join(s['reference_point_from'])}: the worst value over the space's table, or past the "
        "worst of the first completed trials)",
    ]
    if s["hypervolume_ratio"] is not None:
        lines.append(f"- hypervolume ratio to the true front: **{s['hypervolume_ratio']:.4f}**")
    if "best" in s:
        lines.append(
            f"- best by {exp.objectives[0].name}: `{s['best']['arch']}` "
            + ", ".join(f"{k}={_fmt(v)}" for k, v in s["best"].items() if k not in ("arch", "number"))
        )
    lines += ["", "## Pareto front", ""]
    if s["front"]:
        keys = [k for k in s["front"][0] if k not in ("arch",)]
        lines.append("| arch | " + " | ".join(keys) + " |")
        lines.append("|---|" + "---|" * len(keys))
        for row in s["front"]:
            lines.append(f"| {_code(row['arch'])} | " + " | ".join(_fmt(row[k]) for k in keys) + " |")
    else:
        lines.append("No feasible completed trial yet.")
    html = write_html(exp, records, out_dir / "report.html", store_path, ref) if plotly_available() else None
    if html is not None:
        lines += ["", "Interactive version: [report.html](report.html)"]
    lines += ["", f"![{main[2]}]({main[1].name})", "", "![Anytime curves](anytime.png)", ""]
    md = out_dir / "report.md"
    md.write_text("\n".join(lines), encoding="utf-8")
    return {"markdown": md, main[0]: main[1], "anytime": curve, **({"html": html} if html else {})}
