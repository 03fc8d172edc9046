"""Hybrid causal language-model space: a stack of layers, each a token mixer plus a channel mixer.

Layer types follow the hybrid long-context literature: full causal attention with grouped-query KV
heads (Ainslie et al., "GQA", 2023), sliding-window attention with attention-sink tokens (Beltagy et
al., "Longformer", 2020; Xiao et al., "StreamingLLM", 2024), a selective state-space layer (Gu & Dao,
"Mamba", 2023), a gated short convolution (Fu et al., "H3", 2023; Arora et al., "Zoology", 2023),
identity, and dense SwiGLU or top-k mixture-of-experts feed-forwards (Fedus et al., "Switch
Transformers", 2022). Per-layer heads and widths make the stack heterogeneous (Tuli et al.,
"FlexiBERT", 2023).

Two things are here: the *layer-spec language* (:class:`LayerSpec`, :class:`LMConfig`,
:func:`parse_config`, :func:`format_config`; defined in :mod:`hynas.models.lm_spec`, re-exported)
shared by the model builder and the cost model, and the
:class:`HybridLMSpace` search space whose canonical string is a spec in that language, e.g.::

    d64.hd16:attn-h4-kv2/mlp-f256,swa-h4-kv1-w64-s4/moe-x4-k2-f128,ssm-n16/none,conv/mlp-f128

Mixers: ``attn-h{heads}-kv{kv_heads}``, ``swa-h{heads}-kv{kv_heads}-w{window}[-s{sinks}]``,
``ssm-n{state}``, ``conv``, ``id``. Channel mixers: ``mlp-f{hidden}``, ``moe-x{experts}-k{top_k}-f{hidden}``,
``none``. The header is ``d{d_model}.hd{head_dim}[.v{vocab}]``.
"""

from __future__ import annotations

from typing import Any

from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.core.space import Dim, SearchSpace, SpaceDefaults
from hynas.models.lm_spec import (
    CHANNEL_KINDS,
    MIXER_KINDS,
    LayerSpec,
    LMConfig,
    format_config,
    parse_config,
    parse_layer,
)

__all__ = [
    "CHANNEL_KINDS",
    "MIXER_KINDS",
    "HybridLMSpace",
    "LMConfig",
    "LayerSpec",
    "format_config",
    "parse_config",
    "parse_layer",
]

# -- the search space ---------------------------------------------------------------------------------

_LAYER_FIELDS = ("mixer", "heads", "kv", "window", "sinks", "state", "channel", "expand", "experts", "topk")
#: with ``global_widths=True`` these follow the first layer that uses them (homogeneous setting)
_WIDTH_FIELDS = ("heads", "kv", "state", "expand", "experts", "topk")


class HybridLMSpace(SearchSpace):
    """Hybrid LM stack: per-layer attention / sliding window / Mamba / conv / identity, MLP / MoE."""

    name = "hybrid-lm"
    defaults = SpaceDefaults("lm-mqar", None, ("bpb", "recall", "memory@128k"))

    def __init__(
        self,
        depths: tuple[int, ...] = (2, 3, 4, 5, 6),
        d_models: tuple[int, ...] = (32, 64, 96),
        mixers: tuple[str, ...] = MIXER_KINDS,
        heads: tuple[int, ...] = (2, 4, 8),
        kv_heads: tuple[int, ...] = (1, 2, 4, 8),
        windows: tuple[int, ...] = (16, 32, 64),
        sinks: tuple[int, ...] = (0, 4),
        states: tuple[int, ...] = (4, 8, 16),
        channels: tuple[str, ...] = CHANNEL_KINDS,
        expands: tuple[int, ...] = (1, 2, 4),
        experts: tuple[int, ...] = (4, 8),
        top_ks: tuple[int, ...] = (1, 2),
        head_dim: int = 16,
        vocab: int = 256,
        context: int = 128,
        min_full_attention: int = 0,
        max_full_attention: int | None = None,
        global_widths: bool = False,
    ) -> None:
        bad = [m for m in mixers if m not in MIXER_KINDS]
        if bad:
            raise HynasError(f"hybrid-lm: unknown mixers {bad}; valid mixers: {', '.join(MIXER_KINDS)}")
        bad = [c for c in channels if c not in CHANNEL_KINDS]
        if bad:
            raise HynasError(f"hybrid-lm: unknown channel mixers {bad}; valid: {', '.join(CHANNEL_KINDS)}")
        if any(w > context for w in windows):
            raise HynasError(
                f"hybrid-lm: window {max(windows)} is longer than the context {context}; "
                f"choose windows <= context"
            )
        if any(k > min(experts) for k in top_ks):
            raise HynasError(
                f"hybrid-lm: top_k {max(top_ks)} > experts {min(experts)}; need top_k <= experts"
            )
        if sorted(kv_heads) != list(kv_heads) or any(h % k for h in heads for k in kv_heads if k <= h):
            raise HynasError("hybrid-lm: kv_heads must be ascending and each must divide every larger heads")
        if min(kv_heads) > min(heads):
            raise HynasError(
                f"hybrid-lm: kv_heads {min(kv_heads)} > heads {min(heads)}; need kv_heads <= heads"
            )
        if min_full_attention > max(depths) or ("attn" not in mixers and min_full_attention > 0):
            raise HynasError(
                f"hybrid-lm: min_full_attention={min_full_attention} cannot be met "
                f"(depths {depths}, mixers {mixers})"
            )
        self.depths, self.d_models, self.mixers = tuple(depths), tuple(d_models), tuple(mixers)
        self.heads, self.kv_heads, self.windows = tuple(heads), tuple(kv_heads), tuple(windows)
        self.sinks, self.states, self.channels = tuple(sinks), tuple(states), tuple(channels)
        self.expands, self.experts, self.top_ks = tuple(expands), tuple(experts), tuple(top_ks)
        self.head_dim, self.vocab, self.context = head_dim, vocab, context
        self.min_full_attention, self.max_full_attention = min_full_attention, max_full_attention
        self.global_widths = global_widths
        self.max_depth = max(self.depths)
        per_layer = {
            "mixer": self.mixers,
            "heads": self.heads,
            "kv": self.kv_heads,
            "window": self.windows,
            "sinks": self.sinks,
            "state": self.states,
            "channel": self.channels,
            "expand": self.expands,
            "experts": self.experts,
            "topk": self.top_ks,
        }
        dims = [Dim("depth", self.depths), Dim("d_model", self.d_models)]
        for i in range(self.max_depth):
            dims += [Dim(f"L{i}.{f}", per_layer[f]) for f in _LAYER_FIELDS]
        self.dims = tuple(dims)
        self._nf = len(_LAYER_FIELDS)

    # -- genes <-> config ------------------------------------------------------------------------
    def _layer_genes(self, genes: tuple[int, ...], i: int) -> dict[str, int]:
        base = 2 + i * self._nf
        return dict(zip(_LAYER_FIELDS, genes[base : base + self._nf], strict=True))

    def canonicalize(self, genes: tuple[int, ...]) -> tuple[int, ...]:
        depth = self.depths[genes[0]]
        out = list(genes[:2])
        shared: dict[str, int] = {}
        if self.global_widths:  # one choice per width for the whole stack: the first layer using it
            for i in reversed(range(depth)):
                g = self._layer_genes(genes, i)
                m, c = self.mixers[g["mixer"]], self.channels[g["channel"]]
                used = {"heads": m in ("attn", "swa"), "kv": m in ("attn", "swa"), "state": m == "ssm"}
                used |= {"expand": c != "none", "experts": c == "moe", "topk": c == "moe"}
                shared |= {f: g[f] for f in _WIDTH_FIELDS if used[f]}
        for i in range(self.max_depth):
            g = self._layer_genes(genes, i)
            g |= shared
            if i >= depth:
                out += [0] * self._nf
                continue
            mixer = self.mixers[g["mixer"]]
            channel = self.channels[g["channel"]]
            if mixer in ("attn", "swa"):
                h = self.heads[g["heads"]]
                kv = min(self.kv_heads[g["kv"]], h)
                g["kv"] = max(j for j, k in enumerate(self.kv_heads) if k <= kv)
            else:
                g["heads"] = g["kv"] = 0
            if mixer != "swa":
                g["window"] = g["sinks"] = 0
            if mixer != "ssm":
                g["state"] = 0
            if channel == "none":
                g["expand"] = 0
            if channel != "moe":
                g["experts"] = g["topk"] = 0
            out += [g[f] for f in _LAYER_FIELDS]
        return tuple(out)

    def is_valid(self, genes: tuple[int, ...]) -> bool:
        depth = self.depths[genes[0]]
        n_attn = sum(1 for i in range(depth) if self.mixers[self._layer_genes(genes, i)["mixer"]] == "attn")
        if n_attn < self.min_full_attention:
            return False
        return self.max_full_attention is None or n_attn <= self.max_full_attention

    def config(self, arch: Architecture) -> LMConfig:
        """The :class:`LMConfig` of an architecture of this space."""
        g = arch.genes
        depth, d = self.depths[g[0]], self.d_models[g[1]]
        layers = []
        for i in range(depth):
            lg = self._layer_genes(g, i)
            mixer, channel = self.mixers[lg["mixer"]], self.channels[lg["channel"]]
            att = mixer in ("attn", "swa")
            layers.append(
                LayerSpec(
                    mixer=mixer,
                    heads=self.heads[lg["heads"]] if att else 0,
                    kv_heads=min(self.kv_heads[lg["kv"]], self.heads[lg["heads"]]) if att else 0,
                    window=self.windows[lg["window"]] if mixer == "swa" else 0,
                    sinks=self.sinks[lg["sinks"]] if mixer == "swa" else 0,
                    state=self.states[lg["state"]] if mixer == "ssm" else 0,
                    channel=channel,
                    hidden=self.expands[lg["expand"]] * d if channel != "none" else 0,
                    experts=self.experts[lg["experts"]] if channel == "moe" else 0,
                    top_k=self.top_ks[lg["topk"]] if channel == "moe" else 0,
                )
            )
        return LMConfig(d, tuple(layers), head_dim=self.head_dim, vocab=self.vocab)

    def format(self, arch: Architecture) -> str:
        return format_config(self.config(arch), vocab=False)

    def parse(self, text: str) -> Architecture:
        cfg = parse_config(text, vocab=self.vocab)
        if cfg.head_dim != self.head_dim:
            raise HynasError(f"hybrid-lm: head_dim {cfg.head_dim} not in this space; valid: {self.head_dim}")

        def index(fname: str, choices: tuple[Any, ...], value: Any, where: str) -> int:
            if value not in choices:
                raise HynasError(
                    f"hybrid-lm {where}: {fname}={value} is not a choice of this space; "
                    f"valid: {', '.join(map(str, choices))}"
                )
            return choices.index(value)

        depth = len(cfg.layers)
        genes = [
            index("depth", self.depths, depth, "spec"),
            index("d_model", self.d_models, cfg.d_model, "spec"),
        ]
        for i in range(self.max_depth):
            if i >= depth:
                genes += [0] * self._nf
                continue
            layer, where = cfg.layers[i], f"layer {i}"
            lg = dict.fromkeys(_LAYER_FIELDS, 0)
            lg["mixer"] = index("mixer", self.mixers, layer.mixer, where)
            lg["channel"] = index("channel", self.channels, layer.channel, where)
            if layer.mixer in ("attn", "swa"):
                lg["heads"] = index("heads", self.heads, layer.heads, where)
                lg["kv"] = index("kv_heads", self.kv_heads, layer.kv_heads, where)
            if layer.mixer == "swa":
                if layer.window > self.context:
                    raise HynasError(
                        f"hybrid-lm {where}: window={layer.window} is longer than the context "
                        f"{self.context}; valid windows: {', '.join(map(str, self.windows))}"
                    )
                lg["window"] = index("window", self.windows, layer.window, where)
                lg["sinks"] = index("sinks", self.sinks, layer.sinks, where)
            if layer.mixer == "ssm":
                lg["state"] = index("state", self.states, layer.state, where)
            if layer.channel != "none":
                if layer.hidden % cfg.d_model:
                    raise HynasError(
                        f"hybrid-lm {where}: hidden={layer.hidden} is not a multiple of d_model={cfg.d_model}"
                    )
                lg["expand"] = index(
                    "expand (hidden/d_model)", self.expands, layer.hidden // cfg.d_model, where
                )
            if layer.channel == "moe":
                lg["experts"] = index("experts", self.experts, layer.experts, where)
                lg["topk"] = index("top_k", self.top_ks, layer.top_k, where)
            genes += [lg[f] for f in _LAYER_FIELDS]
        g = tuple(genes)
        canonical = self.canonicalize(g)
        if self.global_widths and self.format(Architecture(self.name, canonical)) != format_config(
            cfg, False
        ):
            raise HynasError(
                f"hybrid-lm: {text!r} gives layers different widths, but this space has global widths "
                "(heads, kv heads, state, hidden, experts, top_k follow the first layer using them)"
            )
        if not self.is_valid(g):
            raise HynasError(
                f"hybrid-lm: {text!r} breaks the space's rule: full-attention layers must be between "
                f"{self.min_full_attention} and {self.max_full_attention or 'depth'}"
            )
        return Architecture(self.name, canonical)

    # -- encodings, models -----------------------------------------------------------------------
    def encode_features(self, arch: Architecture) -> Any:
        """Counts and sizes per layer type: depth, width, mixer counts, attention/SSM/MLP widths."""
        import numpy as np

        cfg = self.config(arch)
        n = len(cfg.layers)
        feats = [n, cfg.d_model / 64]
        feats += [cfg.count(m) / n for m in MIXER_KINDS]
        feats += [sum(1 for ly in cfg.layers if ly.channel == c) / n for c in CHANNEL_KINDS]
        feats += [
            sum(ly.heads for ly in cfg.layers) / n,
            sum(ly.kv_heads for ly in cfg.layers) / n,
            sum(ly.window for ly in cfg.layers) / max(1, cfg.count("swa")) / self.context,
            sum(ly.state for ly in cfg.layers) / max(1, cfg.count("ssm")),
            sum(ly.hidden for ly in cfg.layers) / n / cfg.d_model,
        ]
        return np.asarray(feats, dtype=np.float32)

    def build(self, arch: Architecture, **kwargs: Any) -> Any:
        from hynas.models.hybrid_lm import HybridLM

        return HybridLM(self.config(self.validate(arch)), **kwargs)

    # -- facts for cost models (hynas.hw.lm_costs reads them) -----------------------------------------
    def lm_config(self, arch: Architecture) -> LMConfig:
        return self.config(arch)

    def sequence_length(self, arch: Architecture) -> int:
        return self.context

    def example_input(self, arch: Architecture, batch: int = 1, resolution: int | None = None) -> Any:
        """Seeded random token ids (N, ``resolution`` or the space's context)."""
        import torch

        gen = torch.Generator().manual_seed(0)
        return torch.randint(self.vocab, (batch, resolution or self.context), generator=gen)
