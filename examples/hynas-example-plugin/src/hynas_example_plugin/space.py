"""``toy-mlp``: multi-layer perceptrons of 1-3 hidden layers, 8-64 units and one of three activations."""

from __future__ import annotations

import re
from typing import Any

from hynas import Architecture, Dim, HynasError, SearchSpace
from hynas.core.space import SpaceDefaults

LAYERS = (1, 2, 3)
WIDTHS = (8, 16, 32, 64)
ACTIVATIONS = ("relu", "tanh", "gelu")
_TEXT = re.compile(r"(\d+)x(\d+)-(\w+)")


class ToyMLPSpace(SearchSpace):
    """Small MLPs (example plug-in): hidden layers x width x activation, 36 networks."""

    name = "toy-mlp"
    dims = (Dim("layers", LAYERS), Dim("width", WIDTHS), Dim("activation", ACTIVATIONS))
    # what `hynas search --space toy-mlp` uses when no evaluator or objective is named
    defaults = SpaceDefaults("toy-mlp-moons", None, ("accuracy", "params"))

    def format(self, arch: Architecture) -> str:
        layers, width, act = (d.choices[g] for d, g in zip(self.dims, arch.genes, strict=True))
        return f"{layers}x{width}-{act}"

    def parse(self, text: str) -> Architecture:
        m = _TEXT.fullmatch(text.strip())
        try:
            if m is None:
                raise ValueError
            genes = (LAYERS.index(int(m[1])), WIDTHS.index(int(m[2])), ACTIVATIONS.index(m[3]))
        except ValueError:
            raise HynasError(
                f"bad toy-mlp architecture {text!r}: write LAYERSxWIDTH-ACTIVATION, e.g. 2x16-relu "
                f"(layers {LAYERS}, widths {WIDTHS}, activations {', '.join(ACTIVATIONS)})"
            ) from None
        return self.make(genes)

    def size(self) -> int:
        return len(LAYERS) * len(WIDTHS) * len(ACTIVATIONS)

    def build(self, arch: Architecture, in_features: int = 2, classes: int = 2, **kwargs: Any) -> Any:
        """The PyTorch module of ``arch``."""
        import torch.nn as nn

        if kwargs:
            raise TypeError(f"unknown toy-mlp model options: {', '.join(sorted(kwargs))}")
        layers, width, act = (d.choices[g] for d, g in zip(self.dims, arch.genes, strict=True))
        activation = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU}[act]
        mods: list[nn.Module] = []
        n_in = in_features
        for _ in range(layers):
            mods += [nn.Linear(n_in, width), activation()]
            n_in = width
        mods.append(nn.Linear(n_in, classes))
        return nn.Sequential(*mods)
