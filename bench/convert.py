"""Conversion benchmark (issue "turn a trained Transformer into a hybrid").

1. **Conversion beats scratch.** 1/4, 1/2, 3/4 of the teacher's attention layers (and all of them)
   turned into Mamba SSM layers, carved + distilled (per-layer alignment, then logit KD), against
   the same architecture trained from scratch on the same number of training tokens
   (cross-entropy, same schedule): bits per byte on held-out stdlib source, MQAR recall.
2. **Quality vs memory.** Those models and the sliding-window conversions: bpb and recall against
   the analytic ``memory@128k`` and roofline decode latency at 32K (A100, fp16), and the measured
   memory of the built model (fp32 weights + decoding caches after a 4K-token prefill).
3. **Searched vs heuristic layer choice at equal memory.** Half the layers to SSM: every plan is
   scored by the cheap conversion proxy (the ``convert-proxy`` evaluator: carve + a few alignment
   steps), the best one is fully distilled, against the heuristics first / last / every other /
   middle.
4. **Wall time and peak memory per stage** (teacher training, alignment, KD).

Writes ``bench/results/convert.json`` and ``convert.md``. Usage::

    nice -n 10 python bench/convert.py --quick   # tiny teacher (4 x 32), a few minutes
    nice -n 10 python bench/convert.py           # the 6 x 256 teacher, under 45 min with --jobs 2
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import platform
import resource
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hynas.convert.carve import carve
from hynas.convert.distill import DistillOptions, distill
from hynas.convert.lmfile import Batches, bits_per_byte, lm_loss, recall
from hynas.convert.stage import run_stage
from hynas.convert.teacher import load_teacher, train_teacher
from hynas.evaluators.convert import ConversionProxy, windows
from hynas.evaluators.lm import make_mqar, stdlib_corpus
from hynas.hw.lm_costs import decode_latency, lm_cost
from hynas.models.hybrid_lm import HybridLM
from hynas.models.lm_spec import format_config, parse_config
from hynas.spaces import get_space
from hynas.spaces.hybrid_convert import TEACHERS, ConversionSpace, Plan, converted_config, format_plan
from hynas.training.loop import deterministic
from jsonfile import write_atomic
from supernet import stop_time  # bench/ is on the path when run as a script

RESULTS = Path(__file__).parent / "results"
SETTINGS = {
    "quick": {"preset": "tiny", "space": "hybrid-convert-tiny", "teacher_steps": 400, "align": 60, "kd": 150,
              "proxy": 25, "batch": 8, "context": 64},
    # the 6 x 256 teacher, context 128, batch 8 on one free core: teacher 0.3 s/step; a 6/6-SSM
    # student ~1.9 s per KD step (teacher forward + SSM scans); a scratch SSM model ~1.9 s/step.
    # New SSM layers start from Mamba's initialisation and are distilled end to end (KD only): measured
    # with this teacher, better than the attention-seeded start and than spending steps on alignment
    # (the ablation rows show both); scratch takes the better of two learning rates per architecture.
    "full": {"preset": "bench", "space": "hybrid-convert", "teacher_steps": 600, "teacher_lr": 1e-3,
             "ssm_init": "mamba", "align": 0, "kd": 120, "scratch_lrs": [1e-3, 3e-3],
             "ablation": [["attention", 40, 80], ["attention", 0, 120], ["mamba", 40, 80]],
             "proxy": 10, "batch": 8, "context": 128},
}  # fmt: skip
#: the settings the quick mode's cached rows predate, at the values those rows were made with
#: (the cache compares ``SETTINGS[mode]`` as written; :func:`settings` fills these in)
DEFAULTS = {"teacher_lr": 3e-3, "ssm_init": "attention", "scratch_lrs": [3e-3], "ablation": []}


def settings(given: dict[str, Any]) -> dict[str, Any]:
    """``given`` with :data:`DEFAULTS` for what it leaves out."""
    return {**DEFAULTS, **given}


def ssm_plan(n: int, layers: tuple[int, ...]) -> Plan:
    return tuple(("ssm" if i in layers else "keep", False) for i in range(n))


def spread(n: int, k: int) -> tuple[int, ...]:
    """``k`` of ``n`` layers, evenly spread (the last layer first: it has the most to lose)."""
    return tuple(sorted({n - 1 - round(j * n / k) for j in range(k)}))


def scores(model: HybridLM, context: int) -> dict[str, float]:
    xn, yn = make_mqar(256, 32, 4, np.random.default_rng(10_000))
    return {"bpb": bits_per_byte(model, stdlib_corpus()["val"], context), "recall": recall(model, xn, yn)}


def measured_memory(model: HybridLM, context: int = 4096) -> float:
    """MB of fp32 weights + decoding caches after prefilling ``context`` tokens (batch 1)."""
    cache = model.new_cache()
    idx = torch.from_numpy(stdlib_corpus()["val"][:context].astype(np.int64))[None]
    with torch.no_grad():
        for s in range(0, context, 512):
            model(idx[:, s : s + 512], cache)
    weights = sum(p.numel() * p.element_size() for p in {id(p): p for p in model.parameters()}.values())
    return (weights + cache.nbytes()) / 1e6


def analytic(model: HybridLM) -> dict[str, float]:
    return {
        "memory@128k_gb": lm_cost(model.cfg, 131072).memory_bytes / 1e9,
        "decode_latency@32k_a100_ms": 1e3 * decode_latency(model.cfg, 32768, "a100"),
        "measured_memory@4k_mb": measured_memory(model),
    }


def converted(teacher: HybridLM, space: ConversionSpace, plan: Plan, cfg: dict[str, Any], batches: Batches,
              out: Path, recipe: tuple[str, int, int] | None = None) -> tuple[HybridLM, dict[str, Any]]:  # fmt: skip
    """Carve and distil ``plan``; ``recipe`` (SSM start, alignment steps, KD steps) overrides ``cfg``'s."""
    init, align, kd = recipe or (cfg["ssm_init"], cfg["align"], cfg["kd"])
    calib = windows(stdlib_corpus()["train"], 8, cfg["context"])
    t0 = time.perf_counter()
    student = carve(teacher, plan, replace(space.options, ssm_init=init), calib)
    carve_s = time.perf_counter() - t0
    opts = DistillOptions(align_steps=align, kd_steps=kd, every=0)
    stages = distill(out, teacher, student, plan, batches, opts)
    return student, {"carve_s": carve_s, "stages": stages, "ssm_init": init}


def scratch(cfg_model: Any, steps: int, batches: Batches, lr: float = 3e-3, seed: int = 0) -> HybridLM:
    with deterministic(1):
        torch.manual_seed(seed)
        model = HybridLM(cfg_model)
        run_stage(None, model=model, params=model.parameters(), loss_fn=lambda x, y: lm_loss(model(x), y) + 0.01 * model.aux_loss(),
                  batches=batches, steps=steps, lr=lr, seed=seed, kind="scratch", config={})  # fmt: skip
    return model


#: what a worker process holds (set by :func:`_setup`): settings, space, teacher, batches, folder
_W: dict[str, Any] = {}


def _batches(cfg: dict[str, Any]) -> Batches:
    mq = lambda n, rng: make_mqar(n, 32, 4, rng)  # noqa: E731
    return Batches(stdlib_corpus()["train"], cfg["context"], cfg["batch"], mq, 4)


def _setup(mode: str, teacher_path: str, work: str) -> None:
    torch.set_num_threads(1)
    cfg = settings(SETTINGS[mode])
    _W.update(cfg=cfg, space=get_space(cfg["space"]), teacher=load_teacher(teacher_path)[0],
              path=teacher_path, work=Path(work), batches=_batches(cfg))  # fmt: skip


def job(kind: str, *args: Any) -> dict[str, Any]:
    """One row, in a worker process: ``convert`` (name, plan, recipe or None), ``scratch`` (spec,
    lr) or ``proxy`` (plan)."""
    cfg, space, teacher, batches = _W["cfg"], _W["space"], _W["teacher"], _W["batches"]
    if kind == "convert":
        name, text, recipe = args
        plan = space.plan(space.parse(text))
        tag = f"{text}_{'_'.join(map(str, recipe)) if recipe else 'main'}"  # one folder per plan and recipe
        folder = _W["work"] / tag.replace(",", "_")
        student, info = converted(
            teacher, space, plan, cfg, batches, folder, None if recipe is None else tuple(recipe)
        )
        return {"name": name, "plan": text, "spec": format_config(student.cfg),
                "converted": scores(student, cfg["context"]), **analytic(student), **info}  # fmt: skip
    if kind == "scratch":
        spec, lr = args
        t0 = time.perf_counter()
        model = scratch(parse_config(spec), cfg["align"] + cfg["kd"], batches, lr)
        return {**scores(model, cfg["context"]), "lr": lr, "wall_s": time.perf_counter() - t0,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}  # fmt: skip
    if kind == "proxy":
        proxy = ConversionProxy(teacher=_W["path"], steps=(cfg["proxy"],), batch=cfg["batch"],
                                ssm_init=cfg["ssm_init"])  # fmt: skip
        e = proxy.evaluate(space.parse(args[0]))
        return {**e.metrics, "cost_s": e.cost_s}
    raise ValueError(kind)


class Stopped(Exception):
    """``--stop-at`` came before this row; rerunning goes on from it."""


class Cache:
    """Finished rows in ``bench/results/convert_cache.json`` (one file per mode), so that a cut-short
    run keeps what it measured and the next run continues where it stopped. A row is reused only
    under the same settings; its times are those of the run that measured it."""

    def __init__(self, mode: str, settings: dict[str, Any], stop: float) -> None:
        self.stop = stop
        self.path = RESULTS / f"convert_cache_{mode}.json"
        self.data: dict[str, Any] = json.loads(self.path.read_text()) if self.path.exists() else {}
        if self.data.get("settings", settings) != settings:
            raise SystemExit(f"{self.path} holds other settings {self.data['settings']}; move it away")
        self.data["settings"] = settings

    def many(self, pool: ProcessPoolExecutor, jobs: dict[str, tuple[Any, ...]]) -> None:
        """Run the ``job(*args)`` of every key not cached yet in ``pool``, caching each as it ends (a
        failed or killed run keeps the rows already done); after ``--stop-at``, Stopped."""
        todo = {k: v for k, v in jobs.items() if k not in self.data}
        if todo and time.time() >= self.stop:
            raise Stopped(next(iter(todo)))
        futures = {pool.submit(job, *v): k for k, v in todo.items()}
        for f in as_completed(futures):
            self.data[futures[f]] = f.result()
            print(futures[f], json.dumps(self.data[futures[f]])[:300], flush=True)
            write_atomic(self.path, self.data, sort_keys=True)

    def get(self, key: str, make: Callable[..., Any], *args: Any) -> Any:
        """The cached row ``key``, or ``make(*args)`` stored under it; after ``--stop-at``, Stopped."""
        if key not in self.data:
            if time.time() >= self.stop:
                raise Stopped(key)
            self.data[key] = make(*args)
            write_atomic(self.path, self.data, sort_keys=True)
        return self.data[key]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="the tiny teacher, few steps (minutes)")
    ap.add_argument("--work", type=Path, default=None, help="folder for the teacher and checkpoints")
    ap.add_argument("--render", action="store_true", help="only write convert.md again from convert.json")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes (one torch thread each)")
    ap.add_argument(
        "--stop-at", default=None, help="start no new row after HH:MM (UTC, today); rerun to go on"
    )
    a = ap.parse_args()
    if a.render:
        (RESULTS / "convert.md").write_text(markdown(json.loads((RESULTS / "convert.json").read_text())))
        return
    mode = "quick" if a.quick else "full"
    try:
        run(a, mode, Cache(mode, SETTINGS[mode], stop_time(a.stop_at)))
    except Stopped as e:
        print(f"stopped at --stop-at before {e}; rerun to go on")


def run(a: argparse.Namespace, mode: str, cache: Cache) -> None:
    cfg = settings(SETTINGS[mode])
    work = a.work or Path(tempfile.mkdtemp(prefix="hynas-convert-"))
    space = get_space(cfg["space"])
    assert isinstance(space, ConversionSpace)
    batches = _batches(cfg)
    out: dict[str, Any] = {
        "mode": mode,
        "settings": cfg,
        "machine": platform.processor() or platform.machine(),
    }
    t0 = time.perf_counter()

    path = train_teacher(
        work / "teacher", parse_config(TEACHERS[cfg["preset"]]), batches, cfg["teacher_steps"],
        lr=cfg["teacher_lr"],
    )  # fmt: skip
    teacher, _ = load_teacher(path)

    def teacher_row() -> dict[str, Any]:  # measured by the run that trained the teacher (cached)
        return {"spec": format_config(teacher.cfg), "steps": cfg["teacher_steps"], "wall_s": time.perf_counter() - t0,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                **scores(teacher, cfg["context"]), **analytic(teacher)}  # fmt: skip

    out["teacher"] = cache.get("teacher", teacher_row)
    print("teacher", out["teacher"], flush=True)
    n = len(teacher.cfg.layers)
    plans = {f"{k}/{n} ssm": ssm_plan(n, spread(n, k)) for k in range(1, n + 1)}
    plans |= {f"{k}/{n} swa": tuple((("swa" if i in spread(n, k) else "keep"), False) for i in range(n))
              for k in (n // 2, n)}  # fmt: skip
    rows_jobs = {f"row {name}": ("convert", name, format_plan(plan), None) for name, plan in plans.items()}
    ablation = {f"ablation {k}/{n} ssm {init} {al}/{kd}": ("convert", f"{k}/{n} ssm", format_plan(plans[f"{k}/{n} ssm"]), [init, al, kd])
                for k in (n // 2, n) for init, al, kd in cfg["ablation"]}  # fmt: skip
    specs = {
        name: format_config(converted_config(teacher.cfg, plan, space.options))
        for name, plan in plans.items()
    }
    scratch_jobs = {f"scratch {specs[name]} lr {lr}": ("scratch", specs[name], lr)
                    for name in plans if "ssm" in name for lr in cfg["scratch_lrs"]}  # fmt: skip
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        a.jobs, mp_context=ctx, initializer=_setup, initargs=(mode, str(path), str(work))
    ) as pool:
        cache.many(pool, {**rows_jobs, **scratch_jobs, **ablation})
        rows = [cache.data[k] for k in rows_jobs]
        for row in rows:
            if "ssm" in row["name"]:
                by_lr = [cache.data[f"scratch {specs[row['name']]} lr {lr}"] for lr in cfg["scratch_lrs"]]
                row["scratch_by_lr"] = by_lr
                row["scratch"] = min(by_lr, key=lambda r: r["bpb"])  # the better learning rate
        out["conversions"] = rows
        out["ablation"] = [cache.data[k] for k in ablation]
        # 3. searched vs heuristic at equal memory (half the layers to SSM)
        k = n // 2
        texts = [format_plan(ssm_plan(n, combo)) for combo in itertools.combinations(range(n), k)]
        cache.many(pool, {f"proxy {t}": ("proxy", t) for t in texts})
        proxied = {t: cache.data[f"proxy {t}"] for t in texts}
        best = min(proxied, key=lambda p: proxied[p]["bpb"])
        heuristics = {
            "first": tuple(range(k)), "last": tuple(range(n - k, n)), "every other": tuple(range(1, n, 2))[:k],
            "middle": tuple(range((n - k) // 2, (n - k) // 2 + k)),
        }  # fmt: skip
        choice = {"searched (proxy)": best} | {h: format_plan(ssm_plan(n, c)) for h, c in heuristics.items()}
        done = {r["plan"]: r for r in rows}
        cache.many(pool, {f"choice {p}": ("convert", h, p, None) for h, p in choice.items() if p not in done})
    layer = []
    for h, p in choice.items():
        r = done.get(p) or cache.data[f"choice {p}"]  # the same plan, already distilled above (deterministic)
        row = {
            **r.get("converted", r),  # rows cached before the worker pool hold the scores at the top
            **{m: r[m] for m in ANALYTIC},
            **({"stages": r["stages"], "carve_s": r["carve_s"]} if p not in done else {}),
        }
        layer.append({"choice": h, "plan": p, **row, "proxy": proxied[p]})
        print(h, layer[-1], flush=True)
    out["layer_choice"] = {
        "converted_layers": k,
        "proxy_steps": cfg["proxy"],
        "proxy": proxied,
        "rows": layer,
    }
    staged = lambda rs: sum(r["carve_s"] + sum(st["wall_s"] for st in r["stages"].values()) for r in rs)  # noqa: E731
    out["total_wall_s"] = (
        out["teacher"]["wall_s"] + staged(rows) + staged(out["ablation"])
        + sum(cache.data[key]["wall_s"] for key in scratch_jobs)
        + sum(v["cost_s"] for v in proxied.values()) + staged([r for r in layer if "stages" in r])
    )  # fmt: skip
    (RESULTS / "convert.json").write_text(json.dumps(out, indent=1))
    (RESULTS / "convert.md").write_text(markdown(out))
    print(markdown(out))


ANALYTIC = ("memory@128k_gb", "decode_latency@32k_a100_ms", "measured_memory@4k_mb")


def mem4k(spec: str) -> float:
    """Analytic weights + caches (MB) at 4K tokens in fp32, to check the measured column."""
    return lm_cost(parse_config(spec), 4096, dtype="fp32").memory_bytes / 1e6


NOTES = """
Notes. *Quick mode*: the tiny 4 x 32 teacher trained for a few hundred steps, one seed; the full
benchmark (6 x 256 teacher, `python bench/convert.py`) has not been run yet. The scratch models
get as many training steps (tokens) as the distillation stages; the converted ones also inherit
the teacher's training, which is the point of converting. The tiny teacher barely learnt MQAR
(chance is about 0.8 %), so the recall columns here say little. In part 3 the proxy is the
`convert-proxy` evaluator (carve + the alignment steps shown), over every plan with that many SSM
layers; with 4 layers the differences after distillation are within a few thousandths of a bit,
so this run does not separate the choices.
"""


FULL_NOTES = """
Notes. *Full mode*, one seed, 2026-12-02: the whole run (`python bench/convert.py --work DIR`, two
worker processes of one torch thread each, one per core) took under 45 minutes from the teacher's
first step to the last row; the stage times above are those of each row in its worker, beside the
other worker. The teacher trains at lr 1e-3 (at the former 3e-3 it reached only 2.88 bpb, and
SSM-heavy models trained from scratch for 120 steps beat it). Conversion beats scratch at every
ratio, by 1.3 bit with one SSM layer and by 0.16 / 0.04 bit at 5/6 and 6/6, where SSM stacks learn
bytes fast from scratch; scratch gets the better of lr 1e-3 and 3e-3 for each architecture. The
ablation says why the main recipe starts new SSM layers from Mamba's initialisation and skips the
alignment stage: seeding them from the attention weights (mmMamba's mapping, ridge-refit output)
ends 0.06 bit worse with three SSM layers and 0.44-0.64 bit worse with six, and 40 alignment steps
in place of 40 KD steps cost 0.004-0.06 bit. bpb is scored at a 128-byte context, so the
sliding-window rows say nothing about long-range use. In part 3 the proxy (carve + 10 alignment
steps, `convert-proxy` with the same SSM start) scored all 20 plans with three SSM layers; its best
plan, distilled, is the best of the five choices, 0.009-0.072 bit ahead of the heuristics.
"""


def markdown(r: dict[str, Any]) -> str:
    t, st = r["teacher"], settings(r["settings"])
    lines = [
        f"# Conversion benchmark ({r['mode']} mode)", "",
        f"Teacher `{t['spec']}`, {t['steps']} steps at lr {st['teacher_lr']:g} ({t['wall_s']:.0f} s): "
        f"bpb {t['bpb']:.3f}, MQAR recall {t['recall']:.1f} %, memory@128k {t['memory@128k_gb']:.4f} GB. "
        f"Distillation: {st['align']} alignment + {st['kd']} KD steps, batch {st['batch']}, context "
        f"{st['context']}, new SSM layers start from the `{st['ssm_init']}` initialisation; "
        f"scratch: the same number of steps (tokens) of cross-entropy at the better of lr "
        f"{', '.join(f'{v:g}' for v in st['scratch_lrs'])}.", "",
        "## 1-2. Conversion vs scratch, quality vs memory", "",
        "| converted | plan | bpb converted | bpb scratch (lr) | recall conv. (%) | recall scratch (%) | "
        "memory@128k (GB) | decode 32K A100 (ms) | measured @4K fp32 (MB) | analytic @4K fp32 (MB) |",
        "|---|---|---|---|---|---|---|---|---|---|",
        f"| teacher | all attention | {t['bpb']:.3f} | – | {t['recall']:.1f} | – | {t['memory@128k_gb']:.4f} | "
        f"{t['decode_latency@32k_a100_ms']:.4f} | {t['measured_memory@4k_mb']:.2f} | {mem4k(t['spec']):.2f} |",
    ]  # fmt: skip
    for c in r["conversions"]:
        s = c.get("scratch")
        s_bpb, s_rec = (f"{s['bpb']:.3f} ({s.get('lr', 3e-3):g})", f"{s['recall']:.1f}") if s else ("–", "–")
        lines.append(
            f"| {c['name']} | `{c['plan']}` | {c['converted']['bpb']:.3f} | {s_bpb} | "
            f"{c['converted']['recall']:.1f} | {s_rec} | {c['memory@128k_gb']:.4f} | "
            f"{c['decode_latency@32k_a100_ms']:.4f} | {c['measured_memory@4k_mb']:.2f} | {mem4k(c['spec']):.2f} |"
        )
    wins = [c for c in r["conversions"] if c.get("scratch")]
    if wins:
        better = sum(c["converted"]["bpb"] < c["scratch"]["bpb"] for c in wins)
        lines += ["", f"Conversion better than scratch (lower bpb) at {better} of {len(wins)} SSM ratios."]
    if r.get("ablation"):
        main = {c["name"]: c["converted"]["bpb"] for c in r["conversions"]}
        lines += ["", "### How new SSM layers start, and the alignment stage (same teacher, same 120 steps)", "",
                  "| converted | SSM start | alignment + KD steps | bpb | bpb of the main recipe |", "|---|---|---|---|---|"]  # fmt: skip
        for ab in r["ablation"]:
            steps = f"{ab['stages']['align']['steps']} + {ab['stages']['kd']['steps']}"
            lines.append(f"| {ab['name']} | {ab.get('ssm_init', 'attention')} | {steps} | {ab['converted']['bpb']:.3f} | {main[ab['name']]:.3f} |")  # fmt: skip
    lc = r["layer_choice"]
    lines += ["", f"## 3. Layer choice at equal memory ({lc['converted_layers']} layers to SSM)", "",
              "| choice | plan | proxy bpb | bpb after distillation | recall (%) | memory@128k (GB) |",
              "|---|---|---|---|---|---|"]  # fmt: skip
    for row in lc["rows"]:
        lines.append(f"| {row['choice']} | `{row['plan']}` | {row['proxy']['bpb']:.3f} | {row['bpb']:.3f} | "
                     f"{row['recall']:.1f} | {row['memory@128k_gb']:.4f} |")  # fmt: skip
    lines += ["", "## 4. Wall time and peak memory per stage", "",
              "| model | carve (s) | align (s) | KD (s) | peak RSS (MB) | scratch (s, per lr) |", "|---|---|---|---|---|---|",
              f"| teacher training | | | {t['wall_s']:.1f} (training) | {t['peak_rss_mb']:.0f} | |"]  # fmt: skip
    for c in r["conversions"]:
        sg = c["stages"]
        sc = ", ".join(f"{x['wall_s']:.0f}" for x in c.get("scratch_by_lr", []))
        lines.append(f"| {c['name']} | {c['carve_s']:.2f} | {sg['align']['wall_s']:.1f} | {sg['kd']['wall_s']:.1f} | "
                     f"{sg['kd']['peak_rss_mb']:.0f} | {sc} |")  # fmt: skip
    lines += ["", f"Total wall time {r['total_wall_s']:.0f} s on {r['machine']} (shared 2-core machine, one torch "
              "thread); the sum of the measured stages, each row timed by the run that made it (rows are cached in `convert_cache_<mode>.json`, so a run cut short and continued adds up). Peak RSS is the resident high-water mark of the process that measured the row.",
              NOTES if r["mode"] == "quick" else FULL_NOTES]  # fmt: skip
    return "\n".join(lines)


if __name__ == "__main__":
    main()
