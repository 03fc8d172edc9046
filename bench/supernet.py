"""Supernet benchmark: speed of the elastic mobile supernet and how well inherited weights rank networks.

Part A, speed: over 30 seeded random architectures (batch 2, 10 classes, the ``mobile-fmnist``
resolutions 32–56 px, 1 thread), the median time of a supernet forward for the architecture, of
the extracted static network's forward, and of :func:`hynas.supernets.extract`.

Part B, ranking: trains the supernet on Fashion-MNIST with progressive shrinking (once-for-all,
Cai et al., ICLR 2020) for ``--steps`` steps per phase, then scores ``--archs`` seeded random
architectures plus the largest and smallest twice: with inherited weights
(:func:`hynas.supernets.train.evaluate_subnet`: extract, BN recalibration on 500 training images,
validation accuracy on 1000 images) and trained stand-alone from scratch by the ``mobile-fmnist``
evaluator for ``--standalone-steps`` steps. Reports Kendall's tau and Spearman's rho between the
two, and the time of each. Measures, never asserts. Writes bench/results/supernet.json and .md.

    nice -n 10 python bench/supernet.py                       # ~15 minutes on a 2-core shared machine
    nice -n 10 python bench/supernet.py --steps 20 10 10 10 --archs 4 --standalone-steps 25  # quick
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import torch
from scipy.stats import kendalltau, spearmanr

from hynas.evaluators.vision import MobileFashionMNIST, load_fmnist
from hynas.spaces import get_space
from hynas.supernets import ElasticMobileConfig, ElasticMobileNet, extract
from hynas.supernets.train import SupernetTrainConfig, evaluate_subnet, train_supernet

OUT = Path(__file__).parent / "results"


def speed(n: int = 30) -> dict[str, float]:
    space = get_space("mobile")
    net = ElasticMobileNet(config=ElasticMobileConfig(num_classes=10, resolution_scale=0.25)).eval()
    rng = np.random.default_rng(0)
    fw, st, ex = [], [], []
    for _ in range(n):
        arch = space.sample(rng)
        net.set_active(arch)
        size = net.input_size()
        x = torch.randn(2, 3, size, size)
        t = time.perf_counter()
        sub = extract(net, arch).eval()
        ex.append(time.perf_counter() - t)
        with torch.no_grad():
            t = time.perf_counter()
            net(x)
            fw.append(time.perf_counter() - t)
            t = time.perf_counter()
            sub(x)
            st.append(time.perf_counter() - t)
    ms = lambda v: round(1000 * statistics.median(v), 1)  # noqa: E731
    return {"archs": n, "supernet_forward_ms": ms(fw), "static_forward_ms": ms(st), "extract_ms": ms(ex)}


def ranking(steps: list[int], n_archs: int, standalone_steps: int, batch: int) -> dict[str, object]:
    space = get_space("mobile")
    data = load_fmnist()
    torch.manual_seed(0)
    net = ElasticMobileNet(config=ElasticMobileConfig(num_classes=10, resolution_scale=0.25))
    cfg = SupernetTrainConfig(steps=tuple(steps), batch=batch)
    t = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        records = train_supernet(net, cfg, data, checkpoint=Path(tmp) / "supernet.safetensors")
    train_s = time.perf_counter() - t
    rng = np.random.default_rng(1)
    archs = [net.largest(), net.smallest()] + [space.sample(rng) for _ in range(n_archs)]
    evaluator = MobileFashionMNIST(steps=(standalone_steps,))
    rows = []
    for arch in archs:
        t = time.perf_counter()
        inherited = evaluate_subnet(net, arch, data)["accuracy"]
        inherit_s = time.perf_counter() - t
        ev = evaluator.evaluate(arch)
        rows.append(
            {
                "arch": str(arch),
                "inherited_accuracy": inherited,
                "inherited_s": round(inherit_s, 2),
                "standalone_accuracy": ev.metrics["accuracy"],
                "standalone_s": round(ev.cost_s, 2),
            }
        )
        print(rows[-1], flush=True)
    a = [r["inherited_accuracy"] for r in rows]
    b = [r["standalone_accuracy"] for r in rows]
    return {
        "supernet_steps": steps,
        "batch": batch,
        "train_s": round(train_s, 1),
        "s_per_step": round(train_s / len(records), 2),
        "standalone_steps": standalone_steps,
        "kendall_tau": round(float(kendalltau(a, b).statistic), 3),
        "spearman_rho": round(float(spearmanr(a, b).statistic), 3),
        "rows": rows,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, nargs=4, default=[120, 40, 40, 40], help="steps per phase")
    ap.add_argument("--archs", type=int, default=8, help="random architectures besides largest/smallest")
    ap.add_argument("--standalone-steps", type=int, default=100)
    ap.add_argument("--batch", type=int, default=32)
    args = ap.parse_args()
    torch.set_num_threads(1)
    result = {"speed": speed(), "ranking": ranking(args.steps, args.archs, args.standalone_steps, args.batch)}
    OUT.mkdir(exist_ok=True)
    (OUT / "supernet.json").write_text(json.dumps(result, indent=2) + "\n")
    sp, rk = result["speed"], result["ranking"]
    assert isinstance(rk, dict)
    lines = [
        "# Supernet benchmark (`bench/supernet.py`)",
        "",
        f"Speed, median over {sp['archs']} random architectures (batch 2, 32–56 px, 1 thread): supernet forward "
        f"{sp['supernet_forward_ms']} ms, extracted network forward {sp['static_forward_ms']} ms, "
        f"extract {sp['extract_ms']} ms.",
        "",
        f"Ranking: supernet trained {rk['supernet_steps']} steps per progressive phase (batch {rk['batch']}, "
        f"{rk['train_s']} s, {rk['s_per_step']} s/step); stand-alone networks {rk['standalone_steps']} steps "
        f"each. Kendall tau {rk['kendall_tau']}, Spearman rho {rk['spearman_rho']}.",
        "",
        "| architecture | inherited acc % | s | stand-alone acc % | s |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in rk["rows"]:  # type: ignore[attr-defined]
        lines.append(
            f"| `{r['arch'].replace('|', chr(92) + '|')}` | {r['inherited_accuracy']:.1f} | {r['inherited_s']} | "
            f"{r['standalone_accuracy']:.1f} | {r['standalone_s']} |"
        )
    (OUT / "supernet.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
