"""Hybrid sequence-model benchmark (issue "Hybrid sequence models").

1. **Cost model vs built models.** 100 random ``hybrid-lm`` architectures, each at one context from
   1K to 32K tokens (cycled): parameters, prefill FLOPs, decode FLOPs per token and cache bytes of
   the built PyTorch model (FLOPs by ``torch.utils.flop_counter.FlopCounterMode``, memory from the
   parameter and cache tensor sizes; the model runs on the meta device so 32K-token attention costs
   nothing to run) against :mod:`hynas.hw.lm_costs`. Reports max and median relative error.
2. **Pareto front of quality vs memory at 128K tokens** from a real NSGA-II search
   (``bpb`` on held-out stdlib source × ``memory@128k``), through the real runner and SQLite store,
   with the all-attention and all-state-space baselines (same depth, width and training) evaluated
   in the same run and marked on the plot.
3. **Presets**: analytical memory and roofline latency at 4K/32K/128K for the Llama-2-7B-shaped
   presets (all attention, 1/3 full + 2/3 4K-window, 1/4 attention + 3/4 Mamba, ...).

Writes ``bench/results/hybrid.json``, ``hybrid.md`` and ``hybrid_pareto.png``. Usage::

    nice -n 10 python bench/hybrid.py                 # ~30 min on a shared 2-core machine
    python bench/hybrid.py --budget 12 --archs 20     # quick look
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hynas.core.errors import HynasError
from hynas.core.experiment import ExperimentConfig
from hynas.hw.lm_costs import PRESETS, decode_latency, lm_cost, prefill_latency
from hynas.report.analysis import run_front
from hynas.runners import run
from hynas.spaces import get_space
from hynas.stores import open_store
from hynas.testing.cost_models import built_lm_counts
from hynas.wiring import Experiment

RESULTS = Path(__file__).parent / "results"
CONTEXTS = (1024, 2048, 4096, 8192, 16384, 32768)
BASELINES = {
    "all-attention": "d64.hd16:" + ",".join(["attn-h4-kv4/mlp-f128"] * 4),
    "all-state-space": "d64.hd16:" + ",".join(["ssm-n16/mlp-f128"] * 4),
}


def rel(measured: float, analytic: float) -> float:
    if analytic == 0:
        return 0.0 if measured == 0 else float("inf")
    return abs(measured / analytic - 1.0)


def part1(n_archs: int, seed: int) -> dict[str, Any]:
    space = get_space("hybrid-lm")
    rng = np.random.default_rng(seed)
    rows = []
    t0 = time.perf_counter()
    for i in range(n_archs):
        arch = space.sample(rng)
        cfg = space.config(arch)
        ctx = CONTEXTS[i % len(CONTEXTS)]
        params, prefill, cache_bytes, decode = built_lm_counts(cfg, ctx)  # on the meta device
        c = lm_cost(cfg, ctx, batch=1, dtype="fp32")
        weights = 4 * params
        rows.append(
            {
                "arch": str(arch),
                "context": ctx,
                "params_err": rel(params, c.params),
                "prefill_flops_err": rel(prefill, c.prefill_matmul_flops),
                "decode_flops_err": rel(decode, c.decode_matmul_flops),
                "cache_err": rel(cache_bytes, c.cache_bytes),
                "memory_err": rel(weights + cache_bytes, c.memory_bytes),
                "scan_share": c.prefill_scan_flops / c.prefill_flops if c.prefill_flops else 0.0,
                "memory_gb": c.memory_bytes / 1e9,
            }
        )
    keys = ("params_err", "prefill_flops_err", "decode_flops_err", "cache_err", "memory_err")
    summary = {
        k: {"max": max(r[k] for r in rows), "median": statistics.median(r[k] for r in rows)} for k in keys
    }
    return {
        "archs": n_archs,
        "contexts": list(CONTEXTS),
        "seconds": time.perf_counter() - t0,
        "summary": summary,
        "max_scan_share": max(r["scan_share"] for r in rows),
        "rows": rows,
    }


def part2(budget: int, steps: int, seed: int, store: str) -> dict[str, Any]:
    ev_opts = {"steps": [steps]}
    cfg = ExperimentConfig(
        space="hybrid-lm",
        dataset=None,
        evaluator="lm-stdlib",
        evaluator_options=ev_opts,
        strategy="nsga2",
        objectives=("bpb", "memory@128k"),
        budget=budget,
        seed=seed,
    )
    exp = Experiment(cfg)
    t0 = time.perf_counter()
    with open_store(store) as st:
        records = run(exp, st)
    search_s = time.perf_counter() - t0
    front = run_front(exp, records)
    pts = [
        {"arch": r.arch, "bpb": r.metrics["bpb"], "memory@128k": r.metrics["memory@128k"], "cost_s": r.cost_s}
        for r in records
        if r.ok
    ]
    front_pts = [
        {"arch": r.arch, "bpb": r.metrics["bpb"], "memory@128k": r.metrics["memory@128k"]}
        for r in front.records
    ]
    space = exp.space
    mem = exp.cost_models["memory@128k"]
    base = {}
    for name, spec in BASELINES.items():
        arch = space.parse(spec)
        e = exp.evaluator.evaluate(arch)
        base[name] = {"arch": spec, "bpb": e.metrics["bpb"], "memory@128k": mem(arch), "cost_s": e.cost_s}
    return {
        "strategy": "nsga2",
        "objectives": ["bpb", "memory@128k"],
        "budget": budget,
        "steps": steps,
        "search_seconds": search_s,
        "failed": sum(1 for r in records if not r.ok),
        "trials": pts,
        "front": sorted(front_pts, key=lambda p: p["memory@128k"]),
        "baselines": base,
    }


def plot(p2: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    t = p2["trials"]
    ax.scatter([p["memory@128k"] for p in t], [p["bpb"] for p in t], s=14, c="0.7", label="evaluated")
    f = p2["front"]
    ax.plot([p["memory@128k"] for p in f], [p["bpb"] for p in f], "o-", c="C0", label="Pareto front")
    for (name, b), mk in zip(p2["baselines"].items(), ("s", "D"), strict=False):
        ax.scatter([b["memory@128k"]], [b["bpb"]], marker=mk, s=70, label=name, zorder=5)
    ax.set_xscale("log")
    ax.set_xlabel("memory at 128K tokens, GB (weights + KV cache + state, fp16)")
    ax.set_ylabel("validation bits per byte (stdlib)")
    ax.set_title(f"hybrid-lm, NSGA-II, {p2['budget']} evaluations × {p2['steps']} steps")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def part3() -> list[dict[str, Any]]:
    rows = []
    for name in ("llama2-7b", "llama2-7b-gqa8", "llama2-7b-swa", "llama2-7b-mamba", "llama2-7b-allmamba"):
        cfg = PRESETS[name]
        for ctx in (4096, 32768, 131072):
            c = lm_cost(cfg, ctx, batch=1, dtype="fp16")
            row: dict[str, Any] = {
                "preset": name,
                "context": ctx,
                "params_b": c.params / 1e9,
                "weights_gb": c.weights_bytes / 1e9,
                "kv_state_gb": c.cache_bytes / 1e9,
                "memory_gb": c.memory_bytes / 1e9,
                "prefill_tflop": c.prefill_flops / 1e12,
                "decode_gflop": c.decode_flops / 1e9,
            }
            for dev in ("a100", "h100"):
                try:
                    row[f"prefill_s@{dev}"] = prefill_latency(cfg, ctx, dev)
                    row[f"decode_ms@{dev}"] = 1e3 * decode_latency(cfg, ctx, dev)
                except HynasError:
                    row[f"prefill_s@{dev}"] = row[f"decode_ms@{dev}"] = None
            rows.append(row)
    return rows


def markdown(res: dict[str, Any]) -> str:
    p1, p2, p3 = res["cost_model"], res["search"], res["presets"]
    out = [
        "# hybrid-lm benchmark",
        "",
        f"Machine: {res['machine']}; torch threads {res['threads']}; total {res['seconds']:.0f} s.",
        "",
        f"## 1. Analytical cost model vs built PyTorch models ({p1['archs']} random architectures, "
        f"contexts {', '.join(str(c) for c in p1['contexts'])}; {p1['seconds']:.0f} s)",
        "",
        "| quantity | max relative error | median relative error |",
        "|---|---|---|",
    ]
    for k, v in p1["summary"].items():
        out.append(f"| {k.removesuffix('_err')} | {100 * v['max']:.4f} % | {100 * v['median']:.4f} % |")
    out += [
        "",
        "FLOPs are FlopCounterMode's (matmul, convolution and attention products); the element-wise "
        f"Mamba scan work that it does not count is at most {100 * p1['max_scan_share']:.1f} % of the "
        "analytic prefill FLOPs of these architectures and is not part of this comparison. Memory = "
        "fp32 parameter bytes + cache tensor bytes after prefilling the context.",
        "",
        f"## 2. Quality vs memory at 128K tokens (NSGA-II, {p2['budget']} evaluations, "
        f"{p2['steps']} training steps each; search {p2['search_seconds']:.0f} s, {p2['failed']} failed)",
        "",
        "![pareto](hybrid_pareto.png)",
        "",
        "| | architecture | bpb | memory@128k (GB) |",
        "|---|---|---|---|",
    ]
    for name, b in p2["baselines"].items():
        out.append(f"| **{name}** | `{b['arch']}` | {b['bpb']:.3f} | {b['memory@128k']:.4f} |")
    for p in p2["front"]:
        out.append(f"| front | `{p['arch']}` | {p['bpb']:.3f} | {p['memory@128k']:.4f} |")
    out += [
        "",
        "## 3. Presets (analytic, fp16, batch 1; roofline on the spec-sheet device catalog)",
        "",
        "| preset | context | params (B) | weights (GB) | KV+state (GB) | total (GB) | prefill a100 (s) | "
        "decode a100 (ms/token) | prefill h100 (s) | decode h100 (ms/token) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]

    def f(v: float | None, fmt: str) -> str:
        return "does not fit" if v is None else format(v, fmt)

    for r in p3:
        out.append(
            f"| {r['preset']} | {r['context']} | {r['params_b']:.2f} | {r['weights_gb']:.2f} | "
            f"{r['kv_state_gb']:.2f} | {r['memory_gb']:.2f} | {f(r['prefill_s@a100'], '.3f')} | "
            f"{f(r['decode_ms@a100'], '.2f')} | {f(r['prefill_s@h100'], '.3f')} | {f(r['decode_ms@h100'], '.2f')} |"
        )
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--archs", type=int, default=100)
    ap.add_argument("--budget", type=int, default=30)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--store", default=None, help="SQLite store of the search (resumed if it exists)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    RESULTS.mkdir(exist_ok=True)
    res: dict[str, Any] = {
        "machine": f"{platform.machine()} {os.cpu_count()} cores, {platform.python_version()}, torch {torch.__version__}",
        "threads": 1,
    }
    res["cost_model"] = part1(args.archs, args.seed)
    print("part 1:", json.dumps(res["cost_model"]["summary"]), flush=True)
    res["presets"] = part3()
    with tempfile.TemporaryDirectory() as tmp:
        store = args.store or os.path.join(tmp, "hybrid.db")
        res["search"] = part2(args.budget, args.steps, args.seed, store)
    print("part 2: front", len(res["search"]["front"]), "points", flush=True)
    res["seconds"] = time.perf_counter() - t0
    plot(res["search"], RESULTS / "hybrid_pareto.png")
    (RESULTS / "hybrid.json").write_text(json.dumps(res, indent=1))
    (RESULTS / "hybrid.md").write_text(markdown(res))
    print((RESULTS / "hybrid.md").read_text())


if __name__ == "__main__":
    main()
