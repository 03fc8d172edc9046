"""The layer-spec language of hybrid causal LMs: :class:`LayerSpec`, :class:`LMConfig`,
:func:`parse_config`, :func:`format_config`; and :func:`expert_capacity`, the MoE buffer size.

No torch. Shared by the :class:`~hynas.spaces.hybrid_lm.HybridLMSpace` search space (whose canonical
string is a spec in this language; it re-exports every name), the model (:mod:`hynas.models.hybrid_lm`)
and the long-context cost model (:mod:`hynas.hw.lm_costs`); the grammar is described in
:mod:`hynas.spaces.hybrid_lm`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from typing import Any

from hynas.core.errors import HynasError

__all__ = [
    "CHANNEL_KINDS",
    "MIXER_KINDS",
    "LMConfig",
    "LayerSpec",
    "expert_capacity",
    "format_config",
    "parse_config",
    "parse_layer",
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


def expert_capacity(tokens: int, experts: int, top_k: int, factor: float) -> int:
    """Slots per expert: ``ceil(factor × tokens × top_k / experts)``, at most ``tokens``."""
    return max(1, min(tokens, math.ceil(factor * tokens * top_k / experts)))


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
