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
    nice -n 10 python bench/convert.py           # the 6 x 256 teacher, estimated 1-1.5 h (not run yet)
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import resource
import tempfile
import time
from collections.abc import Callable
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
from hynas.spaces.hybrid_convert import TEACHERS, ConversionSpace, Plan, format_plan
from hynas.training.loop import deterministic
from jsonfile import write_atomic
from supernet import stop_time  # bench/ is on the path when run as a script

RESULTS = Path(__file__).parent / "results"
SETTINGS = {
    "quick": {"preset": "tiny", "space": "hybrid-convert-tiny", "teacher_steps": 400, "align": 60, "kd": 150,
              "proxy": 25, "batch": 8, "context": 64},
    # sized from timed steps of the 6 x 256 teacher on this 2-core machine under load (~2): teacher
    # 1.8 s/step, alignment 6.2 s/step, KD 8.0 s/step at batch 16, context 128 (SSM scans dominate)
    "full": {"preset": "bench", "space": "hybrid-convert", "teacher_steps": 600, "align": 40, "kd": 80,
             "proxy": 10, "batch": 8, "context": 128},
}  # fmt: skip


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
              out: Path) -> tuple[HybridLM, dict[str, Any]]:  # fmt: skip
    calib = windows(stdlib_corpus()["train"], 8, cfg["context"])
    t0 = time.perf_counter()
    student = carve(teacher, plan, space.options, calib)
    carve_s = time.perf_counter() - t0
    opts = DistillOptions(align_steps=cfg["align"], kd_steps=cfg["kd"], every=0)
    stages = distill(out, teacher, student, plan, batches, opts)
    return student, {"carve_s": carve_s, "stages": stages}


def scratch(cfg_model: Any, steps: int, batches: Batches, seed: int = 0) -> HybridLM:
    with deterministic(1):
        torch.manual_seed(seed)
        model = HybridLM(cfg_model)
        run_stage(None, model=model, params=model.parameters(), loss_fn=lambda x, y: lm_loss(model(x), y) + 0.01 * model.aux_loss(),
                  batches=batches, steps=steps, lr=3e-3, seed=seed, kind="scratch", config={})  # fmt: skip
    return model


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
    cfg = SETTINGS[mode]
    work = a.work or Path(tempfile.mkdtemp(prefix="hynas-convert-"))
    space = get_space(cfg["space"])
    assert isinstance(space, ConversionSpace)
    mq = lambda n, rng: make_mqar(n, 32, 4, rng)  # noqa: E731
    batches = Batches(stdlib_corpus()["train"], cfg["context"], cfg["batch"], mq, 4)
    out: dict[str, Any] = {
        "mode": mode,
        "settings": cfg,
        "machine": platform.processor() or platform.machine(),
    }
    t0 = time.perf_counter()

    path = train_teacher(
        work / "teacher", parse_config(TEACHERS[cfg["preset"]]), batches, cfg["teacher_steps"]
    )
    teacher, _ = load_teacher(path)

    def teacher_row() -> dict[str, Any]:  # measured by the run that trained the teacher (cached)
        return {"spec": format_config(teacher.cfg), "steps": cfg["teacher_steps"], "wall_s": time.perf_counter() - t0,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                **scores(teacher, cfg["context"]), **analytic(teacher)}  # fmt: skip

    out["teacher"] = cache.get("teacher", teacher_row)
    print("teacher", out["teacher"], flush=True)
    n = len(teacher.cfg.layers)
    tokens_steps = cfg["align"] + cfg["kd"]
    plans = {f"{k}/{n} ssm": ssm_plan(n, spread(n, k)) for k in range(1, n + 1)}
    plans |= {f"{k}/{n} swa": tuple((("swa" if i in spread(n, k) else "keep"), False) for i in range(n))
              for k in (n // 2, n)}  # fmt: skip

    def conversion(name: str, plan: Plan) -> dict[str, Any]:
        student, info = converted(
            teacher, space, plan, cfg, batches, work / format_plan(plan).replace(",", "_")
        )
        row = {"name": name, "plan": format_plan(plan), "spec": format_config(student.cfg),
               "converted": scores(student, cfg["context"]), **analytic(student), **info}  # fmt: skip
        if "ssm" in name:
            base = scratch(student.cfg, tokens_steps, batches)
            row["scratch"] = scores(base, cfg["context"])
        print(name, row["converted"], row.get("scratch"), flush=True)
        return row

    rows = []
    for name, plan in plans.items():
        rows.append(cache.get(f"row {name}", conversion, name, plan))
    out["conversions"] = rows
    # 3. searched vs heuristic at equal memory (half the layers to SSM)
    k = n // 2
    proxy = ConversionProxy(teacher=str(path), steps=(cfg["proxy"],), batch=cfg["batch"])
    proxied = {}

    def proxy_row(text: str) -> dict[str, Any]:
        e = proxy.evaluate(space.parse(text))
        return {**e.metrics, "cost_s": e.cost_s}

    for combo in itertools.combinations(range(n), k):
        text = format_plan(ssm_plan(n, combo))
        proxied[text] = cache.get(f"proxy {text}", proxy_row, text)
    best = min(proxied, key=lambda p: proxied[p]["bpb"])
    heuristics = {
        "first": tuple(range(k)), "last": tuple(range(n - k, n)), "every other": tuple(range(1, n, 2))[:k],
        "middle": tuple(range((n - k) // 2, (n - k) // 2 + k)),
    }  # fmt: skip
    choice = {"searched (proxy)": best} | {h: format_plan(ssm_plan(n, c)) for h, c in heuristics.items()}
    done = {r["plan"]: r for r in rows}

    def distilled(p: str) -> dict[str, Any]:
        if p in done:  # the same plan, already converted and distilled above (deterministic)
            return {**done[p]["converted"], **{k: done[p][k] for k in ANALYTIC}}
        plan = space.plan(space.parse(p))
        student, info = converted(teacher, space, plan, cfg, batches, work / ("h_" + p.replace(",", "_")))
        return {**scores(student, cfg["context"]), **analytic(student), **info}

    layer = []
    for h, p in choice.items():
        layer.append({"choice": h, "plan": p, **cache.get(f"choice {p}", distilled, p), "proxy": proxied[p]})
        print(h, layer[-1], flush=True)
    out["layer_choice"] = {
        "converted_layers": k,
        "proxy_steps": cfg["proxy"],
        "proxy": proxied,
        "rows": layer,
    }
    out["total_wall_s"] = (
        out["teacher"]["wall_s"]
        + sum(r["carve_s"] + sum(s["wall_s"] for s in r["stages"].values()) for r in rows)
        + sum(v["cost_s"] for v in proxied.values())
        + sum(r["carve_s"] + sum(s["wall_s"] for s in r["stages"].values()) for r in layer if "stages" in r)
    )
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
Notes. *Full mode*, one seed, on the shared 2-core machine: the teacher was trained in an earlier
run of this script and every row is cached in `convert_cache_full.json`, so the stage times are
those of the run that made each row, at very different loads (40 alignment steps took 40 s with a
free core and 872 s beside other jobs). Conversion wins up to 4 of 6 SSM layers; from 5 (the first
plans with an SSM in layer 0) the same architecture trained from scratch for the same 120 steps
beats the conversion and even the 600-step teacher, so the teacher, not the carving, is the limit
there. bpb is scored at a 128-byte context, so the sliding-window rows say nothing about long-range
use, and the teacher's MQAR recall is near chance. In part 3 the proxy (carve + 10 alignment steps,
`convert-proxy`) scored all 20 plans with three SSM layers; its best plan, distilled, is the best of
the five choices, 0.004-0.135 bit ahead of the heuristics.
"""


def markdown(r: dict[str, Any]) -> str:
    t = r["teacher"]
    lines = [
        f"# Conversion benchmark ({r['mode']} mode)", "",
        f"Teacher `{t['spec']}`, {t['steps']} steps ({t['wall_s']:.0f} s): bpb {t['bpb']:.3f}, "
        f"MQAR recall {t['recall']:.1f} %, memory@128k {t['memory@128k_gb']:.4f} GB. Distillation: "
        f"{r['settings']['align']} alignment + {r['settings']['kd']} KD steps, batch {r['settings']['batch']}, "
        f"context {r['settings']['context']}; scratch: the same number of steps (tokens) of cross-entropy.", "",
        "## 1-2. Conversion vs scratch, quality vs memory", "",
        "| converted | plan | bpb converted | bpb scratch | recall conv. (%) | recall scratch (%) | "
        "memory@128k (GB) | decode 32K A100 (ms) | measured @4K fp32 (MB) | analytic @4K fp32 (MB) |",
        "|---|---|---|---|---|---|---|---|---|---|",
        f"| teacher | all attention | {t['bpb']:.3f} | – | {t['recall']:.1f} | – | {t['memory@128k_gb']:.4f} | "
        f"{t['decode_latency@32k_a100_ms']:.4f} | {t['measured_memory@4k_mb']:.2f} | {mem4k(t['spec']):.2f} |",
    ]  # fmt: skip
    for c in r["conversions"]:
        s = c.get("scratch")
        s_bpb, s_rec = (f"{s['bpb']:.3f}", f"{s['recall']:.1f}") if s else ("–", "–")
        lines.append(
            f"| {c['name']} | `{c['plan']}` | {c['converted']['bpb']:.3f} | {s_bpb} | "
            f"{c['converted']['recall']:.1f} | {s_rec} | {c['memory@128k_gb']:.4f} | "
            f"{c['decode_latency@32k_a100_ms']:.4f} | {c['measured_memory@4k_mb']:.2f} | {mem4k(c['spec']):.2f} |"
        )
    lc = r["layer_choice"]
    lines += ["", f"## 3. Layer choice at equal memory ({lc['converted_layers']} layers to SSM)", "",
              "| choice | plan | proxy bpb | bpb after distillation | recall (%) | memory@128k (GB) |",
              "|---|---|---|---|---|---|"]  # fmt: skip
    for row in lc["rows"]:
        lines.append(f"| {row['choice']} | `{row['plan']}` | {row['proxy']['bpb']:.3f} | {row['bpb']:.3f} | "
                     f"{row['recall']:.1f} | {row['memory@128k_gb']:.4f} |")  # fmt: skip
    lines += ["", "## 4. Wall time and peak memory per stage", "",
              "| model | carve (s) | align (s) | KD (s) | peak RSS (MB) |", "|---|---|---|---|---|",
              f"| teacher training | | | {t['wall_s']:.1f} (training) | {t['peak_rss_mb']:.0f} |"]  # fmt: skip
    for c in r["conversions"]:
        st = c["stages"]
        lines.append(f"| {c['name']} | {c['carve_s']:.2f} | {st['align']['wall_s']:.1f} | {st['kd']['wall_s']:.1f} | "
                     f"{st['kd']['peak_rss_mb']:.0f} |")  # fmt: skip
    lines += ["", f"Total wall time {r['total_wall_s']:.0f} s on {r['machine']} (shared 2-core machine, one torch "
              "thread); the sum of the measured stages, each row timed by the run that made it (rows are cached in `convert_cache_<mode>.json`, so a run cut short and continued adds up). Peak RSS is the resident high-water mark of the process that measured the row.",
              NOTES if r["mode"] == "quick" else FULL_NOTES]  # fmt: skip
    return "\n".join(lines)


if __name__ == "__main__":
    main()
