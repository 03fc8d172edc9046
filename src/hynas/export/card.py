"""``MODEL_CARD.md``: what an exported model is, how it scored, how fast it runs, and how it was made.

Latency is the project's roofline model (Williams et al., "Roofline: an insightful visual
performance model for multicore architectures", CACM 2009) on every device of the catalog
(:mod:`hynas.hw.devices`): ``latency@roofline:<device>`` for image models (the deployed network:
full resolution, 1000-class head, batch 1, fp32, as the search's cost objectives count it), and
``prefill_latency@<device>`` / ``decode_latency@<device>`` for language models (context 4096,
fp16). Latencies measured by the search itself (e.g. the HW-NAS-Bench ``latency@raspi4`` table)
are among the store's metrics.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from typing import Any

from hynas.core.errors import HynasError

__all__ = ["device_latencies", "model_card"]


def device_latencies(space_name: str, arch_text: str) -> tuple[list[tuple[str, str, str, float]], str]:
    """(device, description, metric, ms) rows, or none and why not."""
    from hynas.core.metrics import resolve_cost_model
    from hynas.hw.devices import DEVICE_CATALOG
    from hynas.spaces import get_space

    space = get_space(space_name)
    try:  # the cost models read the registered space (an architecture of a reduced one may lie outside)
        arch = space.parse(arch_text)
    except HynasError as exc:
        return [], f"not computed: the architecture is outside the registered {space_name!r} space ({exc})"
    templates: tuple[str, ...]
    if space.provides("lm_config"):
        templates = ("prefill_latency@{}", "decode_latency@{}")
    elif space.provides("op_graph"):
        templates = ("latency@roofline:{}",)
    else:
        return [], f"not computed: space {space_name!r} gives the cost models no operator graph"
    rows = []
    for name, dev in sorted(DEVICE_CATALOG.items()):
        for t in templates:
            model = resolve_cost_model(t.format(name), space)
            if model is not None:
                rows.append((name, dev.description, t.format(name), float(model(arch))))
    return rows, ""


def _fmt(v: Any) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)


def _table(head: tuple[str, ...], rows: Sequence[tuple[Any, ...]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_fmt(c) for c in row) + " |" for row in rows]
    return lines


def _data_section(info: Mapping[str, Any]) -> list[str]:
    cfg = info.get("store_config") or {}
    lines = []
    if cfg:
        lines.append(
            f"- Scored during the search by the `{cfg.get('evaluator')}` evaluator"
            + (f" on `{cfg.get('dataset')}`" if cfg.get("dataset") else "")
            + (
                f" with options `{dict(cfg.get('evaluator_options') or {})}`"
                if cfg.get("evaluator_options")
                else ""
            )
            + "."
        )
    w = info["weights"]
    if w["source"] == "untrained":
        lines.append(
            "- **The weights are untrained** (the module as `space.build` initialises it, seeded): "
            "they were never fitted to any data. Train or fine-tune before use."
        )
    elif w["source"] == "scratch":
        lines.append(
            f"- Trained from scratch ({w['summary']}): SGD on the Fashion-MNIST training split (Xiao, "
            "Rasul & Vollgraf 2017; the validation split held out), the `mobile-fmnist` recipe "
            "(batch 32, lr 0.05, warm-up + cosine), BatchNorm recalibrated, at the input size above."
        )
    else:
        lines.append(
            f"- Weights inherited from the supernet `{w['supernet']}` (step {w['supernet_step']}), "
            "trained on the Fashion-MNIST training split (50,000 images; the validation split "
            "held out)."
        )
        lines.append(f"- BatchNorm statistics: {w['bn']}.")
    if "finetune" in w:
        lines.append(
            f"- Fine-tuned for {int(w['finetune']['steps'])} SGD steps on the Fashion-MNIST training "
            "split (Xiao, Rasul & Vollgraf 2017), batch 32, at the input size above."
        )
    return lines


def model_card(info: Mapping[str, Any]) -> str:
    """The markdown card of an export; ``info`` is the export's config plus what the export learnt."""
    trial = info.get("trial")
    w = info["weights"]
    lines = [
        f"# Model card: `{info['space']}` architecture",
        "",
        f"Exported by hynas {info['hynas_version']} on "
        f"{_dt.datetime.now(_dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}.",
        "",
        "## Architecture",
        "",
        f"- Space: `{info['space']}`"
        + (f" (supernet choices {info['space_options']})" if info.get("space_options") else ""),
        f"- Architecture: `{info['arch']}`",
        f"- Builder options: `{info['options']}`; parameters: {info['params']:,}",
        f"- Input: {info['input']['dtype']} tensor of shape {tuple(info['input']['shape'])}; "
        f"output shape {tuple(info['output_shape'])}",
        "",
        "## How it was made",
        "",
        f"- Chosen: {info['how']}" + (f", from store `{info['store']}`" if info.get("store") else ""),
        f"- Weights: **{w['summary']}**",
    ]
    checks = info["files"]
    for fmt, res in checks.items():
        diff = res.get("max_abs_diff")
        check = "not checked" if diff is None else f"largest |difference| to PyTorch {diff:.3g}"
        runtime = f" (ONNX Runtime {res['onnxruntime']})" if fmt == "onnx" and "onnxruntime" in res else ""
        lines.append(f"- `{res['file']}` ({fmt}): {check}{runtime}")
    lines += ["", "## Metrics", ""]
    if trial is not None:
        cfg = info.get("store_config") or {}
        rows = [(k, v, "search") for k, v in sorted(trial["metrics"].items())]
        rows += [(k, v, "report only (never seen by the search)") for k, v in sorted(trial["hidden"].items())]
        lines += _table(("metric", "value", "kind"), rows)
        lines += [
            "",
            f"Objectives of the run: {', '.join(info.get('objectives', []))}; constraints: "
            f"{', '.join(cfg.get('constraints', [])) or 'none'}; strategy `{cfg.get('strategy')}`, "
            f"seed {cfg.get('seed')}; fidelity {trial['fidelity']}; evaluation cost {trial['cost_s']:.3g} s.",
        ]
        if w["source"] != "untrained" or "finetune" in w:
            lines.append(
                "These metrics are the store's: they were measured on the weights the search's "
                "evaluator had, which may differ from the exported weights."
            )
    else:
        lines.append("None from a search: this architecture was not evaluated by hynas.")
    for key, title in (("finetune", "fine-tuning"), ("train", "training from scratch")):
        if key in w:
            ft = w[key]
            images = int(ft.get("eval_images", 1000))  # configs from before --eval-images: 1,000
            lines += ["", *_table(
                (title, f"val accuracy % ({images:,} images)", "val loss"),
                [("before", ft["val_accuracy_before"], ft["val_loss_before"]),
                 ("after", ft["val_accuracy_after"], ft["val_loss_after"])],
            )]  # fmt: skip
    lines += ["", "## Latency on each device", ""]
    latencies, why = device_latencies(info["space"], info["arch"])
    if latencies:
        lines += [
            "Roofline model over the analytic operators (see `docs/hardware.md`); estimates, not measurements.",
            "",
        ]
        lines += _table(("device", "description", "metric", "ms"), list(latencies))
    else:
        lines.append(why)
    lines += ["", "## Data", "", *_data_section(info), "", "## Loading", "", "```python",
              "from hynas.export import load_exported", "",
              "model, arch, config = load_exported('THIS_FOLDER')   # from config.json + model.safetensors",
              "```", ""]  # fmt: skip
    return "\n".join(lines)
