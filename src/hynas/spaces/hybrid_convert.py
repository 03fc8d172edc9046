"""Conversion-aware search spaces: which layers of a trained Transformer to convert, and how.

A *plan* decides per teacher layer: keep the attention or turn it into a Mamba SSM or
sliding-window attention, and keep the dense MLP or turn it into a mixture of experts
(:mod:`hynas.convert.carve` does the carving). A plan is written ``keep,ssm,swa+moe,moe`` (one entry
per teacher layer: ``keep``, ``ssm`` or ``swa``, with ``+moe`` to MoE-ify the MLP; ``moe`` alone
keeps the attention); the sizes of the new layers (SSM state, window, sinks, experts, top-k) are
:class:`CarveOptions`, and :func:`converted_config` gives the converted model's layer spec.

:class:`ConversionSpace` searches the plans of one teacher shape; its canonical string is the plan,
its ``lm_config`` the converted spec, so the long-context cost models (``memory@128k``,
``decode_latency@32k:a100``, ...) apply. Registered: ``hybrid-convert`` (the benchmark's teacher,
6 layers of width 256) and ``hybrid-convert-tiny`` (4 layers of width 32, for tests and demos).
Scored by the ``convert-proxy`` evaluator (:mod:`hynas.evaluators.convert`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.core.space import Dim, SearchSpace, SpaceDefaults
from hynas.models.lm_spec import LayerSpec, LMConfig, format_config, parse_config

__all__ = [
    "MIXER_ACTIONS",
    "SSM_INITS",
    "TEACHERS",
    "CarveOptions",
    "ConversionSpace",
    "Plan",
    "converted_config",
    "format_plan",
    "parse_plan",
]

MIXER_ACTIONS = ("keep", "ssm", "swa")
#: how a carved SSM layer starts (:class:`CarveOptions`)
SSM_INITS = ("attention", "mamba")
#: one layer's decision: (mixer action, MoE-ify the MLP)
Step = tuple[str, bool]
Plan = tuple[Step, ...]


@dataclass(frozen=True)
class CarveOptions:
    """Sizes of the layers a conversion makes, and how a new SSM layer starts: ``ssm_init``
    ``attention`` seeds it from the attention weights it replaces (mmMamba's mapping,
    :func:`hynas.convert.carve.seed_ssm`), ``mamba`` gives it Mamba's own initialisation (every
    other weight is still the teacher's)."""

    state: int = 16
    window: int = 32
    sinks: int = 0
    experts: int = 4
    top_k: int = 2
    ssm_init: str = "attention"

    def check(self) -> CarveOptions:
        if self.ssm_init not in SSM_INITS:
            raise HynasError(
                f"conversion option ssm_init must be one of {', '.join(SSM_INITS)}, got {self.ssm_init!r}"
            )
        for name in ("state", "window", "experts", "top_k"):
            if int(getattr(self, name)) < 1:
                raise HynasError(f"conversion option {name} must be >= 1, got {getattr(self, name)}")
        if self.sinks < 0 or self.top_k > self.experts:
            raise HynasError(f"conversion options: need sinks >= 0 and top_k <= experts, got {self}")
        return self


def parse_plan(text: str, layers: int) -> Plan:
    """A plan from its string, for a teacher of ``layers`` layers; one clear error otherwise."""
    items = [t.strip() for t in text.split(",")]
    if len(items) != layers:
        raise HynasError(
            f"conversion plan {text!r} has {len(items)} entries; the teacher has {layers} layers"
        )
    plan = []
    for i, item in enumerate(items):
        mix, _, rest = item.partition("+")
        if mix == "moe" and not rest:
            mix, rest = "keep", "moe"
        if mix not in MIXER_ACTIONS or rest not in ("", "moe"):
            raise HynasError(
                f"conversion plan entry {i} {item!r}: expected keep, ssm or swa, optionally with +moe "
                "(e.g. 'keep,ssm,swa+moe,moe')"
            )
        plan.append((mix, rest == "moe"))
    return tuple(plan)


def format_plan(plan: Plan) -> str:
    return ",".join(("moe" if m == "keep" else f"{m}+moe") if moe else m for m, moe in plan)


def converted_config(teacher: LMConfig, plan: Plan, opts: CarveOptions) -> LMConfig:
    """The spec of the converted model; a conversion a layer cannot take is one clear error."""
    opts.check()
    if len(plan) != len(teacher.layers):
        raise HynasError(f"the plan has {len(plan)} layers; the teacher has {len(teacher.layers)}")
    layers = []
    for i, (layer, (mix, moe)) in enumerate(zip(teacher.layers, plan, strict=True)):
        new: LayerSpec = layer
        if mix != "keep":
            if layer.mixer != "attn":
                raise HynasError(
                    f"layer {i} cannot be converted to {mix}: its mixer is {layer.mixer}, not attn"
                )
            if mix == "ssm":
                new = LayerSpec("ssm", state=opts.state, channel=layer.channel, hidden=layer.hidden,
                                experts=layer.experts, top_k=layer.top_k)  # fmt: skip
            else:
                new = replace(layer, mixer="swa", window=opts.window, sinks=opts.sinks)
        if moe:
            if layer.channel != "mlp":
                raise HynasError(
                    f"layer {i} cannot be MoE-ified: its channel mixer is {layer.channel}, not mlp"
                )
            if layer.hidden % opts.experts:
                raise HynasError(
                    f"layer {i} cannot be split into {opts.experts} experts: its MLP width {layer.hidden} "
                    "is not a multiple of the number of experts"
                )
            new = replace(
                new,
                channel="moe",
                experts=opts.experts,
                top_k=opts.top_k,
                hidden=layer.hidden // opts.experts,
            )
        layers.append(new.canonical())
    return teacher.with_layers(layers).check()


#: teacher shapes of the registered conversion spaces (``hynas convert teacher --preset``)
TEACHERS = {
    "bench": "d256.hd64:" + ",".join(["attn-h4-kv4/mlp-f512"] * 6),
    "tiny": "d32.hd16:" + ",".join(["attn-h2-kv2/mlp-f64"] * 4),
}
_MOE = ("dense", "moe")


class ConversionSpace(SearchSpace):
    """Per teacher layer: keep / convert to SSM / convert to sliding window, and dense / MoE MLP."""

    name = "hybrid-convert"
    defaults = SpaceDefaults("convert-proxy", None, ("bpb", "memory@128k"))

    def __init__(self, teacher: str = TEACHERS["bench"], options: CarveOptions | None = None,
                 context: int = 128, name: str = "hybrid-convert") -> None:  # fmt: skip
        self.name = name
        self.teacher = parse_config(teacher)
        self.options = (options or CarveOptions()).check()
        self.context = context
        n = len(self.teacher.layers)
        self.dims = tuple(
            d for i in range(n) for d in (Dim(f"L{i}.mixer", MIXER_ACTIONS), Dim(f"L{i}.mlp", _MOE))
        )
        for action in MIXER_ACTIONS[1:]:  # every layer can take every conversion
            converted_config(self.teacher, tuple((action, True) for _ in range(n)), self.options)

    def plan(self, arch: Architecture) -> Plan:
        g = arch.genes
        return tuple((MIXER_ACTIONS[g[2 * i]], bool(g[2 * i + 1])) for i in range(len(self.teacher.layers)))

    def format(self, arch: Architecture) -> str:
        return format_plan(self.plan(arch))

    def parse(self, text: str) -> Architecture:
        plan = parse_plan(text, len(self.teacher.layers))
        return self.make([x for mix, moe in plan for x in (MIXER_ACTIONS.index(mix), int(moe))])

    def lm_config(self, arch: Architecture) -> LMConfig:
        return converted_config(self.teacher, self.plan(arch), self.options)

    def sequence_length(self, arch: Architecture) -> int:
        return self.context

    def encode_features(self, arch: Architecture) -> Any:
        """Fractions of layers converted to SSM, to sliding window, and MoE-ified."""
        import numpy as np

        plan, n = self.plan(arch), len(self.teacher.layers)
        return np.asarray([sum(m == a for m, _ in plan) / n for a in MIXER_ACTIONS[1:]]
                          + [sum(moe for _, moe in plan) / n], dtype=np.float32)  # fmt: skip

    def build(self, arch: Architecture, **kwargs: Any) -> Any:
        """The converted model, freshly initialised (carving from a teacher: :mod:`hynas.convert`)."""
        from hynas.models.hybrid_lm import HybridLM

        return HybridLM(self.lm_config(self.validate(arch)), **kwargs)

    def example_input(self, arch: Architecture, batch: int = 1, resolution: int | None = None) -> Any:
        import torch

        gen = torch.Generator().manual_seed(0)
        return torch.randint(self.teacher.vocab, (batch, resolution or self.context), generator=gen)

    def describe(self) -> str:
        return f"conversions of the Transformer {format_config(self.teacher, vocab=False)}"


def tiny_conversion_space() -> ConversionSpace:
    """The conversions of the tiny 4-layer teacher (tests, demos)."""
    return ConversionSpace(
        TEACHERS["tiny"], CarveOptions(state=8, window=16, sinks=4), 64, "hybrid-convert-tiny"
    )
