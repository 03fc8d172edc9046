from __future__ import annotations

import numpy as np
import pytest
import torch

from hynas.core.errors import HynasError
from hynas.core.metrics import resolve_cost_model
from hynas.hw.devices import get_device
from hynas.hw.lm_costs import (
    PRESETS,
    decode_latency,
    get_preset,
    lm_cost,
    lm_params,
    prefill_latency,
)
from hynas.spaces import get_space
from hynas.spaces.hybrid_lm import parse_config
from hynas.testing.cost_models import built_lm_counts

SPACE = get_space("hybrid-lm")


@pytest.mark.parametrize("context", [256, 1024, 4096, 16384])
def test_built_models_match_the_analytical_model_within_5_percent(context):
    rng = np.random.default_rng(context)
    for _ in range(4):
        cfg = SPACE.config(SPACE.sample(rng))
        params, prefill, cache_bytes, decode = built_lm_counts(cfg, context)
        c = lm_cost(cfg, context, batch=1, dtype="fp32")
        assert params == c.params == lm_params(cfg)
        assert abs(prefill / c.prefill_matmul_flops - 1) < 0.05
        assert abs(decode / c.decode_matmul_flops - 1) < 0.05
        if c.cache_bytes:
            assert abs(cache_bytes / c.cache_bytes - 1) < 0.05
        else:
            assert cache_bytes == 0
        assert c.weights_bytes == 4 * params


def test_half_precision_memory_and_sliding_window_cache_size():
    cfg = parse_config("d64.hd16:swa-h4-kv2-w512-s4/mlp-f128,attn-h4-kv1/none,ssm-n16/none")
    _, _, cache_bytes, _ = built_lm_counts(cfg, 2048, torch.float16)
    c = lm_cost(cfg, 2048, dtype="fp16")
    assert cache_bytes == c.cache_bytes
    # window cache: 2·kv·hd·(512 + 4); full: 2·1·16·2048; ssm: 128·(16 + 3)
    assert c.kv_bytes == 2 * (2 * 2 * 16 * 516 + 2 * 16 * 2048)
    assert c.state_bytes == 2 * 128 * 19


def test_llama2_7b_preset_has_the_published_parameter_count():
    assert lm_params(PRESETS["llama2-7b"]) == 6_738_415_616
    c = lm_cost(PRESETS["llama2-7b"], 4096, dtype="fp16")
    # KV cache of Llama-2-7B: 2 · 32 layers · 4096 · 2 bytes = 0.5 MiB per token
    assert c.kv_bytes == 4096 * 2 * 32 * 4096 * 2
    # prefill ≈ 2·params·T plus attention, decode ≈ 2·params per token
    assert 2 * 6.7e9 * 4096 < c.prefill_flops < 2 * 6.7e9 * 4096 * 1.2
    matmul_params = 6_738_415_616 - 32000 * 4096 - 4096 * 65  # no embedding lookup, no norms
    assert c.decode_flops == 2 * matmul_params + 32 * 4 * 4096 * 4097


def test_hybrid_presets_cut_kv_memory_at_128k():
    full = lm_cost(PRESETS["llama2-7b"], 131072)
    swa = lm_cost(PRESETS["llama2-7b-swa"], 131072)
    mamba = lm_cost(PRESETS["llama2-7b-mamba"], 131072)
    assert swa.cache_bytes < 0.4 * full.cache_bytes
    assert mamba.cache_bytes < 0.26 * full.cache_bytes
    assert decode_latency(PRESETS["llama2-7b-swa"], 32768, "a100") < decode_latency(
        PRESETS["llama2-7b"], 32768, "a100"
    )
    assert prefill_latency(PRESETS["llama2-7b"], 4096, "h100") < prefill_latency(
        PRESETS["llama2-7b"], 4096, "a100"
    )


def test_out_of_memory_context_and_bad_inputs_are_clear_errors():
    with pytest.raises(HynasError, match=r"does not fit on a100.*GB"):
        decode_latency(PRESETS["llama2-7b"], 131072, "a100", batch=8)
    with pytest.raises(HynasError, match="window 4096 is longer than the context 1024"):
        lm_cost(PRESETS["llama2-7b-swa"], 1024)
    with pytest.raises(HynasError, match="unknown dtype"):
        lm_cost(PRESETS["llama2-7b"], 1024, dtype="fp8")
    with pytest.raises(HynasError, match="context must be"):
        lm_cost(PRESETS["llama2-7b"], 0)
    with pytest.raises(HynasError, match="unknown LM preset"):
        get_preset("gpt5")
    assert get_preset("d64.hd16.v256:attn-h2-kv1/none").d_model == 64


def test_resolvers_make_lm_metrics_objectives_by_name():
    arch = SPACE.parse("d64.hd16:attn-h4-kv2/mlp-f256,ssm-n16/none")
    cfg = SPACE.config(arch)
    mem = resolve_cost_model("memory@128k", SPACE)
    kv = resolve_cost_model("kv_memory@128k:fp32", SPACE)
    lat = resolve_cost_model("decode_latency@32k:roofline:a100", SPACE)
    pre = resolve_cost_model("prefill_latency@4k:b2:h100", SPACE)
    assert mem is not None and kv is not None and lat is not None and pre is not None
    c16 = lm_cost(cfg, 131072, dtype="fp16")
    assert mem(arch) == pytest.approx(c16.memory_bytes / 1e9)
    assert kv(arch) == pytest.approx(lm_cost(cfg, 131072, dtype="fp32").cache_bytes / 1e9)
    assert lat(arch) == pytest.approx(1e3 * decode_latency(cfg, 32768, get_device("a100")))
    assert pre(arch) == pytest.approx(1e3 * prefill_latency(cfg, 4096, "h100", batch=2))
    attn = resolve_cost_model("attn_layers", SPACE)
    assert attn is not None and attn(arch) == 1
    with pytest.raises(HynasError, match="name a device"):
        resolve_cost_model("decode_latency@128k", SPACE)
    with pytest.raises(HynasError, match="cannot read 'tpu9'"):
        resolve_cost_model("memory@128k:tpu9", SPACE)
    assert resolve_cost_model("memory@128k", get_space("nb201")) is None
