"""The markdown tables of ``bench/search.py``'s results (``bench/results/search.md``)."""

from __future__ import annotations

from typing import Any


def write_md(
    res: dict[str, Any], budgets: tuple[int, ...], datasets: tuple[str, ...], single: tuple[str, ...]
) -> str:
    """The report of ``res``; ``budgets`` are the query columns, rows follow ``datasets`` and
    ``single`` (the single-objective strategies in their order)."""
    lines = ["# bench/search.py results", ""]
    if "single" in res or "mo" in res or "mf" in res:
        lines += [f"Seeds: per row (column `seeds`); multi-fidelity {res.get('mf_seeds', '-')} seeds."]
    lines += [f"Wall time of the last invocation {res['wall_s'] / 60:.1f} min.", ""]
    if "single" in res:
        lines += ["## Single objective: incumbent test accuracy (mean ± std over seeds)", ""]
        lines += ["| dataset | strategy | seeds | " + " | ".join(f"{b} q" for b in budgets) + " | s/run |"]
        lines += ["|---|---|---|" + "---|" * (len(budgets) + 1)]

        rank = {n: i for i, n in enumerate(single)}

        def row_order(key: str) -> tuple[int, int, str]:
            ds, strat = key.split("/")
            return (datasets.index(ds) if ds in datasets else 99, rank.get(strat, 99), strat)

        for key in sorted(res["single"], key=row_order):
            v = res["single"][key]
            ds, strat = key.split("/")
            cells = [
                f"{v['test_accuracy'][str(b)]['mean']:.2f} ± {v['test_accuracy'][str(b)]['std']:.2f}"
                for b in budgets
            ]
            lines.append(
                f"| {ds} | {strat} | {v.get('seeds', '')} | "
                + " | ".join(cells)
                + f" | {v['seconds_per_run']:.1f} |"
            )
        lines.append("")
    if "mo" in res:
        lines += ["## Multi-objective (accuracy × latency@device): hypervolume ratio to the true front", ""]
        lines += ["| device | strategy | seeds | " + " | ".join(f"{b} q" for b in budgets) + " | s/run |"]
        lines += ["|---|---|---|" + "---|" * (len(budgets) + 1)]
        for key, v in res["mo"].items():
            dev, strat = key.split("/")
            cells = [
                f"{v['hv_ratio'][str(b)]['mean']:.4f} ± {v['hv_ratio'][str(b)]['std']:.4f}" for b in budgets
            ]
            lines.append(
                f"| {dev} | {strat} | {v.get('seeds', '')} | "
                + " | ".join(cells)
                + f" | {v['seconds_per_run']:.1f} |"
            )
        lines.append("")
    if "mf" in res:
        mf = res["mf"]
        cps = mf["checkpoints_in_full_queries"]
        lines += [
            "## Multi-fidelity: incumbent (200-epoch) test accuracy against simulated cost, CIFAR-10",
            "",
            f"Cost unit: the mean simulated cost of one 200-epoch query ({mf['unit_seconds']:.0f} s).",
            "",
            "| strategy | " + " | ".join(f"{c}× cost" for c in cps) + " | queries |",
            "|---|" + "---|" * (len(cps) + 1),
        ]
        for strat, v in mf.items():
            if not isinstance(v, dict):
                continue
            cells = [
                f"{v['test_accuracy'][str(c)]['mean']:.2f} ± {v['test_accuracy'][str(c)]['std']:.2f}"
                for c in cps
            ]
            lines.append(f"| {strat} | " + " | ".join(cells) + f" | {v['queries']:.0f} |")
        lines.append("")
    if "proxies" in res:
        p = res["proxies"]
        lines += [
            f"## Zero-cost proxies on {p['archs']} random NB201 cells (C=16, N=5, random batch of 64)",
            "",
            f"{p['seconds_per_arch_all_proxies']:.2f} s per cell for all five proxies.",
            "",
            "| proxy | Spearman vs CIFAR-10 val acc | Spearman vs shipped NASWOT |",
            "|---|---|---|",
        ]
        for name, v in p["ours"].items():
            lines.append(f"| {name} | {v['spearman_accuracy']:.3f} | {v['spearman_shipped_naswot']:.3f} |")
        lines += [
            "",
            f"Shipped NASWOT vs CIFAR-10 val accuracy over all cells: {p['shipped_naswot_spearman_accuracy_all_cells']:.3f}.",
            "",
            "NASLib NAS-Bench-Suite-Zero scores (shipped sample), Spearman vs accuracy:",
            "",
        ]
        names = sorted({k for d in p["naslib"].values() for k in d})
        lines += ["| dataset | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
        for ds, d in p["naslib"].items():
            lines.append(f"| {ds} | " + " | ".join(f"{d.get(n, float('nan')):.3f}" for n in names) + " |")
        lines.append("")
    if "warm" in res:
        w = res["warm"]
        lines += [
            f"## Zero-cost warm start quality ({w['archs']} random NB201 cells, CIFAR-10 200 epochs)",
            "",
            f"{w['pools']} random pools of {w['pool']} of those cells; the {w['k']} cells each proxy ranks "
            "first (what a warm start queries): test accuracy of the best-validation one, and their "
            "mean.",
            "",
            "| proxy | Spearman vs val acc | best of top 10 (test) | mean of top 10 (test) | s/cell |",
            "|---|---|---|---|---|",
        ]
        for name, v in w["proxies"].items():
            lines.append(
                f"| {name} | {v['spearman_val_accuracy']:.3f} | {v['top10_best_test']:.2f} | "
                f"{v['top10_mean_test']:.2f} | {v['seconds_per_cell']:.3f} |"
            )
        lines.append("")
    if "predictors" in res:
        lines += [
            "## Predictors: Kendall τ / Spearman ρ on NB201 CIFAR-10 validation accuracy (path encoding)",
            "",
            f"1,000 held-out cells, {res.get('predictor_trials', '')} random training sets per size "
            "(`hynas predictor eval`).",
            "",
        ]
        sizes = [r["train_size"] for r in next(iter(res["predictors"].values()))]
        lines += ["| predictor | " + " | ".join(f"n={n}" for n in sizes) + " | s/fit (n=200) |"]
        lines += ["|---|" + "---|" * (len(sizes) + 1)]
        for name, rows in res["predictors"].items():
            cells = [f"{r['kendall_tau']:.3f} / {r['spearman']:.3f}" for r in rows]
            lines.append(f"| {name} | " + " | ".join(cells) + f" | {rows[-1]['seconds']:.2f} |")
        lines.append("")
    return "\n".join(lines)
