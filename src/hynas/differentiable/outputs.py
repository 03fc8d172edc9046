"""What a differentiable search writes beside its store: the architecture-weight (α) history as
JSON and a plot of the operation mix per epoch (both rewritten after every epoch, atomically)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hynas.differentiable.layout import Layout

__all__ = ["op_mix", "write_history", "write_plot"]


def op_mix(layout: Layout, probs: Sequence[Sequence[float]]) -> dict[str, float]:
    """Each choice name's share of the mixture: its probability summed over the slots that offer
    it, divided by the number of slots (the shares add up to 1)."""
    mix: dict[str, float] = {}
    for names, p in zip(layout.choices, probs, strict=True):
        for name, v in zip(names, p, strict=True):
            mix[name] = mix.get(name, 0.0) + float(v) / len(layout.slots)
    return mix


def _atomic(path: Path, write: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    write(tmp)
    os.replace(tmp, path)


def write_history(folder: Path, method: str, layout: Layout, history: list[dict[str, Any]]) -> Path:
    """``alphas.json``: method, slots, choices and, per epoch, the derived architecture, the
    per-slot choice probabilities ``softmax(α)`` and the operation mix."""
    folder.mkdir(parents=True, exist_ok=True)
    doc = {
        "method": method,
        "slots": list(layout.slots),
        "choices": [list(c) for c in layout.choices],
        "epochs": [{**h, "op_mix": op_mix(layout, h["probs"])} for h in history],
    }
    path = folder / "alphas.json"
    _atomic(path, lambda p: p.write_text(json.dumps(doc, indent=1)))
    return path


def write_plot(folder: Path, method: str, layout: Layout, history: list[dict[str, Any]]) -> Path:
    """``op_mix.png``: the operation mix per epoch as stacked areas."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mixes = [op_mix(layout, h["probs"]) for h in history]
    names = list(dict.fromkeys(n for names in layout.choices for n in names))
    epochs = [h["epoch"] for h in history]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.stackplot(epochs, [[m.get(n, 0.0) for m in mixes] for n in names], labels=names)
    ax.set_xlabel("epoch")
    ax.set_ylabel("share of the operation mix (softmax α)")
    ax.set_ylim(0, 1)
    ax.set_title(f"{method}: operation mix per epoch")
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
    fig.tight_layout()
    path = folder / "op_mix.png"
    _atomic(path, lambda p: fig.savefig(p, format="png", dpi=90))
    plt.close(fig)
    return path
