"""Hybrid causal language-model space: a stack of layers, each a token mixer plus a channel mixer.

Layer types follow the hybrid long-context literature: full causal attention with grouped-query KV
heads (Ainslie et al., "GQA", 2023), sliding-window attention with attention-sink tokens (Beltagy et
al., "Longformer", 2020; Xiao et al., "StreamingLLM", 2024), a selective state-space layer (Gu & Dao,
"Mamba", 2023), a gated short convolution (Fu et al., "H3", 2023; Arora et al., "Zoology", 2023),
identity, and dense SwiGLU or top-k mixture-of-experts feed-forwards (Fedus et al., "Switch
Transformers", 2022). Per-layer heads and widths make the stack heterogeneous (Tuli et al.,
"FlexiBERT", 2023).

Two things live here: the *layer-spec language* (:class:`LayerSpec`, :class:`LMConfig`,
:func:`parse_config`, :func:`format_config`) shared by the model builder and the cost model, and the
:class:`HybridLMSpace` search space whose canonical string is a spec in that language, e.g.::

    d64.hd16:attn-h4-kv2/mlp-f256,swa-h4-kv1-w64-s4/moe-x4-k2-f128,ssm-n16/none,conv/mlp-f128

Mixers: ``attn-h{heads}-kv{kv_heads}``, ``swa-h{heads}-kv{kv_heads}-w{window}[-s{sinks}]``,
``ssm-n{state}``, ``conv``, ``id``. Channel mixers: ``mlp-f{hidden}``, ``moe-x{experts}-k{top_k}-f{hidden}``,
``none``. The header is ``d{d_model}.hd{head_dim}[.v{vocab}]``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.core.space import Dim, SearchSpace, SpaceDefaults

__all__ = [
    "CHANNEL_KINDS",
    "MIXER_KINDS",
    "HybridLMSpace",
    "LMConfig",
    "LayerSpec",
    "format_config",
    "parse_config",
]

MIXER_KINDS = ("attn", "swa", "ssm", "conv", "id")
CHANNEL_KINDS = ("mlp", "moe", "none")
_SPEC_HELP = (
    "expected e.g. 'd64.hd16:attn-h4-kv2/mlp-f256,ssm-n16/none'; mixers: attn-h<H>-kv<K>, "
    "swa-h<H>-kv<K>-w<W>[-s<S>], ssm-n<N>, conv, id; channel mixers: mlp-f<F>, moe-x<E>-k<K>-f<F>, none"
)


@dataclass(frozen=True)
class LayerSpec:
    """One layer: a token mixer and a channel mixer with their sizes (unused fields are 0)."""

    mixer: str = "attn"
    heads: int = 0
    kv_heads: int = 0
    window: int = 0
    sinks: int = 0
    state: int = 0
    channel: str = "mlp"
    hidden: int = 0
    experts: int = 0
    top_k: int = 0

    def check(self, where: str = "layer") -> None:
        """Raise :class:`HynasError` naming the field if the spec is inconsistent."""
        if self.mixer not in MIXER_KINDS:
            raise HynasError(f"{where}: unknown mixer {self.mixer!r}; valid mixers: {', '.join(MIXER_KINDS)}")
        if self.channel not in CHANNEL_KINDS:
            raise HynasError(
                f"{where}: unknown channel mixer {self.channel!r}; valid: {', '.join(CHANNEL_KINDS)}"
            )
        if self.mixer in ("attn", "swa"):
            if self.heads < 1:
                raise HynasError(f"{where}: heads must be >= 1, got {self.heads}")
            if self.kv_heads < 1 or self.heads % self.kv_heads:
                raise HynasError(
                    f"{where}: kv_heads={self.kv_heads} must be >= 1 and divide heads={self.heads}"
                )
        if self.mixer == "swa" and self.window < 1:
            raise HynasError(f"{where}: window must be >= 1, got {self.window}")
        if self.sinks < 0:
            raise HynasError(f"{where}: sinks must be >= 0, got {self.sinks}")
        if self.mixer == "ssm" and self.state < 1:
            raise HynasError(f"{where}: state must be >= 1, got {self.state}")
        if self.channel in ("mlp", "moe") and self.hidden < 1:
            raise HynasError(f"{where}: hidden must be >= 1, got {self.hidden}")
        if self.channel == "moe":
            if self.experts < 1:
                raise HynasError(f"{where}: experts must be >= 1, got {self.experts}")
            if not 1 <= self.top_k <= self.experts:
                raise HynasError(f"{where}: top_k={self.top_k} must be between 1 and experts={self.experts}")

    def canonical(self) -> LayerSpec:
        """Zero the fields the chosen mixers do not use, so equal layers compare equal."""
        m, c = self.mixer, self.channel
        return LayerSpec(
            mixer=m,
            heads=self.heads if m in ("attn", "swa") else 0,
            kv_heads=self.kv_heads if m in ("attn", "swa") else 0,
            window=self.window if m == "swa" else 0,
            sinks=self.sinks if m == "swa" else 0,
            state=self.state if m == "ssm" else 0,
            channel=c,
            hidden=self.hidden if c in ("mlp", "moe") else 0,
            experts=self.experts if c == "moe" else 0,
            top_k=self.top_k if c == "moe" else 0,
        )

    def format(self) -> str:
        if self.mixer == "attn":
            mix = f"attn-h{self.heads}-kv{self.kv_heads}"
        elif self.mixer == "swa":
            mix = f"swa-h{self.heads}-kv{self.kv_heads}-w{self.window}" + (
                f"-s{self.sinks}" if self.sinks else ""
            )
        elif self.mixer == "ssm":
            mix = f"ssm-n{self.state}"
        else:
            mix = self.mixer
        if self.channel == "mlp":
            ch = f"mlp-f{self.hidden}"
        elif self.channel == "moe":
            ch = f"moe-x{self.experts}-k{self.top_k}-f{self.hidden}"
        else:
            ch = "none"
        return f"{mix}/{ch}"


@dataclass(frozen=True)
class LMConfig:
    """A whole causal LM: residual width, head size, vocabulary and the layer stack.

    ``ssm_expand``/``conv_kernel`` fix the Mamba inner width (``ssm_expand × d_model``) and the
    short-convolution length; ``capacity_factor`` sizes the MoE expert buffers (Switch Transformer);
    ``tie_embeddings`` shares the input embedding with the output head.
    """

    d_model: int
    layers: tuple[LayerSpec, ...]
    head_dim: int = 16
    vocab: int = 256
    ssm_expand: int = 2
    conv_kernel: int = 4
    capacity_factor: float = 1.25
    tie_embeddings: bool = True
    name: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", tuple(self.layers))

    def check(self) -> LMConfig:
        for fname in ("d_model", "head_dim", "vocab", "ssm_expand", "conv_kernel"):
            if int(getattr(self, fname)) < 1:
                raise HynasError(f"LM config: {fname} must be >= 1, got {getattr(self, fname)}")
        if not self.layers:
            raise HynasError("LM config: the layer stack is empty; give at least one layer")
        if self.capacity_factor <= 0:
            raise HynasError(f"LM config: capacity_factor must be > 0, got {self.capacity_factor}")
        for i, layer in enumerate(self.layers):
            layer.check(f"layer {i}")
        return self

    @property
    def ssm_inner(self) -> int:
        return self.ssm_expand * self.d_model

    @property
    def dt_rank(self) -> int:
        return -(-self.d_model // 16)

    def with_layers(self, layers: tuple[LayerSpec, ...] | list[LayerSpec]) -> LMConfig:
        return replace(self, layers=tuple(layers))

    def count(self, mixer: str) -> int:
        return sum(1 for layer in self.layers if layer.mixer == mixer)


_HEADER = re.compile(r"d(\d+)\.hd(\d+)(?:\.v(\d+))?")
_MIX = {
    "attn": re.compile(r"attn-h(\d+)-kv(\d+)"),
    "swa": re.compile(r"swa-h(\d+)-kv(\d+)-w(\d+)(?:-s(\d+))?"),
    "ssm": re.compile(r"ssm-n(\d+)"),
}
_MLP = re.compile(r"mlp-f(\d+)")
_MOE = re.compile(r"moe-x(\d+)-k(\d+)-f(\d+)")


def parse_layer(text: str, where: str = "layer") -> LayerSpec:
    """One ``mixer/channel`` layer spec; raises :class:`HynasError` naming what is wrong."""
    parts = text.strip().split("/")
    if len(parts) != 2:
        raise HynasError(f"malformed {where} {text!r}: need MIXER/CHANNEL; {_SPEC_HELP}")
    mix, ch = parts
    kind = mix.split("-", 1)[0]
    kw: dict[str, Any] = {}
    if kind in ("conv", "id") and mix == kind:
        kw["mixer"] = kind
    elif kind in _MIX and (m := _MIX[kind].fullmatch(mix)):
        kw["mixer"] = kind
        g = [int(x) if x is not None else 0 for x in m.groups()]
        if kind == "ssm":
            kw["state"] = g[0]
        else:
            kw["heads"], kw["kv_heads"] = g[0], g[1]
            if kind == "swa":
                kw["window"], kw["sinks"] = g[2], g[3]
    else:
        raise HynasError(f"malformed mixer {mix!r} in {where} {text!r}; {_SPEC_HELP}")
    if ch == "none":
        kw["channel"] = "none"
    elif m := _MLP.fullmatch(ch):
        kw["channel"], kw["hidden"] = "mlp", int(m.group(1))
    elif m := _MOE.fullmatch(ch):
        kw["channel"] = "moe"
        kw["experts"], kw["top_k"], kw["hidden"] = (int(x) for x in m.groups())
    else:
        raise HynasError(f"malformed channel mixer {ch!r} in {where} {text!r}; {_SPEC_HELP}")
    spec = LayerSpec(**kw)
    spec.check(where)
    return spec


def parse_config(text: str, **options: Any) -> LMConfig:
    """An :class:`LMConfig` from its string; ``options`` set the fields the string does not carry."""
    raw = text.strip()
    if ":" not in raw:
        raise HynasError(f"malformed LM spec {text!r}: missing 'd<D>.hd<H>:' header; {_SPEC_HELP}")
    head, body = raw.split(":", 1)
    m = _HEADER.fullmatch(head)
    if not m:
        raise HynasError(f"malformed LM spec header {head!r}: expected d<D>.hd<H>[.v<V>]; {_SPEC_HELP}")
    d, hd, v = m.groups()
    layers = tuple(parse_layer(t, f"layer {i}") for i, t in enumerate(body.split(",")))
    cfg = LMConfig(int(d), layers, head_dim=int(hd), **({"vocab": int(v)} | options if v else options))
    return cfg.check()


def format_config(cfg: LMConfig, vocab: bool = True) -> str:
    head = f"d{cfg.d_model}.hd{cfg.head_dim}" + (f".v{cfg.vocab}" if vocab else "")
    return head + ":" + ",".join(layer.format() for layer in cfg.layers)


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
