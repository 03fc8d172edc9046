"""Analytical long-context cost model of hybrid causal LMs (:class:`~hynas.spaces.hybrid_lm.LMConfig`).

For a context length ``T``, a batch ``B`` and a dtype it gives parameters, prefill FLOPs, decode
FLOPs per token, KV-cache memory (full and sliding-window attention, attention sinks), recurrent
state memory (Mamba SSM state and short-convolution states), weights memory, and prefill / decode
latency on the shared device catalog through the roofline model (Williams et al., CACM 2009).

FLOP conventions (a multiply-accumulate is 2 FLOPs):

* ``*_matmul_flops``: matrix products, convolutions and attention score/value products, the op
  classes ``torch.utils.flop_counter.FlopCounterMode`` counts. Causal attention is counted dense
  (``4·B·h·hd·T·L``, no halving for the mask), as FlopCounterMode and MFU accounting do.
  Sliding-window attention scores exactly ``window + min(sinks, T)`` keys per query, as the
  reference model computes it.
* ``*_scan_flops``: the element-wise selective-scan work of Mamba layers (``9·D·N`` per token: the
  discretisation, state update and read-out; Gu & Dao 2023), which FlopCounterMode does not see.
* ``prefill_flops`` / ``decode_flops`` are the sums; the roofline latency uses them.

MoE counts the static expert buffers the model runs (``experts × capacity`` slots, Switch
Transformer dispatch) when there are more assignments (tokens × top_k) than experts, and only the
routed experts otherwise (decoding at small batch), reading only the experts those touch.

Memory: weights = params × bytes(dtype); the cache after ``T`` tokens is ``2·B·kv·hd·T`` elements per
full-attention layer, ``2·B·kv·hd·(min(W, T) + min(S, T))`` per sliding-window layer,
``B·D·(N + k − 1)`` per SSM layer and ``B·d·(k − 1)`` per convolution layer.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache

from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.core.metrics import CostModel, MetricInfo, register_device, register_resolver
from hynas.core.space import SearchSpace
from hynas.hw.devices import DEVICE_CATALOG, Device, get_device
from hynas.hw.ops import OpCost
from hynas.hw.roofline import roofline_latency
from hynas.spaces.hybrid_lm import LayerSpec, LMConfig, parse_config

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

DTYPE_BYTES = {"fp32": 4, "fp16": 2, "bf16": 2, "int8": 1}
SCAN_FLOPS_PER_STATE = 9


def _bytes(dtype: str) -> int:
    try:
        return DTYPE_BYTES[dtype]
    except KeyError:
        raise HynasError(f"unknown dtype {dtype!r}; valid dtypes: {', '.join(DTYPE_BYTES)}") from None


def _capacity(tokens: int, experts: int, top_k: int, factor: float) -> int:
    return max(1, min(tokens, math.ceil(factor * tokens * top_k / experts)))


@dataclass(frozen=True)
class _Layer:
    params: int
    matmul: float  # matmul-class FLOPs
    scan: float  # element-wise scan FLOPs
    cache: int  # cache elements (KV or state)


def _mixer(cfg: LMConfig, ly: LayerSpec, q_len: int, keys_full: int, b: int, seen: int) -> _Layer:
    """Token mixer cost for ``b`` sequences of ``q_len`` new queries, after which ``seen`` tokens
    have been processed (``keys_full`` keys per query for full attention)."""
    d, hd, k = cfg.d_model, cfg.head_dim, cfg.conv_kernel
    n = b * q_len
    if ly.mixer in ("attn", "swa"):
        h, kv = ly.heads, ly.kv_heads
        params = d * h * hd + 2 * d * kv * hd + h * hd * d
        if ly.mixer == "attn":
            keys, cache_tok = keys_full, seen
        else:
            keys = ly.window + min(ly.sinks, seen)
            cache_tok = min(ly.window, seen) + min(ly.sinks, seen)
        flops = 2 * n * params + 4 * b * h * hd * q_len * keys
        return _Layer(params, flops, 0.0, 2 * b * kv * hd * cache_tok)
    if ly.mixer == "ssm":
        inner, r, s = cfg.ssm_inner, cfg.dt_rank, ly.state
        mats = d * 2 * inner + inner * (r + 2 * s) + r * inner + inner * d
        params = mats + inner * k + inner + inner + inner * s + inner  # conv w+b, dt bias, A_log, D
        flops = 2 * n * mats + 2 * n * inner * k
        return _Layer(params, flops, SCAN_FLOPS_PER_STATE * n * inner * s, b * inner * (s + k - 1))
    if ly.mixer == "conv":
        mats = 3 * d * d
        return _Layer(mats + d * k + d, 2 * n * mats + 2 * n * d * k, 0.0, b * d * (k - 1))
    return _Layer(0, 0.0, 0.0, 0)


def _channel(cfg: LMConfig, ly: LayerSpec, n: int) -> tuple[int, float, int]:
    """(params, matmul FLOPs, experts whose weights are read) of the channel mixer for ``n`` tokens."""
    d, f = cfg.d_model, ly.hidden
    if ly.channel == "mlp":
        return 3 * d * f, 6.0 * n * d * f, 1
    if ly.channel == "moe":
        e, k = ly.experts, ly.top_k
        params = d * e + 3 * e * d * f
        if n * k <= e:  # routed compute only (the model's small-batch / decoding path)
            return params, 2.0 * n * d * e + 6.0 * n * k * d * f, n * k
        slots = e * _capacity(n, e, k, cfg.capacity_factor)
        return params, 2.0 * n * d * e + 6.0 * slots * d * f, e
    return 0, 0.0, 0


def lm_params(cfg: LMConfig) -> int:
    """Parameter count of the model :class:`~hynas.models.hybrid_lm.HybridLM` builds."""
    total = cfg.vocab * cfg.d_model * (1 if cfg.tie_embeddings else 2) + cfg.d_model
    for ly in cfg.layers:
        total += _mixer(cfg, ly, 1, 1, 1, 1).params + _channel(cfg, ly, 1)[0]
        total += cfg.d_model * ((ly.mixer != "id") + (ly.channel != "none"))
    return int(total)


@dataclass(frozen=True)
class LMCost:
    """Costs of one model at one context length, batch and dtype (bytes and FLOPs)."""

    context: int
    batch: int
    dtype: str
    params: int
    weights_bytes: float
    kv_bytes: float  # attention KV caches (full, window, sinks)
    state_bytes: float  # SSM and convolution states
    prefill_matmul_flops: float
    prefill_scan_flops: float
    decode_matmul_flops: float  # per generated token (all sequences of the batch together / batch)
    decode_scan_flops: float

    @property
    def cache_bytes(self) -> float:
        return self.kv_bytes + self.state_bytes

    @property
    def memory_bytes(self) -> float:
        return self.weights_bytes + self.kv_bytes + self.state_bytes

    @property
    def prefill_flops(self) -> float:
        return self.prefill_matmul_flops + self.prefill_scan_flops

    @property
    def decode_flops(self) -> float:
        return self.decode_matmul_flops + self.decode_scan_flops


def _check(cfg: LMConfig, context: int, batch: int) -> None:
    cfg.check()
    if isinstance(context, bool) or not isinstance(context, int) or context < 1:
        raise HynasError(f"context must be a whole number of tokens >= 1, got {context!r}")
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise HynasError(f"batch must be a whole number >= 1, got {batch!r}")
    for i, ly in enumerate(cfg.layers):
        if ly.mixer == "swa" and ly.window > context:
            raise HynasError(
                f"layer {i}: window {ly.window} is longer than the context {context}; "
                "use a window <= context (or full attention)"
            )


def lm_cost(cfg: LMConfig, context: int, batch: int = 1, dtype: str = "fp16") -> LMCost:
    """Analytical costs of prefilling ``context`` tokens and of decoding the next token."""
    _check(cfg, context, batch)
    nb = _bytes(dtype)
    t, b = context, batch
    pm = ps = dm = ds = 0.0
    kv = st = 0
    for ly in cfg.layers:
        pre = _mixer(cfg, ly, t, t, b, t)
        dec = _mixer(cfg, ly, 1, t + 1, b, t + 1)
        pm += pre.matmul + _channel(cfg, ly, b * t)[1]
        ps += pre.scan
        dm += dec.matmul + _channel(cfg, ly, b)[1]
        ds += dec.scan
        if ly.mixer in ("attn", "swa"):
            kv += pre.cache
        else:
            st += pre.cache
    head = 2.0 * cfg.d_model * cfg.vocab
    pm += head * b * t
    dm += head * b
    return LMCost(
        context=t,
        batch=b,
        dtype=dtype,
        params=lm_params(cfg),
        weights_bytes=float(lm_params(cfg) * nb),
        kv_bytes=float(kv * nb),
        state_bytes=float(st * nb),
        prefill_matmul_flops=pm,
        prefill_scan_flops=ps,
        decode_matmul_flops=dm / b,
        decode_scan_flops=ds / b,
    )


def _ops(cfg: LMConfig, context: int, batch: int, dtype: str, decode: bool) -> list[OpCost]:
    _check(cfg, context, batch)
    nb = _bytes(dtype)
    d, t, b = cfg.d_model, context, batch
    q = 1 if decode else t
    seen = t + 1 if decode else t
    n = b * q
    ops: list[OpCost] = []
    act = 2.0 * n * d * nb  # read the input, write the output of a block
    for i, ly in enumerate(cfg.layers):
        if ly.mixer != "id":
            m = _mixer(cfg, ly, q, seen, b, seen)
            # decode reads the whole cache (and writes states back); prefill writes it once
            rw = (1 if ly.mixer in ("attn", "swa") else 2) if decode else 1
            cache_io = m.cache * nb * rw
            shape = f"d{d}_q{q}_L{seen}" + (f"_w{ly.window}" if ly.window else "")
            ops.append(
                OpCost(
                    f"layer{i}.{ly.mixer}",
                    ly.mixer,
                    shape,
                    m.matmul + m.scan,
                    m.params * nb + act + cache_io,
                    m.params,
                )
            )
        if ly.channel != "none":
            params, flops, touched = _channel(cfg, ly, n)
            w_bytes = params * nb
            if ly.channel == "moe":
                w_bytes = (d * ly.experts + touched * 3 * d * ly.hidden) * nb
            ops.append(
                OpCost(
                    f"layer{i}.{ly.channel}",
                    ly.channel,
                    f"d{d}_f{ly.hidden}_n{n}",
                    flops,
                    w_bytes + act,
                    params,
                )
            )
    ops.append(
        OpCost(
            "head",
            "lm_head",
            f"d{d}_v{cfg.vocab}_n{n}",
            2.0 * n * d * cfg.vocab,
            (d * cfg.vocab + n * (d + cfg.vocab)) * nb,
            d * cfg.vocab,
        )
    )
    return ops


def prefill_ops(cfg: LMConfig, context: int, batch: int = 1, dtype: str = "fp16") -> list[OpCost]:
    """Operator rows of prefilling ``context`` tokens (shared :class:`OpCost` format)."""
    return _ops(cfg, context, batch, dtype, decode=False)


def decode_ops(cfg: LMConfig, context: int, batch: int = 1, dtype: str = "fp16") -> list[OpCost]:
    """Operator rows of decoding one token per sequence after ``context`` tokens."""
    return _ops(cfg, context, batch, dtype, decode=True)


def check_fits(cfg: LMConfig, context: int, device: Device, batch: int = 1, dtype: str = "fp16") -> LMCost:
    """The costs, or a :class:`HynasError` if weights + caches exceed the device's memory."""
    c = lm_cost(cfg, context, batch, dtype)
    if c.memory_bytes > device.mem_bytes:
        raise HynasError(
            f"context {context} does not fit on {device.name}: it needs {c.memory_bytes / 1e9:.2f} GB "
            f"(weights {c.weights_bytes / 1e9:.2f} GB + KV cache {c.kv_bytes / 1e9:.2f} GB + state "
            f"{c.state_bytes / 1e9:.3f} GB at batch {batch}, {dtype}) but the device has "
            f"{device.mem_bytes / 1e9:.0f} GB; use a shorter context, a smaller batch, or more "
            "sliding-window / state-space layers"
        )
    return c


def prefill_latency(
    cfg: LMConfig, context: int, device: Device | str, batch: int = 1, dtype: str = "fp16"
) -> float:
    """Roofline seconds to prefill ``context`` tokens on ``device``."""
    dev = get_device(device) if isinstance(device, str) else device
    check_fits(cfg, context, dev, batch, dtype)
    return roofline_latency(prefill_ops(cfg, context, batch, dtype), dev, dtype)


def decode_latency(
    cfg: LMConfig, context: int, device: Device | str, batch: int = 1, dtype: str = "fp16"
) -> float:
    """Roofline seconds per decoding step (one token per sequence) at ``context`` on ``device``."""
    dev = get_device(device) if isinstance(device, str) else device
    check_fits(cfg, context + 1, dev, batch, dtype)
    return roofline_latency(decode_ops(cfg, context, batch, dtype), dev, dtype)


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
