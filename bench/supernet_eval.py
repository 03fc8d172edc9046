"""Speed of the ``supernet`` evaluator: seconds per sub-network scored with inherited weights.

Scores ``--archs`` seeded random ``mobile`` architectures (after one warm-up) on a trained supernet
checkpoint with the evaluator's options and prints the median CPU time (``time.process_time``, one
thread) and wall time per sub-network. Measures, never asserts. Make a checkpoint first, e.g.

    hynas supernet train --out /tmp/sn --steps 5 --eval-every 0
    python bench/supernet_eval.py /tmp/sn/supernet.safetensors --bn-images 128 --eval-images 300
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

from hynas.evaluators import make_evaluator
from hynas.spaces import get_space


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("checkpoint")
    ap.add_argument("--archs", type=int, default=8)
    ap.add_argument("--bn-images", type=int, default=128)
    ap.add_argument("--eval-images", type=int, default=300)
    args = ap.parse_args()
    space = get_space("mobile")
    rng = np.random.default_rng(0)
    archs = [space.sample(rng) for _ in range(args.archs + 1)]
    ev = make_evaluator(
        "mobile",
        "supernet",
        checkpoint=args.checkpoint,
        bn_images=args.bn_images,
        eval_images=args.eval_images,
    )
    ev.evaluate(archs[0])  # warm-up: first-use allocations
    cpu, wall = [], []
    for arch in archs[1:]:
        t, c = time.perf_counter(), time.process_time()
        ev.evaluate(arch)
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    print(
        f"bn_images {args.bn_images}, eval_images {args.eval_images}, {args.archs} sub-networks: "
        f"CPU median {statistics.median(cpu):.2f} s, wall median {statistics.median(wall):.2f} s "
        f"(load average {os.getloadavg()[0]:.1f})"
    )


if __name__ == "__main__":
    main()
