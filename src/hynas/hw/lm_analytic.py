"""Analytical long-context cost model of hybrid causal LMs (:class:`~hynas.models.lm_spec.LMConfig`).

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

The cost models by name (``memory@128k``, ``decode_latency@128k:a100``, ...) and the Llama-2-shaped
presets are in :mod:`hynas.hw.lm_costs`, which re-exports these functions.
"""

from __future__ import annotations

from dataclasses import dataclass

from hynas.core.errors import HynasError
from hynas.hw.devices import Device, get_device
from hynas.hw.ops import OpCost
from hynas.hw.roofline import roofline_latency
from hynas.models.lm_spec import LayerSpec, LMConfig, expert_capacity

__all__ = [
    "DTYPE_BYTES",
    "SCAN_FLOPS_PER_STATE",
    "LMCost",
    "check_fits",
    "decode_latency",
    "decode_ops",
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
        slots = e * expert_capacity(n, e, k, cfg.capacity_factor)
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
