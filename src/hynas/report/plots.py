"""Matplotlib figures of a run: the Pareto front and the anytime curves (PNG, no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from hynas.core.store import TrialRecord
from hynas.report.analysis import anytime, reference_point, run_front, true_front
from hynas.report.axes import axis_label, outside_note, robust_range
from hynas.wiring import Experiment

__all__ = ["plot_anytime", "plot_objective", "plot_pareto"]


def _label(exp: Experiment, i: int) -> str:
    return axis_label(exp, exp.objectives[i].name)


def _limit(
    ax: Any, exp: Experiment, ok: list[TrialRecord], front: list[TrialRecord], names: list[str]
) -> dict[str, int]:
    """Robust axis limits (x: ``names[0]``, y: ``names[1]``); how many points each leaves outside."""
    counts = {}
    for setter, name in ((ax.set_xlim, names[0]), (ax.set_ylim, names[1])):
        lo, hi, counts[name] = robust_range([r.metrics[name] for r in ok], [r.metrics[name] for r in front])
        setter(lo, hi)
    return counts


def _note(fig: Any, counts: dict[str, int]) -> None:
    note = outside_note(counts)
    if note:
        fig.text(0.01, 0.005, note, fontsize=7, color="tab:brown", ha="left", va="bottom", wrap=True)


def plot_objective(exp: Experiment, records: list[TrialRecord], path: Path) -> Path:
    """A single-objective run: the objective of every completed trial against its trial number."""
    o = exp.objectives[0]
    ok = [r for r in records if r.ok]
    vals = [r.metrics[o.name] for r in ok]
    fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=110)
    ax.scatter([r.number for r in ok], vals, s=10, c="tab:blue", label=f"completed trials ({len(ok)})")
    lo, hi, out = robust_range(vals, [min(vals, key=o.to_min)] if vals else [])
    ax.set_ylim(lo, hi)
    ax.set_xlabel("trial number")
    ax.set_ylabel(_label(exp, 0))
    ax.set_title(f"{exp.config.space} · {exp.config.strategy}: {o.name} of every trial")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    _note(fig, {o.name: out})
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    fig.savefig(path)
    plt.close(fig)
    return path


def _pairs(exp: Experiment, ok: list[TrialRecord], front: list[TrialRecord], path: Path) -> Path:
    """Three or more objectives: every pair of objectives in a grid (front members in red)."""
    names = [o.name for o in exp.objectives]
    n = len(names)
    fig, axes = plt.subplots(n - 1, n - 1, figsize=(3.2 * (n - 1), 3.0 * (n - 1)), dpi=110, squeeze=False)
    counts: dict[str, int] = {}
    for i in range(1, n):
        for j in range(n - 1):
            ax = axes[i - 1][j]
            if j >= i:
                ax.axis("off")
                continue
            pair = [names[j], names[i]]
            ax.scatter(*[[r.metrics[k] for r in ok] for k in pair], s=8, c="lightgray")
            ax.scatter(*[[r.metrics[k] for r in front] for k in pair], s=12, c="tab:red")
            counts.update(_limit(ax, exp, ok, front, pair))
            ax.set_xlabel(axis_label(exp, pair[0], arrow=False), fontsize=7)
            ax.set_ylabel(axis_label(exp, pair[1], arrow=False), fontsize=7)
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.3)
    fig.suptitle(f"{n} objectives: every pair (front in red, {len(front)} of {len(ok)} trials)")
    _note(fig, counts)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_pareto(
    exp: Experiment, records: list[TrialRecord], path: Path, ref: np.ndarray | None = None
) -> Path:
    """All trials, the run's front and (if known) the true front: two objectives in one plot, three
    or more as a grid of every pair. A single-objective run has no front: see :func:`plot_objective`."""
    if len(exp.objectives) < 2:
        raise ValueError("plot_pareto needs two or more objectives (plot_objective plots one)")
    ok = [r for r in records if r.ok]
    front = run_front(exp, records, reference_point(exp, records) if ref is None else ref)
    if len(exp.objectives) > 2:
        return _pairs(exp, ok, front.records, path)
    fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=110)
    names = [o.name for o in exp.objectives[:2]]
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
    counts = _limit(ax, exp, ok, front.records, [names[1], names[0]])
    ax.set_xlabel(_label(exp, 1))
    ax.set_ylabel(_label(exp, 0))
    ax.set_title(f"{exp.config.space}/{exp.config.dataset or ''} · {exp.config.strategy}")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    _note(fig, counts)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
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
        (axes[0], curve.queries, "queries [trials]"),
        (axes[1], curve.seconds / 3600.0, "cumulative cost [h] (simulated for tables, else measured)"),
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
