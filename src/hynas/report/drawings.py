"""Inline SVG drawings of one architecture, per space (the HTML report shows the selected trial's).

- NAS-Bench-201 and EC-NAS-Bench (NAS-Bench-101 cells): the cell as a graph, nodes left to right,
  each edge labelled with its operation (NB201's ``none`` edges are left out);
- mobile: the stem, then the five stages as columns of MBConv blocks (kernel, expansion), with each
  stage's width and stride;
- hybrid LM: a strip of layers, coloured by token mixer, with each layer's channel mixer below;
- any other space: its genes as a list (dimension = choice).

Pure string building: no plotting library is needed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from html import escape

from hynas.core.arch import Architecture
from hynas.core.space import SearchSpace
from hynas.spaces.ecnas import SHORT_OPS, ECNASSpace
from hynas.spaces.hybrid_lm import HybridLMSpace
from hynas.spaces.mobile import STAGES, STEM_WIDTH, MobileSpace
from hynas.spaces.nb201 import EDGES, OPS, NB201Space

__all__ = ["draw"]

_COLOURS = {
    "skip_connect": "#7f7f7f",
    "nor_conv_1x1": "#1f77b4",
    "nor_conv_3x3": "#d62728",
    "avg_pool_3x3": "#2ca02c",
    "conv3x3": "#d62728",
    "conv1x1": "#1f77b4",
    "maxpool3x3": "#2ca02c",
    "attn": "#d62728",
    "swa": "#ff7f0e",
    "ssm": "#1f77b4",
    "conv": "#2ca02c",
    "id": "#bbbbbb",
}
_FONT = 'font-family="sans-serif" font-size="11"'


def _svg(width: float, height: float, body: list[str], title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="arch" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}"><title>{escape(title)}</title>{"".join(body)}</svg>'
    )


def _text(x: float, y: float, s: str, anchor: str = "middle", colour: str = "#000") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{colour}" {_FONT}>{escape(s)}</text>'


def _dag(nodes: Sequence[str], edges: Sequence[tuple[int, int, str]], title: str) -> str:
    """Nodes on a line, edges as arcs above it (longer hops arc higher), labelled mid-arc."""
    gap, r = 170.0, 20.0
    hops = max((b - a for a, b, _ in edges), default=1)
    height = 2 * r + 30.0 * hops + 50
    y = height - r - 10
    xs = [50 + i * gap for i in range(len(nodes))]
    # a marker id of its own: the page holds many drawings, most of them hidden
    mid = "arrow-" + hashlib.sha1(title.encode()).hexdigest()[:10]
    body = []
    for a, b, op in edges:
        colour = _COLOURS.get(op, "#444")
        if b - a == 1:  # neighbours: a straight edge, labelled above it
            path = f"M{xs[a] + 1.8 * r:.1f},{y:.1f} L{xs[b] - 1.8 * r:.1f},{y:.1f}"
            label_y = y - 6
        else:  # longer hops: an arc from the top of one node to the top of the other
            lift = 30.0 * (b - a)
            path = f"M{xs[a]:.1f},{y - r:.1f} Q{(xs[a] + xs[b]) / 2:.1f},{y - r - 2 * lift:.1f} {xs[b]:.1f},{y - r:.1f}"
            label_y = y - r - lift - 4
        body.append(
            f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="2" marker-end="url(#{mid})"/>'
        )
        body.append(_text((xs[a] + xs[b]) / 2, label_y, op, colour=colour))
    for x, name in zip(xs, nodes, strict=True):
        colour = _COLOURS.get(name, "#333")
        body.append(
            f'<ellipse cx="{x:.1f}" cy="{y:.1f}" rx="{r * 1.8:.0f}" ry="{r:.0f}" fill="#fff" stroke="{colour}"/>'
        )
        body.append(_text(x, y + 4, name))
    marker = (
        f'<defs><marker id="{mid}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#444"/></marker></defs>'
    )
    return _svg(xs[-1] + 50, height, [marker, *body], title)


def _nb201(space: NB201Space, arch: Architecture, text: str) -> str:
    edges = [(frm, to, OPS[g]) for (to, frm), g in zip(EDGES, arch.genes, strict=True) if OPS[g] != "none"]
    return _dag(["in", "1", "2", "out"], edges, f"NB201 cell {text}")


def _ecnas(space: ECNASSpace, arch: Architecture, text: str) -> str:
    matrix, labels = space.spec(arch)
    n = len(labels)
    names = ["in", *(SHORT_OPS[x] for x in labels[1:-1]), "out"]
    # NAS-Bench-101 puts the operations on the vertices; the edges only carry tensors
    edges = [(a, b, "") for a in range(n) for b in range(n) if matrix[a][b]]
    return _dag(names, edges, f"cell {text}")


def _boxes(columns: Sequence[tuple[str, Sequence[tuple[str, str]]]], title: str) -> str:
    """Columns of labelled boxes under a header (``|`` breaks its lines): ``(header, [(label, colour), ...])``."""
    w, h, gap = 110.0, 24.0, 8.0
    rows = max(len(c[1]) for c in columns)
    height = 54 + rows * (h + gap)
    body = []
    for i, (header, boxes) in enumerate(columns):
        x = 10 + i * (w + gap)
        body += [_text(x + w / 2, 14 + 14 * k, line) for k, line in enumerate(header.split("|"))]
        for j, (label, colour) in enumerate(boxes):
            yy = 42 + j * (h + gap)
            body.append(
                f'<rect x="{x:.0f}" y="{yy:.0f}" width="{w:.0f}" height="{h:.0f}" rx="4" fill="{colour}" '
                'fill-opacity="0.25" stroke="#333"/>'
            )
            body.append(_text(x + w / 2, yy + h / 2 + 4, label))
    return _svg(20 + len(columns) * (w + gap), height, body, title)


def _mobile(space: MobileSpace, arch: Architecture, text: str) -> str:
    res = space.resolutions[arch.genes[0]]
    cols: list[tuple[str, Sequence[tuple[str, str]]]] = [
        (f"input|{res}²", [(f"stem {STEM_WIDTH}ch", "#999")])
    ]
    for s, ((width, stride, act, se), layers) in enumerate(
        zip(STAGES, space.stage_layers(arch), strict=True)
    ):
        colour = "#d62728" if se else "#1f77b4"
        boxes = [(f"MB{e} k{k}{' SE' if se else ''}", colour) for k, e in layers]
        cols.append((f"stage {s + 1}|{width}ch /{stride} {act}", boxes))
    return _boxes(cols, f"mobile {text}")


def _hybrid(space: HybridLMSpace, arch: Architecture, text: str) -> str:
    cfg = space.config(arch)
    w, gap = 64.0, 4.0
    body = [_text(10, 14, f"d_model {cfg.d_model}, {len(cfg.layers)} layers", anchor="start")]
    for i, layer in enumerate(cfg.layers):
        x = 10 + i * (w + gap)
        colour = _COLOURS.get(layer.mixer, "#444")
        mixer = layer.mixer + (f" w{layer.window}" if layer.mixer == "swa" else "")
        chan = layer.channel + (f" x{layer.experts}" if layer.channel == "moe" else "")
        body.append(
            f'<rect x="{x:.0f}" y="24" width="{w:.0f}" height="34" rx="4" fill="{colour}" fill-opacity="0.35" stroke="#333"/>'
        )
        body.append(_text(x + w / 2, 45, mixer))
        body.append(
            f'<rect x="{x:.0f}" y="62" width="{w:.0f}" height="22" rx="4" fill="#eee" stroke="#333"/>'
        )
        body.append(_text(x + w / 2, 77, chan))
        body.append(_text(x + w / 2, 98, f"L{i}", colour="#666"))
    return _svg(20 + len(cfg.layers) * (w + gap), 106, body, f"hybrid LM {text}")


def _genes(space: SearchSpace, arch: Architecture, text: str) -> str:
    lines = [f"{d.name} = {d.choices[g]}" for d, g in zip(space.dims, arch.genes, strict=True)]
    body = [_text(8, 16 + 15 * i, line, anchor="start") for i, line in enumerate(lines)]
    return _svg(360, 24 + 15 * len(lines), body, f"{space.name} {text}")


_DRAWERS: tuple[tuple[type, Callable[..., str]], ...] = (
    (NB201Space, _nb201),
    (ECNASSpace, _ecnas),
    (MobileSpace, _mobile),
    (HybridLMSpace, _hybrid),
)


def draw(space: SearchSpace, arch_text: str) -> str:
    """An inline ``<svg>`` of the architecture ``arch_text`` of ``space`` (its genes for a space
    without a drawing of its own)."""
    arch = space.parse(arch_text)
    for kind, drawer in _DRAWERS:
        if isinstance(space, kind):
            return drawer(space, arch, arch_text)
    return _genes(space, arch, arch_text)
