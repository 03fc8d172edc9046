"""Matplotlib figures of a run: the Pareto front and the anytime curves (PNG, no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from hynas.core.store import TrialRecord
from hynas.report.analysis import anytime, reference_point, run_front, true_front
from hynas.wiring import Experiment

__all__ = ["plot_anytime", "plot_pareto"]


def _label(exp: Experiment, i: int) -> str:
    o = exp.objectives[i]
    unit = exp.evaluator.metrics().get(o.name)
    u = f" [{unit.unit}]" if unit is not None and unit.unit else ""
    return f"{o.name}{u} ({'higher' if o.direction == 'max' else 'lower'} is better)"


def plot_pareto(
    exp: Experiment, records: list[TrialRecord], path: Path, ref: np.ndarray | None = None
) -> Path:
    """All trials, the run's front and (if known) the true front, for the first two objectives."""
    fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=110)
    if len(exp.objectives) < 2:
        vals = [r.metrics[exp.objectives[0].name] for r in records if r.ok]
        ax.hist(vals, bins=30, color="tab:blue", alpha=0.7)
        ax.set_xlabel(_label(exp, 0))
        ax.set_ylabel("trials")
        ax.set_title("Single objective: distribution of evaluated architectures")
    else:
        names = [o.name for o in exp.objectives[:2]]
        ok = [r for r in records if r.ok]
        xs = np.array([r.metrics[names[1]] for r in ok])
        ys = np.array([r.metrics[names[0]] for r in ok])
        ax.scatter(xs, ys, s=10, c="lightgray", label=f"evaluated ({len(ok)})")
        tf = true_front(exp)
        if tf is not None and len(tf.points):
            o0, o1 = exp.objectives[0], exp.objectives[1]
            pts = tf.points[np.argsort(tf.points[:, 1])]
            ax.step(
                [o1.to_min(v) for v in pts[:, 1]],
                [o0.to_min(v) for v in pts[:, 0]],
                where="post",
                color="tab:green",
                lw=1,
                label="true front",
            )
        front = run_front(exp, records, reference_point(exp, records) if ref is None else ref)
        if front.records:
            fx = [r.metrics[names[1]] for r in front.records]
            fy = [r.metrics[names[0]] for r in front.records]
            order = np.argsort(fx)
            xs_f, ys_f = np.array(fx)[order], np.array(fy)[order]
            ax.step(xs_f, ys_f, where="post", color="tab:red", lw=1.2)
            ax.plot(xs_f, ys_f, "o", color="tab:red", ms=4, label=f"found front ({len(fx)})")
        for c in exp.constraints:
            if c.name == names[1]:
                ax.axvline(c.bound, color="k", ls="--", lw=1, label=str(c))
            if c.name == names[0]:
                ax.axhline(c.bound, color="k", ls="--", lw=1, label=str(c))
        ax.set_xlabel(_label(exp, 1))
        ax.set_ylabel(_label(exp, 0))
        ax.set_title(f"{exp.config.space}/{exp.config.dataset or ''} · {exp.config.strategy}")
        ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_anytime(
    exp: Experiment, records: list[TrialRecord], path: Path, ref: np.ndarray | None = None
) -> Path:
    """Best objective (or hypervolume) so far against queries and against (simulated) seconds."""
    curve = anytime(exp, records, reference_point(exp, records) if ref is None else ref)
    multi = len(exp.objectives) > 1
    y = curve.hypervolume if multi else curve.best
    ylabel = "hypervolume" if multi else f"best {_label(exp, 0)}"
    tf = true_front(exp) if multi else None
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), dpi=110)
    for ax, x, xlabel in (
        (axes[0], curve.queries, "queries"),
        (axes[1], curve.seconds / 3600.0, "cost (simulated or measured hours)"),
    ):
        ax.plot(x, y, color="tab:blue", label=ylabel)
        if not multi:
            for k, v in curve.best_hidden.items():
                ax.plot(x, v, color="tab:orange", ls="--", label=f"incumbent's {k}")
        if tf is not None:
            ax.axhline(tf.hypervolume, color="tab:green", ls=":", label="hypervolume of the true front")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("Anytime performance")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
