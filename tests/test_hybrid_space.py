from __future__ import annotations

import numpy as np
import pytest

from hynas.core.errors import HynasError
from hynas.spaces import get_space
from hynas.spaces.hybrid_lm import HybridLMSpace, LMConfig, format_config, parse_config

SPACE = get_space("hybrid-lm")


def test_round_trip_and_canonical_strings():
    rng = np.random.default_rng(0)
    for _ in range(200):
        arch = SPACE.sample(rng)
        text = SPACE.format(arch)
        assert SPACE.parse(text) == arch
        cfg = SPACE.config(arch)
        assert format_config(cfg, vocab=False) == text
        assert len(cfg.layers) == SPACE.depths[arch.genes[0]]


def test_irrelevant_genes_are_canonicalised():
    # depth 2: layers 2.. are ignored; layer 0 is ssm (its heads/window genes do not matter)
    nf = 10
    genes = [0] * len(SPACE.dims)
    genes[0] = SPACE.depths.index(2)
    genes[2 + 0] = SPACE.mixers.index("ssm")
    a = SPACE.make(genes)
    noisy = list(genes)
    noisy[2 + 1] = 2  # heads of an ssm layer
    noisy[2 + 3] = 1  # window of an ssm layer
    noisy[2 + nf * 4 + 0] = 3  # mixer of layer 4 (beyond depth)
    noisy[2 + 8] = 1  # experts of a non-MoE layer
    b = SPACE.make(noisy)
    assert a == b and str(a) == str(b)
    # kv_heads > heads is read as kv_heads = heads (MHA)
    g = list(genes)
    g[2] = SPACE.mixers.index("attn")
    g[3] = SPACE.heads.index(2)
    g[4] = SPACE.kv_heads.index(8)
    arch = SPACE.make(g)
    assert SPACE.config(arch).layers[0].kv_heads == 2
    assert "attn-h2-kv2" in str(arch)


def test_readable_spec_parses_to_expected_layers():
    text = "d64.hd16:attn-h4-kv2/mlp-f256,swa-h4-kv1-w32-s4/moe-x4-k2-f128,ssm-n16/none,conv/mlp-f64"
    arch = SPACE.parse(text)
    assert str(arch) == text
    cfg = SPACE.config(arch)
    assert [ly.mixer for ly in cfg.layers] == ["attn", "swa", "ssm", "conv"]
    assert cfg.layers[1].window == 32 and cfg.layers[1].sinks == 4
    assert cfg.layers[1].experts == 4 and cfg.layers[1].top_k == 2


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("attn-h4-kv2/mlp-f256", "header"),
        ("d64.hd16:attn-h4/mlp-f256", "malformed mixer"),
        ("d64.hd16:attn-h4-kv2", "MIXER/CHANNEL"),
        ("d64.hd16:attn-h4-kv2/ffn-f256", "malformed channel"),
        ("d64.hd16:swa-h4-kv1-w512/mlp-f64,id/none", "window=512 is longer than the context"),
        ("d64.hd16:attn-h4-kv3/mlp-f64", "kv_heads=3"),
        ("d64.hd16:attn-h4-kv2/moe-x4-k8-f64", "top_k=8"),
        ("d48.hd16:attn-h4-kv2/mlp-f96,id/none", "d_model=48"),
        ("d64.hd16:attn-h4-kv2/mlp-f100,id/none", "hidden=100"),
        ("d64.hd8:attn-h4-kv2/mlp-f64", "head_dim"),
    ],
)
def test_malformed_specs_name_the_field(text, match):
    with pytest.raises(HynasError, match=match):
        SPACE.parse(text)


def test_generic_config_parsing_checks_fields():
    cfg = parse_config("d4096.hd128.v32000:attn-h32-kv8/mlp-f11008,ssm-n16/moe-x8-k2-f14336")
    assert isinstance(cfg, LMConfig) and cfg.vocab == 32000 and cfg.layers[0].kv_heads == 8
    assert parse_config(format_config(cfg)) == cfg
    with pytest.raises(HynasError, match="top_k=3 must be between 1 and experts=2"):
        parse_config("d64.hd16:id/moe-x2-k3-f64")


def test_full_attention_constraint_is_enforced():
    space = HybridLMSpace(min_full_attention=1)
    rng = np.random.default_rng(1)
    for _ in range(100):
        cfg = space.config(space.sample(rng))
        assert cfg.count("attn") >= 1
    with pytest.raises(HynasError, match="full-attention layers"):
        space.parse("d64.hd16:ssm-n16/mlp-f64,ssm-n16/mlp-f64")
    capped = HybridLMSpace(max_full_attention=1)
    assert capped.is_valid(capped.parse("d64.hd16:attn-h2-kv1/none,ssm-n8/none").genes)
    with pytest.raises(HynasError, match="full-attention"):
        capped.parse("d64.hd16:attn-h2-kv1/none,attn-h2-kv1/none")


def test_bad_space_options_are_clear():
    with pytest.raises(HynasError, match="longer than the context"):
        HybridLMSpace(windows=(64, 256), context=128)
    with pytest.raises(HynasError, match="top_k"):
        HybridLMSpace(experts=(2,), top_ks=(1, 4))
    with pytest.raises(HynasError, match="unknown mixers"):
        HybridLMSpace(mixers=("attn", "rnn"))


def test_global_widths_option_ties_layer_widths():
    space = HybridLMSpace(global_widths=True)
    rng = np.random.default_rng(2)
    for _ in range(50):
        arch = space.sample(rng)
        assert space.parse(space.format(arch)) == arch
        cfg = space.config(arch)
        hidden = {ly.hidden // cfg.d_model for ly in cfg.layers if ly.channel != "none"}
        heads = {ly.heads for ly in cfg.layers if ly.mixer in ("attn", "swa")}
        assert len(hidden) <= 1 and len(heads) <= 1
    assert space.parse("d64.hd16:attn-h4-kv2/mlp-f128,swa-h4-kv2-w16/mlp-f128")
    with pytest.raises(HynasError, match="global widths"):
        space.parse("d64.hd16:attn-h4-kv2/mlp-f128,attn-h8-kv2/mlp-f128")
