"""Supernet benchmark: speed, ranking fidelity, specialisation per device, cost and peak memory.

Over 400 lines on purpose: one script runs every stage of one protocol, so that a quick run and
the full run are the same code, and a killed run continues from its cache.

Stages (``--stage``, comma-separated, default all, in this order):

- ``speed``: median times of a supernet forward, the extracted network's forward and ``extract``
  (30 seeded random architectures, batch 2, 1 thread).
- ``train``: ``hynas supernet train --schedule`` ``sandwich`` (BigNAS's sandwich rule, Yu et al.,
  ECCV 2020; the default, by default the recipe measured to rank best: ``RECIPE``, no in-place
  distillation, lr 0.0125, one resolution a step with r224 drawn twice as often) or
  ``progressive`` (progressive shrinking, once-for-all, Cai et al., ICLR 2020) on Fashion-MNIST
  for ``--supernet-steps`` steps (one
  number, or one per progressive phase), under ``/usr/bin/time -v`` (wall, CPU,
  peak RSS); a killed run is resumed with ``--resume`` (each segment is timed and added up), or
  with ``--partial-supernet`` the checkpoint of a stopped run is used as it is (the report says so).
- ``inherit``: ``--archs`` architectures spanning the space (smallest, largest, then evenly spaced
  FLOPs quantiles of 2,000 seeded samples) scored with inherited weights
  (:func:`hynas.supernets.train.evaluate_subnet`, BatchNorm recalibrated on 500 training images)
  on the first ``--eval-images`` validation images; plus their params and FLOPs.
- ``special``: one ``hynas search`` per device (``--devices``) with the ``supernet`` evaluator on
  the trained checkpoint; per device three latency limits, quantiles (``--limits``) of its
  completed trials' latencies, and the most accurate architecture under each is exported twice:
  with inherited weights fine-tuned ``--finetune-steps`` steps (``hynas export --finetune-steps``;
  default the full scratch budget, at ``--finetune-lr``, default 0.03) and
  trained from scratch for ``--scratch-steps`` steps
  (``hynas export --train-steps``; default the stand-alone truth's budget, the full one).
- ``sweep``: checks of the inherited scores themselves: each largest-resolution architecture's
  blocks scored at every resolution (does every body gain from resolution, as stand-alone
  training's do?), and every architecture scored again with BatchNorm recalibrated on the next 500
  training images (how far does the choice of calibration images move the ranking?).
- ``standalone``: the same architectures trained from scratch by the ``mobile-fmnist`` evaluator
  (at ``--resolution-scale``, the supernet's) for ``--standalone-steps`` steps, scored on the same
  validation images; seed 0 for every architecture first, then seed 1, then seed 2 (``--seeds``). Two
  processes may run this stage at once (each claims the next run not yet done or claimed);
  ``--stop-at HH:MM`` (UTC) claims nothing new after that time, to time-box the run.
- ``proxies``: the ``zc@`` zero-cost proxies (:mod:`hynas.proxies`) of each architecture trained
  stand-alone so far.
- ``report``: Kendall tau / Spearman rho against the stand-alone accuracies (inherited, params,
  FLOPs, each proxy; seed 1 against seed 0 as the noise ceiling), the specialisation gaps, the
  cost ratio and peak memory; writes ``RESULTS/supernet.json`` and ``.md`` from whatever the cache
  holds (a cut-short run reports the architectures done, and says how many).

Every result is cached per architecture in ``RESULTS/supernet_cache.json`` (keyed by the protocol:
another protocol is refused) as soon as it is measured; a specialisation row keeps its search's
settings (budget, limits) and is made again under others, its search store continuing to the new
budget; each fine-tuned or from-scratch export is kept per architecture and step count. Measures, never asserts.

    nice -n 10 python bench/supernet.py --results /tmp/snq --work /tmp/snq --quick   # minutes
    # the full run (defaults), two processes:
    nice -n 10 python bench/supernet.py --stage train,inherit,special,standalone,proxies,report &
    nice -n 10 python bench/supernet.py --stage standalone,report
    # the recipe reported before 2026-12-03 (bench/results/supernet_runs/inplace_extremes_s0):
    python bench/supernet.py --distill inplace --sandwich-resolution extremes --supernet-lr 0.05 \
        --finetune-steps 150 --finetune-lr 0.01 --results bench/results/supernet_runs/inplace_extremes_s0
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import torch
from scipy.stats import kendalltau, spearmanr

from hynas.core.arch import Architecture
from hynas.export.weights import FINETUNE_LR as EXPORT_FINETUNE_LR
from hynas.hw import resolve
from hynas.spaces import get_space
from jsonfile import write_atomic

HYNAS = str(Path(sys.executable).with_name("hynas"))
PROXIES = ("synflow", "grad_norm", "snip", "jacov", "naswot")
QUICK = {
    "archs": 6, "standalone_steps": 25, "seeds": 1, "eval_images": 300,
    "search_budget": 6, "finetune_steps": 10, "scratch_steps": 25, "proxies": "synflow,snip",
}  # fmt: skip
#: training images recalibrating BatchNorm per inherited score (the sweep's second calibration takes the next as many)
BN_IMAGES = 500
#: hynas supernet train's peak learning rate, which caches from before --supernet-lr trained at
TRAIN_LR = 0.05
#: the training options' defaults per --schedule (None: hynas supernet train's own). The sandwich
#: recipe is the one measured to rank best (docs/supernet.md, "More training at r224, without
#: distillation"): no in-place distillation, lr 0.0125, one resolution a step for the whole
#: sandwich, r224 drawn twice as often. Progressive keeps the settings its caches were made with.
RECIPE: dict[str, dict[str, Any]] = {
    "sandwich": {"distill": "none", "supernet_lr": 0.0125, "sandwich_resolution": "shared",
                 "resolution_weights": "1,1,1,2"},
    "progressive": {"distill": "inplace", "supernet_lr": None, "sandwich_resolution": "extremes",
                    "resolution_weights": None},
}  # fmt: skip
#: the protocol's settings that caches from before their option hold no key for (the values they were made with)
UNNAMED = {"schedule": "progressive", "distill": "inplace", "sandwich_resolution": "extremes",
           "resolution_weights": "even", "supernet_lr": TRAIN_LR, "supernet_seed": 0}  # fmt: skip
#: the protocol's settings a stand-alone truth depends on
TRUTH_KEYS = ("archs", "standalone_steps", "seeds", "eval_images", "resolution_scale")
#: fine-tuning's default learning rate: the chosen networks are fine-tuned for the full scratch budget at it
FINETUNE_LR = 0.03
#: default --supernet-steps per (schedule, --quick); a sandwich step trains 4 sub-networks
SUPERNET_STEPS = {("sandwich", False): "2000", ("progressive", False): "300,200,300,1200",
                  ("sandwich", True): "15", ("progressive", True): "20,10,10,10"}  # fmt: skip


# -- cache -------------------------------------------------------------------------------------
@contextlib.contextmanager
def cache(args: argparse.Namespace) -> Iterator[dict[str, Any]]:
    """The cache under an exclusive lock; written back atomically on exit."""
    path = args.results / "supernet_cache.json"
    args.results.mkdir(parents=True, exist_ok=True)
    with open(args.work / "cache.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = json.loads(path.read_text()) if path.exists() else {"protocol": protocol(args)}
        if data["protocol"] != protocol(args):
            sys.exit(f"{path} holds another protocol {data['protocol']}; move it away or use --results")
        yield data
        write_atomic(path, data, sort_keys=True)


def protocol(args: argparse.Namespace) -> dict[str, Any]:
    """What every cached result depends on; the specialisation's own settings are kept in its rows."""
    keys = ("supernet_steps", "archs", "standalone_steps", "seeds", "eval_images", "proxy_batch")
    out = {k: getattr(args, k) for k in (*keys, "resolution_scale")}
    if getattr(args, "supernet_seed", 0):  # caches from before --supernet-seed: seed 0, no key
        out["supernet_seed"] = args.supernet_seed
    if getattr(args, "sandwich_resolution", "extremes") != "extremes":  # likewise
        out["sandwich_resolution"] = args.sandwich_resolution
    if uneven(getattr(args, "resolution_weights", None)):  # likewise; even odds are the default
        out["resolution_weights"] = args.resolution_weights
    if getattr(args, "supernet_lr", None) not in (None, TRAIN_LR):  # likewise: hynas supernet train's default
        out["supernet_lr"] = args.supernet_lr
    if getattr(args, "distill", "inplace") != "inplace":  # likewise
        out["distill"] = args.distill
    if getattr(args, "ema_decay", 0.0):  # likewise; the weights scored: the average unless --last-weights
        out["ema_decay"] = args.ema_decay
        if getattr(args, "last_weights", False):
            out["weights"] = "last"
    # caches from before --schedule hold progressive supernets and no "schedule" key
    return out if args.schedule == "progressive" else {**out, "schedule": args.schedule}


def uneven(weights: str | None) -> bool:
    """Whether ``--resolution-weights`` draws some resolution more often than another."""
    return bool(weights) and len({float(w) for w in str(weights).split(",")}) > 1


def special_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The settings of one device's search: a row made with others is made again (its search store
    continues to the larger budget). The exports' step counts are kept with each export."""
    return {k: getattr(args, k) for k in ("search_budget", "limits")}


def timed(cmd: list[str], tag: str, work: Path) -> dict[str, float]:
    """Run ``cmd`` under ``/usr/bin/time -v``; its wall, CPU seconds and peak RSS (MiB)."""
    n = 1 + len(list(work.glob(f"{tag}-*.time")))
    out = work / f"{tag}-{n}.time"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    with open(work / f"{tag}-{n}.log", "w") as log:
        rc = subprocess.call(["/usr/bin/time", "-v", "-o", str(out), *cmd], stdout=log, stderr=log, env=env)
    if rc != 0:
        sys.exit(f"{' '.join(cmd)} failed (exit {rc}); see {work / f'{tag}-{n}.log'}")
    return read_time(out)


def read_time(path: Path) -> dict[str, float]:
    text = path.read_text()

    def field(name: str) -> str:
        m = re.search(rf"{re.escape(name)}: (.+)", text)
        return m.group(1).strip() if m else "0"

    wall = 0.0
    for part in field("Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":"):
        wall = 60 * wall + float(part)
    cpu = float(field("User time (seconds)")) + float(field("System time (seconds)"))
    return {"wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "max_rss_mib": round(int(field("Maximum resident set size (kbytes)")) / 1024, 1)}  # fmt: skip


def total(times: list[dict[str, float]]) -> dict[str, float]:
    return {
        "wall_s": round(sum(t["wall_s"] for t in times), 1),
        "cpu_s": round(sum(t["cpu_s"] for t in times), 1),
        "max_rss_mib": max(t["max_rss_mib"] for t in times),
        "segments": len(times),
    }


# -- architectures -----------------------------------------------------------------------------
def architectures(n: int) -> list[Architecture]:
    """Smallest, largest, then ``n - 2`` evenly spaced FLOPs quantiles of 2,000 seeded samples, in a
    seeded shuffled order (so any prefix of the list spans the space too)."""

    space = get_space("mobile")
    flops = resolve("flops", space)
    assert flops is not None
    rng = np.random.default_rng(1)
    pool = sorted(dict.fromkeys(space.sample(rng) for _ in range(2000)), key=flops.compute)
    picks = [pool[round(q)] for q in np.linspace(0, len(pool) - 1, max(n - 2, 0) + 2)[1:-1]]
    rng.shuffle(picks)  # type: ignore[arg-type]
    lo, hi = (space.parse(space.format(a)) for a in (_extreme(space, 0), _extreme(space, -1)))
    return [lo, hi, *picks]


def _extreme(space: Any, end: int) -> Architecture:
    s = space
    blocks = "|".join("-".join([f"k{s.kernels[end]}e{s.expands[end]}"] * s.depths[end]) for _ in range(5))
    return space.parse(f"r{s.resolutions[end]}|{blocks}")


# -- stages ------------------------------------------------------------------------------------
def stage_speed(args: argparse.Namespace, n: int = 30) -> None:
    from hynas.supernets import ElasticMobileConfig, ElasticMobileNet, extract

    space = get_space("mobile")
    net = ElasticMobileNet(config=ElasticMobileConfig(num_classes=10, resolution_scale=0.25)).eval()
    rng = np.random.default_rng(0)
    fw, st, ex = [], [], []
    for _ in range(n):
        arch = space.sample(rng)
        net.set_active(arch)
        x = torch.randn(2, 3, net.input_size(), net.input_size())
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
    with cache(args) as c:
        c["speed"] = {"archs": n, "supernet_forward_ms": ms(fw), "static_forward_ms": ms(st), "extract_ms": ms(ex)}  # fmt: skip


def checkpoint(args: argparse.Namespace) -> Path:
    return args.work / "supernet" / "supernet.safetensors"


def stage_train(args: argparse.Namespace) -> None:
    from hynas.training.checkpoint import read_checkpoint

    ckpt, steps = checkpoint(args), [int(s) for s in args.supernet_steps.split(",")]
    step = read_checkpoint(ckpt).step if ckpt.exists() else 0
    if step < sum(steps) and not (args.partial_supernet and step > 0):
        cmd = [HYNAS, "supernet", "train", "--out", str(ckpt.parent), "--steps", args.supernet_steps,
               "--schedule", args.schedule, "--resolution-scale", str(args.resolution_scale),
               "--seed", str(args.supernet_seed)]  # fmt: skip
        if args.schedule == "sandwich":
            cmd += ["--sandwich-resolution", args.sandwich_resolution]
        if uneven(args.resolution_weights):
            cmd += ["--resolution-weights", args.resolution_weights]
        if args.distill != "inplace":
            cmd += ["--distill", args.distill]
        if args.ema_decay:
            cmd += ["--ema-decay", str(args.ema_decay)]
        if args.supernet_lr is not None:
            cmd += ["--lr", str(args.supernet_lr)]
        timed(
            [*cmd, "--checkpoint-every", "50", *(["--resume"] if ckpt.exists() else [])], "train", args.work
        )
    times = [read_time(p) for p in sorted(args.work.glob("train-*.time"))]
    with cache(args) as c:
        step = read_checkpoint(
            ckpt
        ).step  # short of the schedule when training was stopped (--partial-supernet)
        c["train"] = {**total(times), "steps": step, "schedule": sum(steps), "s_per_step": round(total(times)["wall_s"] / step, 2)}  # fmt: skip


def stage_inherit(args: argparse.Namespace) -> None:
    from hynas.evaluators.vision import load_fmnist
    from hynas.supernets import load_supernet
    from hynas.supernets.train import evaluate_subnet

    space = get_space("mobile")
    net, _ = load_supernet(checkpoint(args), average=not args.last_weights)
    data = load_fmnist()
    costs = {m: resolve(m, space) for m in ("params", "flops")}
    with cache(args) as c:  # those trained stand-alone first: a time-boxed run ranks them
        trained = {k.rsplit("#", 1)[0] for k in c.get("standalone", {})}
    for arch in sorted(architectures(args.archs), key=lambda a: space.format(a) not in trained):
        key = space.format(arch)
        with cache(args) as c:
            if "loss" in c.setdefault("inherited", {}).get(key, {}):  # rows from before lack the loss
                continue
        t, cpu = time.perf_counter(), time.process_time()
        score = evaluate_subnet(net, arch, data, bn_images=BN_IMAGES, eval_images=args.eval_images)
        row: dict[str, Any] = {"accuracy": score["accuracy"], "loss": score["loss"], "wall_s": round(time.perf_counter() - t, 2), "cpu_s": round(time.process_time() - cpu, 2)}  # fmt: skip
        row.update({name: float(model.compute(arch)) for name, model in costs.items() if model is not None})
        print("inherited", key, row, flush=True)
        with cache(args) as c:
            c["inherited"][key] = row


def stage_sweep(args: argparse.Namespace) -> None:
    """Two checks of the inherited scores themselves. ``sweep``: the body (all but the resolution)
    of each largest-resolution architecture scored at every resolution, so one sees whether every
    body gains from resolution as stand-alone training does. ``recal``: every architecture scored
    again with BatchNorm recalibrated on the next ``BN_IMAGES`` training images instead of the first,
    so one sees how much of the ranking the choice of calibration images moves."""
    from hynas.evaluators.vision import load_fmnist
    from hynas.supernets import load_supernet
    from hynas.supernets.train import evaluate_subnet

    space = get_space("mobile")
    net, _ = load_supernet(checkpoint(args), average=not args.last_weights)
    data = load_fmnist()
    other = {**data, "train_x": data["train_x"][BN_IMAGES:]}
    top = max(space.resolutions)
    keys = [space.format(a) for a in architectures(args.archs)]
    jobs = [("sweep", f"r{r}|{k.split('|', 1)[1]}", data) for k in keys if resolution(k) == top for r in sorted(space.resolutions)]  # fmt: skip
    jobs += [("recal", k, other) for k in keys]
    for part, key, images in jobs:
        with cache(args) as c:
            if key in c.setdefault(part, {}):
                continue
        score = evaluate_subnet(
            net, space.parse(key), images, bn_images=BN_IMAGES, eval_images=args.eval_images
        )
        print(part, key, score["accuracy"], flush=True)
        with cache(args) as c:
            c[part][key] = score["accuracy"]


def stage_proxies(args: argparse.Namespace) -> None:
    """The ``zc@`` proxies (:class:`hynas.proxies.resolver.ProxyCostModel`: ``space.build(arch)``
    at the architecture's resolution, seeded) on a batch of ``--proxy-batch`` random images."""
    from hynas.proxies.resolver import ProxyCostModel

    space = get_space("mobile")
    models = {p: ProxyCostModel(p, space, batch=args.proxy_batch) for p in args.proxies.split(",")}
    for arch in architectures(args.archs):
        key = space.format(arch)
        with cache(args) as c:  # the architectures the report can rank: those trained stand-alone
            if key in c.setdefault("proxies", {}) or f"{key}#0" not in c.get("standalone", {}):
                continue
        row: dict[str, float] = {}
        for name, model in models.items():
            t = time.process_time()
            row[f"zc@{name}"] = float(model(arch))
            row[f"zc@{name}_cpu_s"] = round(time.process_time() - t, 2)
        print("proxies", key, row, flush=True)
        with cache(args) as c:
            c["proxies"][key] = row


def stage_standalone(args: argparse.Namespace) -> None:
    import resource

    from hynas.evaluators.vision import MobileFashionMNIST

    space = get_space("mobile")
    evs = [MobileFashionMNIST(steps=(args.standalone_steps,), eval_images=args.eval_images, seed=s, resolution_scale=args.resolution_scale) for s in range(args.seeds)]  # fmt: skip
    # seed-major: every architecture's seed 0 first, so that a cut-short run has the whole set once;
    # the shuffled FLOPs quantiles before the two extremes (the largest costs ~10 typical ones)
    archs = architectures(args.archs)
    todo = [f"{space.format(a)}#{s}" for s in range(args.seeds) for a in archs[2:] + archs[:2]]
    while True:
        with cache(args) as c:
            done, claims = c.setdefault("standalone", {}), c.setdefault("claims", {})
            for key, pid in list(claims.items()):
                if not _alive(pid) or key in done:
                    del claims[key]
            key = next((k for k in todo if k not in done and k not in claims), None)
            if key is None or time.time() >= args.stop_at:
                break
            claims[key] = os.getpid()
        text, seed = key.rsplit("#", 1)
        cpu = time.process_time()
        ev = evs[int(seed)].evaluate(space.parse(text))
        row = {**ev.metrics, "wall_s": round(ev.cost_s, 2), "cpu_s": round(time.process_time() - cpu, 2)}
        print("standalone", key, row, flush=True)
        with cache(args) as c:
            c["standalone"][key] = row
            c.setdefault("standalone_rss_mib", {})[str(os.getpid())] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # fmt: skip


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stage_special(args: argparse.Namespace) -> None:
    from hynas.export.source import _load

    ckpt = str(checkpoint(args))
    quantiles = [float(q) for q in args.limits.split(",")]
    for dev in args.devices.split(","):
        store, lat = args.work / f"front-{dev}.db", f"latency@roofline:{dev}"
        with cache(args) as c:
            row = c.setdefault("special", {}).get(dev, {})
        if row.get("settings") != special_settings(args):
            row = {"settings": special_settings(args)}
        if "search" not in row:
            cmd = [HYNAS, "search", "--space", "mobile", "--evaluator", "supernet",
                   "--evaluator-option", f"checkpoint={ckpt}", "--objective", "accuracy", "--objective", lat,
                   "--strategy", "nsga2", "--budget", str(args.search_budget), "--seed", "0",
                   "--store", str(store), "--quiet"]  # fmt: skip
            timed(cmd, f"search-{dev}", args.work)
            row["search"] = total([read_time(p) for p in sorted(args.work.glob(f"search-{dev}-*.time"))])
            _, records, _ = _load(str(store))
            ok = [r for r in records if r.ok]
            row["trials"] = len(ok)
            row["trial_cost_s"] = round(statistics.median(r.cost_s for r in ok), 2)
            lats = [r.metrics[lat] for r in ok]
            row["limits"] = []
            for q in quantiles:  # a limit at each quantile of the completed trials' latencies
                limit = round(float(np.quantile(lats, q)), 3)
                best = max((r for r in ok if r.metrics[lat] <= limit), key=lambda r: (r.metrics["accuracy"], -r.number))  # fmt: skip
                row["limits"].append({"quantile": q, "limit_ms": limit, "arch": best.arch,
                                      "latency_ms": round(best.metrics[lat], 3), "search_accuracy": best.metrics["accuracy"]})  # fmt: skip
            with cache(args) as c:
                c["special"][dev] = row
        lr = getattr(args, "finetune_lr", None)
        lr = None if lr == EXPORT_FINETUNE_LR else lr  # export's default: rows made without --lr
        for choice in row["limits"]:
            for how, option, steps, rate in (("finetuned", "--finetune-steps", args.finetune_steps, lr),
                                             ("scratch", "--train-steps", args.scratch_steps, None)):  # fmt: skip
                made = choice.get(how, {})
                if made.get("steps") != steps or made.get("lr") != rate:  # rows without "lr": the default
                    opts = [
                        "--supernet",
                        ckpt,
                        option,
                        str(steps),
                        *(["--lr", str(rate)] if rate is not None else []),
                    ]
                    choice[how] = export(args, choice["arch"], how, opts, steps, rate)
                    with cache(args) as c:
                        c["special"][dev] = row


def export(
    args: argparse.Namespace, arch: str, how: str, opts: list[str], steps: int, lr: float | None = None
) -> dict[str, Any]:
    """``hynas export`` of ``arch`` fine-tuned or trained from scratch for ``steps`` (at ``lr``, or
    export's default): accuracy before and after, and its cost; cached per architecture, step count
    and learning rate (two devices may choose the same architecture)."""
    key = f"{arch}#{how}#{steps}" + ("" if lr is None else f"#lr{lr}")
    with cache(args) as c:
        if key in c.setdefault("exports", {}):
            return dict(c["exports"][key])
    n = 1 + len(list(args.work.glob("export-*.time")))
    out = args.work / f"export-{n}"
    cmd = [HYNAS, "export", "--arch", arch, "--space", "mobile", *opts, "--format", "safetensors",
           "--eval-images", str(args.eval_images), "--out", str(out), "--force"]  # fmt: skip
    t = timed(cmd, f"export-{n}", args.work)
    w = json.loads((out / "config.json").read_text())["weights"]
    tr = w.get("finetune") or w.get("train")
    result = {"before": tr["val_accuracy_before"], "after": tr["val_accuracy_after"], "steps": steps, **t}
    if lr is not None:
        result["lr"] = lr
    print(how, arch, result, flush=True)
    with cache(args) as c:
        c["exports"][key] = result
    return result


# -- report ------------------------------------------------------------------------------------
def tau(a: list[float], b: list[float]) -> dict[str, float]:
    return {"kendall_tau": round(float(kendalltau(a, b).statistic), 3), "spearman_rho": round(float(spearmanr(a, b).statistic), 3)}  # fmt: skip


def ranked(rows: list[dict[str, Any]], name: str, sign: int = 1) -> dict[str, Any]:
    """How score ``name`` (times ``sign``: -1 for a loss) ranks the architectures: against seed 0's
    stand-alone accuracy (all ``rows``) and, where at least three have a second seed, against the
    mean of their seeds (a less noisy truth, over those rows)."""
    out: dict[str, Any] = tau([sign * r["inherited"][name] for r in rows], [r["standalone"][0] for r in rows])
    both = [r for r in rows if len(r["standalone"]) >= 2]
    if len(both) >= 3:
        mean = [statistics.mean(r["standalone"]) for r in both]
        out["vs_seed_mean"] = tau([sign * r["inherited"][name] for r in both], mean)
    return out


def ceilings(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """How well one stand-alone run ranks another, the ceiling for any score: each further seed
    against seed 0, and, where there are three or more, seed 0 against the mean of the others (the
    ceiling for a score judged against a mean of seeds is higher still)."""
    out = {}
    for s in range(1, max((len(r["standalone"]) for r in rows), default=0)):
        have = [r for r in rows if len(r["standalone"]) > s]
        if len(have) >= 3:
            name = f"stand-alone seed {s} ({len(have)} archs; noise ceiling)"
            out[name] = tau([r["standalone"][s] for r in have], [r["standalone"][0] for r in have])
    three = [r for r in rows if len(r["standalone"]) >= 3]
    if len(three) >= 3:
        name = f"stand-alone seed 0 against the mean of the other seeds ({len(three)} archs)"
        out[name] = tau(
            [r["standalone"][0] for r in three], [statistics.mean(r["standalone"][1:]) for r in three]
        )
    return out


def stage_report(args: argparse.Namespace) -> None:
    with cache(args) as c:
        data = json.loads(json.dumps(c))
    space = get_space("mobile")
    inh, sa, zc = data.get("inherited", {}), data.get("standalone", {}), data.get("proxies", {})
    costs = {m: resolve(m, space) for m in ("params", "flops")}
    # a results dir with no supernet of its own (``--stage standalone,report``) is a truth that
    # other runs' supernets (``--also``) are ranked against; its rows carry params and FLOPs
    own = bool(inh)
    rows = []
    for arch in architectures(args.archs):
        key = space.format(arch)
        accs = [sa[f"{key}#{s}"]["accuracy"] for s in range(args.seeds) if f"{key}#{s}" in sa]
        if (key in inh or not own) and f"{key}#0" in sa:
            scores = inh.get(key) or {m: float(model.compute(arch)) for m, model in costs.items() if model}
            rows.append({"arch": key, "inherited": {**scores, **zc.get(key, {})}, "standalone": accs})
    both = [r for r in rows if len(r["standalone"]) >= 2]
    rank: dict[str, Any] = {}
    if len(rows) >= 3:
        if own:
            rank["supernet (inherited accuracy)"] = ranked(rows, "accuracy")
        if own and all("loss" in r["inherited"] for r in rows):
            rank["supernet (inherited cross-entropy, negated)"] = ranked(rows, "loss", sign=-1)
        for name in ("params", "flops", *[f"zc@{p}" for p in args.proxies.split(",")]):
            if all(name in r["inherited"] for r in rows):  # proxies: when that stage has run for all
                rank[name] = ranked(rows, name)
        # the input resolution alone (ties within each): how much of the truth the resolutions explain
        res = [{**r, "inherited": {"resolution": resolution(r["arch"])}} for r in rows]
        rank["resolution alone (ties within)"] = ranked(res, "resolution")
        rank.update(ceilings(rows))
        if own and len(both) >= 3:
            rank[f"supernet on the same {len(both)} archs"] = tau(
                [r["inherited"]["accuracy"] for r in both], [r["standalone"][0] for r in both]
            )
    others = also(args, rows)
    checks = inherited_checks(data, rows)
    seed0 = [v for k, v in sa.items() if k.endswith("#0")]
    per = (
        {k: round(statistics.median(v[k] for v in seed0), 2) for k in ("wall_s", "cpu_s")} if seed0 else None
    )
    result = {
        "protocol": data["protocol"], "speed": data.get("speed"), "train": data.get("train"),
        "archs_done": len(rows), "seeds_done": [sum(len(r["standalone"]) > s for r in rows) for s in range(args.seeds)],
        "ranking": rank, "other_supernets": others, "checks": checks, "by_resolution": by_resolution(rows), "special": data.get("special", {}),
        "standalone_trial_median": per,
        "standalone_rss_mib": max(data.get("standalone_rss_mib", {"": 0}).values()),
        "rows": rows,
    }  # fmt: skip
    result["cost"] = cost(result)
    (args.results / "supernet.json").write_text(json.dumps(result, indent=2) + "\n")
    md = markdown(result)
    (args.results / "supernet.md").write_text(md)
    print(md)


def also(args: argparse.Namespace, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Another run's supernet (``--also DIR``: its cache's inherited scores, made by ``--stage
    inherit`` there) ranked against this run's stand-alone truth, and against this run's supernet:
    how much of a supernet's ranking survives training it again."""
    out = {}
    for path in args.also:
        theirs = json.loads((Path(path) / "supernet_cache.json").read_text())
        inh, theirs_p = theirs.get("inherited", {}), theirs.get("protocol", {})
        mine_p, theirs_p = {**UNNAMED, **protocol(args)}, {**UNNAMED, **theirs_p}
        differs = {
            k: theirs_p.get(k)
            for k in sorted(set(mine_p) | set(theirs_p))
            if theirs_p.get(k) != mine_p.get(k) and (inh or k in TRUTH_KEYS)  # a truth's own settings only
        }
        mine = [r for r in rows if r["arch"] in inh]
        o: dict[str, Any] = {"archs": len(mine), "protocol_differs": differs}
        if len(mine) >= 3:  # its supernet (a dir holding only a truth has none)
            other = [{**r, "inherited": inh[r["arch"]]} for r in mine]
            o["accuracy"] = ranked(other, "accuracy")
            o["by_resolution"] = {k: v["inherited_mean"] for k, v in by_resolution(other).items()}
            if all("accuracy" in r["inherited"] for r in mine):
                o["this_supernet"] = tau([inh[r["arch"]]["accuracy"] for r in mine], [r["inherited"]["accuracy"] for r in mine])  # fmt: skip
            if all("loss" in inh[r["arch"]] for r in mine):
                o["-loss"] = ranked(other, "loss", sign=-1)
        # another truth (another stand-alone budget): its mean over the seeds done as a score against
        # this one, and this run's supernet ranked against it (seed 0, and the mean)
        sa = theirs.get("standalone", {})
        seeds = range(int(theirs_p.get("seeds", 1)))
        done = {r["arch"]: [sa[k]["accuracy"] for s in seeds if (k := f"{r['arch']}#{s}") in sa] for r in rows if f"{r['arch']}#0" in sa}  # fmt: skip
        if theirs_p.get("standalone_steps") != mine_p.get("standalone_steps") and len(done) >= 3:
            score = [{**r, "inherited": {"accuracy": statistics.mean(done[r["arch"]])}} for r in rows if r["arch"] in done]  # fmt: skip
            o["standalone_mean"] = {"archs": len(score), "seeds": len(seeds), "complete": sum(len(v) == len(seeds) for v in done.values()),
                                    "steps": theirs_p.get("standalone_steps"), **ranked(score, "accuracy")}  # fmt: skip
            if all("accuracy" in r["inherited"] for r in rows if r["arch"] in done):
                ours = [r["inherited"]["accuracy"] for r in rows if r["arch"] in done]
                o["this_supernet_vs_truth"] = {"seed0": tau(ours, [done[r["arch"]][0] for r in score]),
                                               "mean": tau(ours, [statistics.mean(done[r["arch"]]) for r in score])}  # fmt: skip
        if "accuracy" in o or "standalone_mean" in o:
            out[str(path)] = o
    return out


def inherited_checks(data: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``sweep`` stage's bodies at every resolution (mean inherited accuracy per resolution; how
    much each body gains from the smallest to the largest, and Kendall tau between that gain and
    the body's mean kernel size) and its second BatchNorm calibration (Kendall tau against the
    first calibration's scores, and against the truth where this dir has one)."""
    out: dict[str, Any] = {}
    bodies: dict[str, dict[int, float]] = {}
    for key, acc in data.get("sweep", {}).items():
        bodies.setdefault(key.split("|", 1)[1], {})[resolution(key)] = acc
    most = max(map(len, bodies.values()), default=0)
    full = {body: b for body, b in bodies.items() if len(b) == most}
    if len(full) >= 3 and most >= 2:
        res = sorted(next(iter(full.values())))
        lo, hi = res[0], res[-1]
        gains = [b[hi] - b[lo] for b in full.values()]
        space = get_space("mobile")
        kernels = [statistics.mean(k for stage in space.stage_layers(space.parse(f"r{lo}|{body}")) for k, _ in stage) for body in full]  # fmt: skip
        out["sweep"] = {"bodies": len(full), "mean_by_resolution": {f"r{r}": round(statistics.mean(b[r] for b in full.values()), 2) for r in res},
                        "gain": {"from": f"r{lo}", "to": f"r{hi}", "min": round(min(gains), 2), "max": round(max(gains), 2),
                                 "rising": sum(g > 0 for g in gains), "tau_with_mean_kernel": tau(gains, kernels)["kendall_tau"]}}  # fmt: skip
    recal, inh = data.get("recal", {}), data.get("inherited", {})
    both = [k for k in recal if "accuracy" in inh.get(k, {})]
    if len(both) >= 3:
        out["recal"] = {"archs": len(both), "vs_first": tau([recal[k] for k in both], [inh[k]["accuracy"] for k in both])}  # fmt: skip
        mine = [r for r in rows if r["arch"] in recal]
        if len(mine) >= 3:
            out["recal"]["vs_truth"] = ranked([{**r, "inherited": {"accuracy": recal[r["arch"]]}} for r in mine], "accuracy")  # fmt: skip
    return out


def resolution(arch: str) -> int:
    """The input resolution of a formatted architecture (``r160|...`` → 160)."""
    return int(arch.split("|")[0][1:])


def by_resolution(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per input resolution: how many architectures, their mean inherited and stand-alone accuracy,
    and Kendall tau within the group (does the supernet rank resolutions, or within them, wrongly?)."""
    out = {}
    for res in sorted({resolution(r["arch"]) for r in rows}):
        group = [r for r in rows if resolution(r["arch"]) == res]
        inh = [r["inherited"]["accuracy"] for r in group if "accuracy" in r["inherited"]]
        sa = [r["standalone"][0] for r in group]
        two = [r["standalone"][:2] for r in group if len(r["standalone"]) >= 2]
        out[f"r{res}"] = {"archs": len(group), "inherited_mean": round(statistics.mean(inh), 2) if inh else None,
                    "standalone_mean": round(statistics.mean(sa), 2),
                    "kendall_tau_within": tau(inh, sa)["kendall_tau"] if len(group) >= 3 and len(inh) == len(sa) else None,
                    # the truth's own noise within the group: stand-alone seed 1 against seed 0
                    "seeds_tau_within": tau([t[1] for t in two], [t[0] for t in two])["kendall_tau"] if len(two) >= 3 else None,
                    "seeds_archs_within": len(two)}  # fmt: skip
    return out


def cost(r: dict[str, Any]) -> dict[str, Any] | None:
    """Supernet training + the searches against the same number of trials run by the stand-alone
    evaluator (extrapolated from its measured median per trial), in wall and in CPU seconds."""
    sp, tr, per = r["special"], r["train"], r["standalone_trial_median"]
    if not sp or tr is None or per is None or not all("search" in v for v in sp.values()):
        return None
    out: dict[str, Any] = {"scratch_trials": sum(v["trials"] for v in sp.values())}
    # the chosen networks' fine-tuning, once per distinct network (the stand-alone side's are trained already)
    tuned = {ch["arch"]: ch["finetuned"] for v in sp.values() for ch in v.get("limits", []) if "wall_s" in ch.get("finetuned", {})}  # fmt: skip
    for kind in ("wall_s", "cpu_s"):
        ours = tr[kind] + sum(v["search"][kind] for v in sp.values())
        scratch = out["scratch_trials"] * per[kind]
        trial = (ours - tr[kind]) / out["scratch_trials"]  # per supernet-search trial, start-up included
        # trials N at which N * per / (train + N * trial) reaches 10 (none when a trial is not 10x cheaper)
        n10 = 10 * tr[kind] / (per[kind] - 10 * trial) if per[kind] > 10 * trial else None
        out[kind] = {"supernet_train": tr[kind], "searches": round(ours - tr[kind], 1), "total": round(ours, 1),
                     "scratch_extrapolated": round(scratch, 1), "ratio": round(scratch / ours, 2),
                     "supernet_trial": round(trial, 2), "trials_for_10x": None if n10 is None else round(n10)}  # fmt: skip
        if tuned:
            ft = sum(t[kind] for t in tuned.values())
            out[kind] |= {"finetune": round(ft, 1), "finetuned": len(tuned), "ratio_with_finetune": round(scratch / (ours + ft), 2)}  # fmt: skip
    return out


def seeds_done(r: dict[str, Any]) -> str:
    if "seeds_done" not in r:  # results from before the count
        return "; a second seed where time allowed"
    done = r["seeds_done"][1:]
    if not any(done):
        return ""
    return "; " + ", ".join(f"seed {s} on {n}" for s, n in enumerate(done, 1) if n) + " of them"


def markdown(r: dict[str, Any]) -> str:
    p, sp, tr = r["protocol"], r["speed"] or {}, r["train"] or {}
    lines = ["# Supernet benchmark (`bench/supernet.py`)", "", f"Protocol: `{json.dumps(p)}`.", ""]
    if sp:
        lines += [f"Speed, median over {sp['archs']} random architectures (batch 2, 32–56 px, 1 thread): supernet forward {sp['supernet_forward_ms']} ms, extracted network forward {sp['static_forward_ms']} ms, extract {sp['extract_ms']} ms.", ""]  # fmt: skip
    if tr:
        stopped = (
            ""
            if tr["steps"] >= tr["schedule"]
            else f" (stopped at step {tr['steps']} of the {tr['schedule']}-step schedule {p['supernet_steps']}: the machine's time box)"
        )
        lines += [f"Supernet training: {tr['steps']} {p.get('schedule', 'progressive')} steps{stopped} (batch 32) in {tr['wall_s']} s wall ({tr['s_per_step']} s/step), {tr['cpu_s']} s CPU, peak RSS {tr['max_rss_mib']} MiB ({tr['segments']} segment(s), `/usr/bin/time -v`).", ""]  # fmt: skip
    lines += [f"## Ranking fidelity ({r['archs_done']} architectures)", ""]
    if not r["archs_done"]:  # a supernet scored here, ranked by a truth's report (--also)
        lines += ["No stand-alone truth in this results dir: rank its supernet from a truth's dir with `--stage report --also DIR`."]  # fmt: skip
    else:
        lines += [f"Truth: validation accuracy ({p['eval_images']} images) after {p['standalone_steps']} steps of stand-alone training (`mobile-fmnist`, batch 32, lr 0.05 cosine, {p['resolution_scale']} px per resolution unit), seed 0{seeds_done(r)}.", "",
                  "| score | Kendall τ | Spearman ρ | τ vs the seeds' mean | ρ vs the seeds' mean |", "|---|---:|---:|---:|---:|"]  # fmt: skip
    for k, v in r["ranking"].items():
        m = v.get("vs_seed_mean", {})
        lines.append(
            f"| {k} | {v['kendall_tau']} | {v['spearman_rho']} | {m.get('kendall_tau', '–')} | {m.get('spearman_rho', '–')} |"
        )
    if any("vs_seed_mean" in v for v in r["ranking"].values()):
        lines += [
            "",
            "The last two columns rank against the mean accuracy of the seeds (the architectures trained with at least two), a less noisy truth than one seed.",
        ]
    for path, o in r.get("other_supernets", {}).items():
        differs = ", ".join(f"{k} {v}" for k, v in o.get("protocol_differs", {}).items()) or "none"
        if "standalone_mean" in o and "accuracy" not in o:  # a dir holding only a truth
            lines += [
                "",
                f"Another run's truth (`{path}`; where its protocol differs from this one: {differs}):",
            ]
        if "accuracy" in o:
            lines += ["", f"Another run's supernet (`{path}`; where its protocol differs from this one: {differs}; {o['archs']} of these architectures), against this truth: inherited accuracy τ {o['accuracy']['kendall_tau']}"
                      + (f" ({o['accuracy']['vs_seed_mean']['kendall_tau']} vs the seeds' mean)" if "vs_seed_mean" in o["accuracy"] else "")
                      + (f", negated cross-entropy τ {o['-loss']['kendall_tau']}" + (f" ({o['-loss']['vs_seed_mean']['kendall_tau']})" if "vs_seed_mean" in o["-loss"] else "") if "-loss" in o else "")
                      + (f"; its inherited accuracy against this run's: τ {o['this_supernet']['kendall_tau']}" if "this_supernet" in o else "")
                      + "; mean inherited accuracy by resolution " + ", ".join(f"{k} {v}" for k, v in o.get("by_resolution", {}).items()) + "."]  # fmt: skip
        if "standalone_mean" in o:
            m = o["standalone_mean"]
            lines += ["", f"Its stand-alone truth ({m['steps']} steps, mean of {m['seeds']} seeds, {m['archs']} architectures" + ("" if m.get("complete", m["archs"]) == m["archs"] else f"; only seed 0 on {m['archs'] - m['complete']} of them") + f") as a score against this truth: τ {m['kendall_tau']}" + (f" ({m['vs_seed_mean']['kendall_tau']} vs the seeds' mean)" if "vs_seed_mean" in m else "") + "."]  # fmt: skip
            if "this_supernet_vs_truth" in o:
                t = o["this_supernet_vs_truth"]
                lines += ["", f"This run's supernet (inherited accuracy) against that truth, {m['archs']} architectures: τ {t['seed0']['kendall_tau']} (its seed 0), {t['mean']['kendall_tau']} (the mean of its seeds done)."]  # fmt: skip
    ch = r.get("checks", {})
    if "sweep" in ch:
        w = ch["sweep"]
        means = ", ".join(f"{k} {v}" for k, v in w["mean_by_resolution"].items())
        g = w["gain"]
        lines += ["", f"The same {w['bodies']} bodies (the largest-resolution architectures' blocks) at every resolution, inherited accuracy: mean {means}; from {g['from']} to {g['to']} they gain {g['min']} … {g['max']} points, {g['rising']} of {w['bodies']} rise; τ between a body's gain and its mean kernel size {g['tau_with_mean_kernel']}."]  # fmt: skip
    if "recal" in ch:
        c2 = ch["recal"]
        truth = f"; τ {c2['vs_truth']['kendall_tau']} against the truth" if "vs_truth" in c2 else ""
        lines += ["", f"BatchNorm recalibrated on training images {BN_IMAGES}–{2 * BN_IMAGES - 1} instead of 0–{BN_IMAGES - 1} ({c2['archs']} architectures): τ {c2['vs_first']['kendall_tau']} against the first calibration's scores{truth}."]  # fmt: skip
    if r.get("by_resolution"):
        lines += ["", "By input resolution (the mean accuracies show whether the supernet ranks the resolutions as stand-alone training does):", "",
                  "| resolution | archs | inherited mean % | stand-alone mean % | Kendall τ within | stand-alone seed 1 vs 0 within (archs) |", "|---|---:|---:|---:|---:|---:|"]  # fmt: skip
        dash = lambda v: "–" if v is None else v  # noqa: E731
        lines += [f"| {k} | {v['archs']} | {dash(v['inherited_mean'])} | {v['standalone_mean']} | {dash(v['kendall_tau_within'])} | {dash(v.get('seeds_tau_within'))} ({v.get('seeds_archs_within', 0)}) |" for k, v in r["by_resolution"].items()]  # fmt: skip
    steps = {how: sorted({ch[how]["steps"] for v in r["special"].values() for ch in v.get("limits", []) if "steps" in ch.get(how, {})})
             for how in ("finetuned", "scratch")}  # fmt: skip
    said = {how: f" for {'/'.join(map(str, v))} steps" if v else "" for how, v in steps.items()}
    rates = sorted({ch["finetuned"]["lr"] for v in r["special"].values() for ch in v.get("limits", []) if "lr" in ch.get("finetuned", {})})  # fmt: skip
    said["finetuned"] += f" at lr {'/'.join(map(str, rates))}" if rates else ""
    lines += [] if not r["special"] else ["", "## Specialisation (one supernet, one NSGA-II search per device, three latency limits each)", "",
              f"Per device the limits are quantiles of its completed trials' latencies; the most accurate architecture under each is fine-tuned from the supernet's weights{said['finetuned']} and trained from scratch{said['scratch']} (`hynas export`).", "",
              "| device | trials | search s | quantile | limit ms | chosen architecture | ms | inherited % | fine-tuned % | from scratch % | gap (scratch − fine-tuned) |",
              "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|"]  # fmt: skip
    gaps = []
    for dev, v in r["special"].items():
        # a row from before three limits holds one choice, at the median (quantile 0.5)
        for ch in v.get("limits") or ([{**v, "quantile": 0.5}] if "arch" in v else []):
            ft, sc = ch.get("finetuned", {}), ch.get("scratch", {})
            gap = round(sc["after"] - ft["after"], 1) if ft and sc else None
            gaps += [] if gap is None else [gap]
            arch = ch["arch"].replace("|", "\\|")
            lines.append(f"| {dev} | {v.get('trials')} | {v.get('search', {}).get('wall_s')} | {ch['quantile']} | {ch['limit_ms']} | `{arch}` | {ch['latency_ms']} | {ft.get('before', '–')} | {ft.get('after', '–')} | {sc.get('after', '–')} | {'–' if gap is None else gap} |")  # fmt: skip
    if gaps:
        lines += ["", f"Fine-tuned within 1 point of (or better than) from scratch: {sum(g <= 1 for g in gaps)} of {len(gaps)}; largest gap {max(gaps)} points."]  # fmt: skip
    c = r["cost"]
    if c:
        lines += ["", "## Cost", ""]
        for kind, what in (("wall_s", "wall"), ("cpu_s", "CPU")):
            k = c[kind]
            lines.append(
                f"- {what}: supernet training {k['supernet_train']} s + {len(r['special'])} searches {k['searches']} s "
                f"= {k['total']} s; the same {c['scratch_trials']} trials with the stand-alone evaluator "
                f"({p['standalone_steps']} steps; measured median {r['standalone_trial_median'][kind]} s per trial) "
                f"= {k['scratch_extrapolated']} s (extrapolated, not run): **{k['ratio']}×**. One supernet-search "
                f"trial costs {k['supernet_trial']} s; 10× is reached at "
                + ("no number of trials" if k["trials_for_10x"] is None else f"{k['trials_for_10x']} trials")
                + " (extrapolated)."
                + (f" With the fine-tuning of the {k['finetuned']} distinct chosen networks added ({k['finetune']} s; the "
                   f"stand-alone trials' networks are trained already): **{k['ratio_with_finetune']}×**." if "finetune" in k else "")
            )  # fmt: skip
    rss = [f"supernet training {tr.get('max_rss_mib')} MiB"] if tr else []
    rss += [f"search with the supernet evaluator ({d}) {v['search']['max_rss_mib']} MiB" for d, v in r["special"].items() if "search" in v]  # fmt: skip
    rss += [f"stand-alone training process {r['standalone_rss_mib']} MiB"] if r["standalone_rss_mib"] else []
    lines += ["", "Peak memory (max RSS): " + "; ".join(rss) + "."]
    if r["rows"]:
        lines += ["", "## Per architecture", "",
                  "| architecture | MFLOPs | params M | inherited % | stand-alone % |", "|---|---:|---:|---:|---:|"]  # fmt: skip
    for row in r["rows"]:
        i = row["inherited"]
        acc = f"{i['accuracy']:.1f}" if "accuracy" in i else "–"
        lines.append(f"| `{row['arch'].replace('|', chr(92) + '|')}` | {i['flops']:.1f} | {i['params']:.2f} | {acc} | {' / '.join(f'{a:.1f}' for a in row['standalone'])} |")  # fmt: skip
    return "\n".join(lines) + "\n"


STAGES: dict[str, Callable[[argparse.Namespace], None]] = {
    "speed": stage_speed, "train": stage_train, "inherit": stage_inherit, "special": stage_special,
    "sweep": stage_sweep, "standalone": stage_standalone, "proxies": stage_proxies, "report": stage_report,
}  # fmt: skip


def stop_time(text: str | None) -> float:
    """The next time it is HH:MM UTC: later today, or tomorrow when that time of day has passed."""
    if text is None:
        return float("inf")
    hours, minutes = (int(v) for v in text.split(":"))
    now = time.gmtime()
    ahead = (60 * hours + minutes - 60 * now.tm_hour - now.tm_min) * 60 - now.tm_sec
    return time.time() + ahead % (24 * 3600)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line with every default resolved (``RECIPE`` per schedule, the budgets)."""
    from hynas.supernets.train import (
        DISTILL,
        DRAWN_RESOLUTION,
        METHODS,
        SANDWICH_RESOLUTION,
    )  # the training's own choices

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--stage", default=",".join(STAGES), help="comma-separated stages, in order")
    ap.add_argument("--results", type=Path, default=Path(__file__).parent / "results")
    ap.add_argument(
        "--work", type=Path, default=Path("/tmp/hynas-supernet-bench"), help="checkpoint, stores, logs"
    )
    ap.add_argument("--quick", action="store_true", help="a few minutes: " + json.dumps(QUICK))
    ap.add_argument("--schedule", default="sandwich", choices=METHODS, help="supernet training")
    ap.add_argument(
        "--supernet-steps",
        default=None,
        help="sandwich: steps (2000); progressive: per phase (300,200,300,1200)",
    )
    ap.add_argument("--supernet-seed", type=int, default=0, help="seed of the supernet's training")
    recipe = "default per --schedule: " + json.dumps(RECIPE)
    ap.add_argument(
        "--sandwich-resolution", default=None, choices=SANDWICH_RESOLUTION, help="see hynas supernet train"
    )
    ap.add_argument(
        "--resolution-weights", default=None, help="see hynas supernet train (e.g. 1,1,1,2; 1,1,1,1: even)"
    )
    ap.add_argument("--ema-decay", type=float, default=0.0, help="see hynas supernet train")
    ap.add_argument("--distill", choices=DISTILL, default=None, help="see hynas supernet train; " + recipe)
    ap.add_argument(
        "--supernet-lr", type=float, default=None, help=f"supernet training's peak lr ({TRAIN_LR} if none)"
    )
    ap.add_argument(
        "--last-weights",
        action="store_true",
        help="inherit: score the last step's weights of a supernet trained with --ema-decay",
    )
    ap.add_argument("--archs", type=int, default=50)
    ap.add_argument("--standalone-steps", type=int, default=600, help="the truth's training budget")
    ap.add_argument("--seeds", type=int, default=3, help="stand-alone seeds per architecture")
    ap.add_argument(
        "--eval-images", type=int, default=10_000, help="validation images per score (all: 10,000)"
    )
    ap.add_argument("--search-budget", type=int, default=100, help="trials per device")
    ap.add_argument(
        "--finetune-steps",
        type=int,
        default=None,
        help="fine-tuning (default: --scratch-steps, the full budget)",
    )
    ap.add_argument("--finetune-lr", type=float, default=FINETUNE_LR, help="fine-tuning's learning rate")
    ap.add_argument(
        "--scratch-steps", type=int, default=None, help="from-scratch training (default: --standalone-steps)"
    )
    ap.add_argument("--devices", default="raspi4,pixel3,jetson-orin")
    ap.add_argument(
        "--limits",
        default="0.25,0.5,0.75",
        help="latency limits per device: quantiles of its trials' latencies",
    )
    ap.add_argument(
        "--also",
        action="append",
        default=[],
        metavar="DIR",
        help="report: rank another results dir's supernet too",
    )
    ap.add_argument("--proxies", default=",".join(PROXIES))
    ap.add_argument("--proxy-batch", type=int, default=16, help="random images per zero-cost proxy score")
    ap.add_argument("--resolution-scale", type=float, default=0.125, help="px per resolution unit (16-28 px)")
    ap.add_argument(
        "--partial-supernet", action="store_true", help="use the checkpoint as it is, if training was stopped"
    )
    ap.add_argument("--stop-at", default=None, help="standalone: claim no new run after the next HH:MM (UTC)")
    args = ap.parse_args(argv)
    args.stop_at = stop_time(args.stop_at)
    if args.quick:
        for k, v in QUICK.items():
            setattr(args, k, v)
    if args.scratch_steps is None:  # the full budget: the one the truth trains with
        args.scratch_steps = args.standalone_steps
    if args.finetune_steps is None:
        args.finetune_steps = args.scratch_steps
    given_weights = args.resolution_weights is not None
    for key, value in RECIPE[args.schedule].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    drawn = args.sandwich_resolution in DRAWN_RESOLUTION
    if not drawn and not given_weights:  # the recipe's weights are for the rules that draw a resolution
        args.resolution_weights = None
    try:
        uneven(args.resolution_weights)
    except ValueError:
        ap.error(
            f"--resolution-weights takes comma-separated numbers, e.g. 1,1,1,2; got {args.resolution_weights!r}"
        )
    if uneven(args.resolution_weights) and not drawn:
        ap.error(
            f"--resolution-weights apply to --sandwich-resolution shared or anchored, not {args.sandwich_resolution}"
        )
    if args.supernet_steps is None:
        args.supernet_steps = SUPERNET_STEPS[args.schedule, args.quick]
    return args


def main() -> None:
    args = parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    for name in args.stage.split(","):
        if name not in STAGES:
            sys.exit(f"unknown stage {name!r}; valid: {', '.join(STAGES)}")
        t = time.perf_counter()
        STAGES[name](args)
        print(f"stage {name}: {time.perf_counter() - t:.0f} s", flush=True)


if __name__ == "__main__":
    main()
