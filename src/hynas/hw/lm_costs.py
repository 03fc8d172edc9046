"""Long-context cost models of hybrid causal LMs by name, for spaces that provide ``lm_config``:
``memory@128k``, ``kv_memory@32k:fp32``, ``prefill_latency@4k:b8:a100``, ``decode_latency@128k:a100``,
``params``, ``attn_layers``, ...; and Llama-2-7B-shaped presets (:data:`PRESETS`).

The formulas (FLOPs, KV cache and state memory, roofline latency) are in :mod:`hynas.hw.lm_analytic`;
this module re-exports them, so ``from hynas.hw.lm_costs import lm_cost`` keeps working. Importing it
registers the cost models (:mod:`hynas.plugins` lists it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.core.metrics import CostModel, MetricInfo, register_device, register_resolver
from hynas.core.space import SearchSpace
from hynas.hw.devices import DEVICE_CATALOG
from hynas.hw.lm_analytic import (
    DTYPE_BYTES,
    LMCost,
    check_fits,
    decode_latency,
    decode_ops,
    lm_cost,
    lm_params,
    prefill_latency,
    prefill_ops,
)
from hynas.models.lm_spec import LayerSpec, LMConfig, parse_config

__all__ = [
    "DTYPE_BYTES",
    "PRESETS",
    "LMCost",
    "check_fits",
    "decode_latency",
    "decode_ops",
    "get_preset",
    "lm_cost",
    "lm_params",
    "prefill_latency",
    "prefill_ops",
]

# -- presets -------------------------------------------------------------------------------------------

_LLAMA_ATTN = LayerSpec("attn", heads=32, kv_heads=32, channel="mlp", hidden=11008)
_LLAMA_SWA = LayerSpec("swa", heads=32, kv_heads=32, window=4096, channel="mlp", hidden=11008)
_LLAMA_SSM = LayerSpec("ssm", state=16, channel="mlp", hidden=11008)


def _llama(name: str, pick: dict[int, LayerSpec] | None = None, every: LayerSpec | None = None) -> LMConfig:
    layers = []
    for i in range(32):
        layers.append((pick or {}).get(i, every or _LLAMA_ATTN))
    return LMConfig(4096, tuple(layers), head_dim=128, vocab=32000, tie_embeddings=False, name=name)


#: Llama-2-7B-shaped stacks (Touvron et al. 2023: d=4096, 32 layers, 32 heads of 128, SwiGLU 11008,
#: vocabulary 32000, untied head; 6.74 B parameters) and hybrids of the same width.
PRESETS: dict[str, LMConfig] = {
    "llama2-7b": _llama("llama2-7b"),
    "llama2-7b-swa": _llama(  # 1/3 full attention (every third layer), 2/3 4K-window attention
        "llama2-7b-swa", {i: _LLAMA_ATTN for i in range(0, 32, 3)}, every=_LLAMA_SWA
    ),
    "llama2-7b-mamba": _llama(  # 1/4 full attention (every fourth layer), 3/4 Mamba layers
        "llama2-7b-mamba", {i: _LLAMA_ATTN for i in range(0, 32, 4)}, every=_LLAMA_SSM
    ),
    "llama2-7b-gqa8": _llama(
        "llama2-7b-gqa8", every=LayerSpec("attn", heads=32, kv_heads=8, channel="mlp", hidden=11008)
    ),
    "llama2-7b-allmamba": _llama("llama2-7b-allmamba", every=_LLAMA_SSM),
}


def get_preset(name: str) -> LMConfig:
    """A named preset, or an LM spec string (``d4096.hd128.v32000:attn-h32-kv32/mlp-f11008,...``)."""
    if name in PRESETS:
        return PRESETS[name]
    if ":" in name:
        return parse_config(name, tie_embeddings=False)
    raise HynasError(
        f"unknown LM preset {name!r}; valid presets: {', '.join(PRESETS)} (or an LM spec string)"
    )


# -- objectives by name ----------------------------------------------------------------------------------

_CTX = re.compile(r"(\d+)([kK]?)")
#: metric -> (unit, description)
LM_METRICS = {
    "memory": ("GB", "weights + KV cache + recurrent state"),
    "kv_memory": ("GB", "KV cache + recurrent state (no weights)"),
    "weights_memory": ("GB", "weights"),
    "prefill_flops": ("GFLOP", "prefill FLOPs of the whole context"),
    "decode_flops": ("GFLOP", "FLOPs per generated token"),
    "prefill_latency": ("ms", "roofline prefill latency"),
    "decode_latency": ("ms", "roofline latency per generated token"),
}
DEFAULT_CONTEXT = 4096


@dataclass(frozen=True)
class _Source:
    context: int = DEFAULT_CONTEXT
    batch: int = 1
    dtype: str = "fp16"
    device: str | None = None


def parse_source(name: str, source: str) -> _Source:
    """``128k``, ``32768:fp32``, ``4k:b8:a100``, ``roofline:a100`` → context, batch, dtype, device."""
    ctx, batch, dtype, device = DEFAULT_CONTEXT, 1, "fp16", None
    for tok in source.split(":") if source else []:
        if m := _CTX.fullmatch(tok):
            ctx = int(m.group(1)) * (1024 if m.group(2) else 1)
        elif tok in DTYPE_BYTES:
            dtype = tok
        elif re.fullmatch(r"b\d+", tok):
            batch = int(tok[1:])
        elif tok == "roofline":
            continue
        elif tok in DEVICE_CATALOG or tok == "local":
            device = tok
        else:
            raise HynasError(
                f"{name}: cannot read {tok!r} in {source!r}; expected a context (4096, 128k), a dtype "
                f"({', '.join(DTYPE_BYTES)}), a batch (b8), 'roofline' or a device "
                f"({', '.join(sorted(DEVICE_CATALOG))})"
            )
    if ctx < 1 or batch < 1:
        raise HynasError(f"{name}: context and batch must be >= 1")
    return _Source(ctx, batch, dtype, device)


class LMCostModel(CostModel):
    """One LM metric of :data:`LM_METRICS` at a context/batch/dtype/device, for a hybrid-lm space."""

    def __init__(self, space: SearchSpace, metric: str, source: str, full_name: str) -> None:
        self.space, self.metric = space, metric
        self.src = parse_source(full_name, source)
        is_latency = metric.endswith("latency")
        if is_latency and self.src.device is None:
            raise HynasError(
                f"{full_name}: name a device, e.g. {metric}@128k:a100; valid devices: "
                f"{', '.join(sorted([*DEVICE_CATALOG, 'local']))}"
            )
        if not is_latency and self.src.device is not None:
            raise HynasError(f"{full_name}: {metric} does not depend on a device; drop {self.src.device!r}")
        unit, desc = LM_METRICS[metric]
        self.info = MetricInfo(full_name, "min", unit, f"{desc} (context {self.src.context})")

    def __call__(self, arch: Architecture) -> float:
        cfg: LMConfig = self.space.lm_config(arch)
        s = self.src
        if self.metric == "prefill_latency":
            return 1e3 * prefill_latency(cfg, s.context, s.device or "", s.batch, s.dtype)
        if self.metric == "decode_latency":
            return 1e3 * decode_latency(cfg, s.context, s.device or "", s.batch, s.dtype)
        c = _cached_cost(cfg, s.context, s.batch, s.dtype)
        return {
            "memory": c.memory_bytes / 1e9,
            "kv_memory": c.cache_bytes / 1e9,
            "weights_memory": c.weights_bytes / 1e9,
            "prefill_flops": c.prefill_flops / 1e9,
            "decode_flops": c.decode_flops / 1e9,
        }[self.metric]


@cache
def _cached_cost(cfg: LMConfig, context: int, batch: int, dtype: str) -> LMCost:
    return lm_cost(cfg, context, batch, dtype)


class _Count(CostModel):
    def __init__(self, space: SearchSpace, name: str) -> None:
        self.space, self.name = space, name
        units = {"params": ("M", "parameters (millions)")}
        unit, desc = units.get(name, ("", "number of full-attention layers"))
        self.info = MetricInfo(name, "min", unit, desc)

    def __call__(self, arch: Architecture) -> float:
        cfg: LMConfig = self.space.lm_config(arch)
        if self.name == "params":
            return lm_params(cfg) / 1e6
        return float(cfg.count(self.name.removesuffix("_layers")))


def resolve(name: str, space: SearchSpace) -> CostModel | None:
    """Resolver for language-model spaces (those that provide ``lm_config``): ``memory@128k``,
    ``decode_latency@128k:a100``, ``params``, ..."""
    if not space.provides("lm_config"):
        return None
    metric, _, source = name.partition("@")
    if metric in LM_METRICS:
        return LMCostModel(space, metric, source, name)
    if not source and metric in ("params", "attn_layers", "swa_layers", "ssm_layers", "conv_layers"):
        return _Count(space, metric)
    return None


register_resolver(
    resolve,
    ("memory@<ctx>[:<dtype>][:b<batch>]", "hybrid-lm: weights + KV cache + state at a context, GB"),
    ("kv_memory@<ctx>[:<dtype>][:b<batch>]", "hybrid-lm: KV cache + SSM/conv state at a context, GB"),
    ("weights_memory", "hybrid-lm: weights, GB"),
    ("prefill_flops@<ctx>", "hybrid-lm: prefill GFLOP"),
    ("decode_flops@<ctx>", "hybrid-lm: GFLOP per generated token"),
    ("prefill_latency@<ctx>:<device>", "hybrid-lm: roofline prefill latency, ms"),
    ("decode_latency@<ctx>:<device>", "hybrid-lm: roofline latency per token, ms"),
    ("params, attn_layers, swa_layers, ssm_layers, conv_layers", "hybrid-lm: counts"),
)
for _name, _dev in DEVICE_CATALOG.items():
    register_device(
        _name, "prefill_latency/decode_latency@<ctx>:" + _name + " (hybrid-lm roofline)", _dev.description
    )
