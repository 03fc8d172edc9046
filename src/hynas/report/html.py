"""``report.html``: one self-contained, interactive page of a run (plotly; no network needed).

The page holds plotly.js inline, the figures as JSON, every trial in a sortable table and SVG
drawings of the architectures (:mod:`hynas.report.drawings`): clicking a point or a row shows that
trial's architecture. Figures:

- two objectives: the trials, the run's front, the true front when the space has one, constraint
  lines, hover with the architecture and every metric;
- three or more: a scatter matrix and parallel coordinates; one: the objective of every trial;
- the anytime curves: best value (and hypervolume) against queries and against cost.

Axis limits follow :func:`hynas.report.axes.robust_range` (outliers are counted, not plotted
across the axis). Needs the ``report`` extra (``pip install 'hynas[report]'``).
"""

from __future__ import annotations

import importlib.util
from html import escape
from pathlib import Path
from typing import Any

import numpy as np

from hynas.core.errors import HynasError
from hynas.core.store import TrialRecord
from hynas.report.analysis import anytime, reference_point, run_front, true_front
from hynas.report.axes import axis_label, outside_note, robust_range, unit_of
from hynas.report.drawings import draw
from hynas.report.summary import format_duration, status_text, summarize, trial_counts
from hynas.wiring import Experiment

__all__ = ["MAX_DRAWINGS", "plotly_available", "write_html"]

#: architectures drawn in advance (beyond this many trials: the front and the best one only)
MAX_DRAWINGS = 400
_PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#d62728",
)
_MISSING = "the interactive report.html needs plotly: pip install 'hynas[report]'"


def plotly_available() -> bool:
    return importlib.util.find_spec("plotly") is not None


def _fmt(v: float) -> str:
    return f"{v:.4g}"


def _names(exp: Experiment) -> list[str]:
    return list(dict.fromkeys([o.name for o in exp.objectives] + [c.name for c in exp.constraints]))


def _hover(exp: Experiment, r: TrialRecord) -> str:
    vals = [f"{k} = {_fmt(v)} {unit_of(exp, k)}".rstrip() for k, v in {**r.metrics, **r.hidden}.items()]
    return f"#{r.number} {escape(r.arch)}<br>" + "<br>".join(vals)


def _feasible(exp: Experiment, r: TrialRecord) -> bool:
    return all(c.violation(r.metrics[c.name]) == 0.0 for c in exp.constraints)


def _pareto(exp: Experiment, ok: list[TrialRecord], front: list[TrialRecord]) -> tuple[Any, str]:
    import plotly.graph_objects as go

    ny, nx = exp.objectives[0].name, exp.objectives[1].name
    fig = go.Figure()
    fig.add_scatter(
        x=[r.metrics[nx] for r in ok],
        y=[r.metrics[ny] for r in ok],
        mode="markers",
        name=f"evaluated ({len(ok)})",
        meta="trials",
        customdata=[r.number for r in ok],
        hovertext=[_hover(exp, r) for r in ok],
        hoverinfo="text",
        marker={
            "color": ["#9e9e9e" if _feasible(exp, r) else "#e377c2" for r in ok],
            "symbol": ["circle" if _feasible(exp, r) else "x" for r in ok],
            "size": 7,
        },
    )
    tf = true_front(exp)
    if tf is not None and len(tf.points):
        o0, o1 = exp.objectives[0], exp.objectives[1]
        pts = tf.points[np.argsort(tf.points[:, 1])]
        fig.add_scatter(
            x=[o1.to_min(v) for v in pts[:, 1]],
            y=[o0.to_min(v) for v in pts[:, 0]],
            mode="lines",
            line={"shape": "hv", "color": "#2ca02c"},
            name="true front",
            hoverinfo="skip",
        )
    fr = sorted(front, key=lambda r: r.metrics[nx])
    fig.add_scatter(
        x=[r.metrics[nx] for r in fr],
        y=[r.metrics[ny] for r in fr],
        mode="lines+markers",
        line={"shape": "hv", "color": "#d62728"},
        marker={"size": 9},
        name=f"found front ({len(fr)})",
        customdata=[r.number for r in fr],
        hovertext=[_hover(exp, r) for r in fr],
        hoverinfo="text",
    )
    for c in exp.constraints:
        for axis, name in (("x", nx), ("y", ny)):
            if c.name == name:
                kind = "vline" if axis == "x" else "hline"
                getattr(fig, f"add_{kind}")(c.bound, line_dash="dash", annotation_text=escape(str(c)))
    counts = {}
    for axis, name in (("x", nx), ("y", ny)):
        lo, hi, counts[name] = robust_range([r.metrics[name] for r in ok], [r.metrics[name] for r in fr])
        fig.update_layout({f"{axis}axis": {"range": [lo, hi], "title": {"text": axis_label(exp, name)}}})
    fig.update_layout(title="Pareto front", height=520)
    return fig, outside_note(counts)


def _matrix(exp: Experiment, ok: list[TrialRecord], front: list[TrialRecord]) -> tuple[list[Any], str]:
    import plotly.graph_objects as go

    names = [o.name for o in exp.objectives]
    on_front = {r.number for r in front}
    text = [_hover(exp, r) for r in ok]
    colour = ["#d62728" if r.number in on_front else "#7f7f7f" for r in ok]
    splom = go.Figure(
        go.Splom(
            dimensions=[
                {"label": axis_label(exp, n, arrow=False), "values": [r.metrics[n] for r in ok]}
                for n in names
            ],
            meta="trials",
            customdata=[r.number for r in ok],
            text=text,
            hovertemplate="%{text}<extra></extra>",
            marker={"color": colour, "size": 6},
            diagonal_visible=False,
            showupperhalf=False,
        )
    )
    counts = {}
    for i, n in enumerate(names):
        lo, hi, counts[n] = robust_range([r.metrics[n] for r in ok], [r.metrics[n] for r in front])
        suffix = "" if i == 0 else str(i + 1)
        splom.update_layout({f"xaxis{suffix}": {"range": [lo, hi]}, f"yaxis{suffix}": {"range": [lo, hi]}})
    splom.update_layout(
        title=f"Scatter matrix ({len(on_front)} front members in red)", height=220 * len(names) + 80
    )
    par = go.Figure(
        go.Parcoords(
            dimensions=[{"label": axis_label(exp, n), "values": [r.metrics[n] for r in ok]} for n in names],
            meta="trials",
            line={
                "color": [1 if r.number in on_front else 0 for r in ok],
                "colorscale": [[0, "#bbbbbb"], [1, "#d62728"]],
            },
        )
    )
    par.update_layout(title="Parallel coordinates (front in red)", height=420, margin={"l": 80, "r": 120})
    return [splom, par], outside_note(counts)


def _single(exp: Experiment, ok: list[TrialRecord]) -> tuple[Any, str]:
    import plotly.graph_objects as go

    name = exp.objectives[0].name
    vals = [r.metrics[name] for r in ok]
    fig = go.Figure()
    fig.add_scatter(
        x=[r.number for r in ok],
        y=vals,
        mode="markers",
        name="trials",
        meta="trials",
        customdata=[r.number for r in ok],
        hovertext=[_hover(exp, r) for r in ok],
        hoverinfo="text",
    )
    lo, hi, out = robust_range(vals, [min(vals, key=exp.objectives[0].to_min)] if vals else [])
    fig.update_layout(
        title=f"{name} of every trial",
        xaxis_title="trial number",
        yaxis={"title": {"text": axis_label(exp, name)}, "range": [lo, hi]},
        height=460,
    )
    return fig, outside_note({name: out})


def _anytime(exp: Experiment, records: list[TrialRecord], ref: np.ndarray) -> Any:
    from plotly.subplots import make_subplots

    curve = anytime(exp, records, ref)
    multi = len(exp.objectives) > 1
    total = float(curve.seconds[-1]) if len(curve.seconds) else 0.0
    scale, unit = (3600.0, "h") if total > 7200 else (60.0, "min") if total > 120 else (1.0, "s")
    rows = 2 if multi else 1
    fig = make_subplots(rows=rows, cols=2, shared_xaxes=False, vertical_spacing=0.14)
    first = exp.objectives[0].name
    series = [(1, f"best {first}", curve.best)] + [
        (1, f"incumbent's {k}", v) for k, v in curve.best_hidden.items()
    ]
    if multi:
        series.append((2, "hypervolume", curve.hypervolume))
    tf = true_front(exp) if multi else None
    for col, x in ((1, curve.queries), (2, curve.seconds / scale)):
        for k, (row, label, y) in enumerate(series):
            fig.add_scatter(
                x=x,
                y=y,
                mode="lines",
                name=label,
                row=row,
                col=col,
                showlegend=col == 1,
                legendgroup=label,
                line={
                    "dash": "dash" if label.startswith("incumbent") else "solid",
                    "color": _PALETTE[k % 10],
                },
            )
            fig.update_yaxes(
                title_text=axis_label(exp, first) if row == 1 else "hypervolume (objective units multiplied)",
                row=row,
                col=col,
            )
        if tf is not None:
            fig.add_hline(
                tf.hypervolume,
                line_dash="dot",
                line_color="#2ca02c",
                row=2,
                col=col,
                annotation_text="true front",
            )
        for row in range(1, rows + 1):
            fig.update_xaxes(
                title_text="queries [trials]"
                if col == 1
                else f"cumulative cost [{unit}] (simulated for tables)",
                row=row,
                col=col,
            )
    fig.update_layout(title="Anytime performance", height=330 * rows + 80)
    return fig


def _table(exp: Experiment, records: list[TrialRecord], front: list[TrialRecord]) -> str:
    names = _names(exp)
    hidden = sorted({k for r in records for k in r.hidden})
    fids = len({r.fidelity for r in records}) > 1
    on_front = {r.number for r in front}
    cols = [
        "#",
        "status",
        "architecture",
        *(["fidelity"] if fids else []),
        *names,
        *hidden,
        "cost [s]",
        "front",
    ]
    labels = [*cols[:3], *(["fidelity"] if fids else []), *(axis_label(exp, n, arrow=False) for n in names)]
    labels += [f"{h} (report only)" for h in hidden] + cols[-2:]
    head = "".join(f'<th data-col="{i}" title="click to sort">{escape(c)}</th>' for i, c in enumerate(labels))
    rows = []
    for r in records:
        cells: list[tuple[str, float | str]] = [
            (str(r.number), r.number),
            (status_text(r, 60), r.status),
        ]
        cells.append((r.arch, r.arch))
        if fids:
            cells.append(
                ("-" if r.fidelity is None else f"{r.fidelity:g}", -1 if r.fidelity is None else r.fidelity)
            )
        for src, keys in ((r.metrics, names), (r.hidden, hidden)):
            cells += [(_fmt(src[k]), src[k]) if k in src else ("-", "") for k in keys]
        cells += [
            (f"{r.cost_s:.3g}", r.cost_s),
            ("✓" if r.number in on_front else "", int(r.number in on_front)),
        ]
        tds = "".join(f'<td data-v="{escape(str(v))}">{escape(t)}</td>' for t, v in cells)
        rows.append(f'<tr data-n="{r.number}">{tds}</tr>')
    return f'<table id="trials"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _drawings(exp: Experiment, records: list[TrialRecord], keep: set[int]) -> str:
    out = []
    for r in records:
        if len(records) > MAX_DRAWINGS and r.number not in keep:
            continue
        try:
            svg = draw(exp.space, r.arch)
        except HynasError as e:
            svg = f"<p>no drawing: {escape(str(e))}</p>"
        out.append(f'<div class="drawing" id="arch-{r.number}" hidden>{svg}</div>')
    return "".join(out)


_CSS = """body{font-family:sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse;font-size:12px}
th,td{border:1px solid #ccc;padding:2px 6px;text-align:right}td:nth-child(3){text-align:left;font-family:monospace}
th{cursor:pointer;background:#f3f3f3;position:sticky;top:0}tr.sel td{background:#ffe9a8}tbody tr:hover{background:#f5f5ff}
.note{color:#a35200}#selected{border:1px solid #ccc;padding:8px;margin:1em 0;overflow-x:auto}
.tablebox{max-height:480px;overflow:auto}dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px}"""

_JS = """
function hynasSelect(n){
  if(n===undefined||+n<0){return;}
  document.querySelectorAll('.drawing').forEach(d=>d.hidden=true);
  document.querySelectorAll('#trials tr.sel').forEach(t=>t.classList.remove('sel'));
  const row=document.querySelector('#trials tr[data-n="'+n+'"]');
  if(row){row.classList.add('sel');}
  const d=document.getElementById('arch-'+n);
  document.getElementById('seltitle').textContent='trial #'+n+(row?': '+row.children[2].textContent:'');
  document.getElementById('nodrawing').hidden=!!d;
  if(d){d.hidden=false;}
}
document.querySelectorAll('#trials th').forEach(th=>th.addEventListener('click',()=>{
  const col=+th.dataset.col, body=document.querySelector('#trials tbody');
  const asc=th.dataset.dir!=='asc'; document.querySelectorAll('#trials th').forEach(h=>delete h.dataset.dir);
  th.dataset.dir=asc?'asc':'desc';
  const key=tr=>{const v=tr.children[col].dataset.v; const x=parseFloat(v); return (v!==''&&!isNaN(x)&&isFinite(v))?x:v;};
  const rows=[...body.rows].sort((a,b)=>{const x=key(a),y=key(b);
    const c=(typeof x==='number'&&typeof y==='number')?x-y:String(x).localeCompare(String(y));return asc?c:-c;});
  rows.forEach(r=>body.appendChild(r));
}));
document.querySelectorAll('#trials tbody tr').forEach(tr=>tr.addEventListener('click',()=>hynasSelect(tr.dataset.n)));
document.querySelectorAll('.js-plotly-plot').forEach(g=>g.on&&g.on('plotly_click',ev=>{
  const p=ev.points&&ev.points[0]; if(p&&p.customdata!==undefined){hynasSelect(p.customdata);}
}));
hynasSelect(document.body.dataset.initial);
"""


def write_html(
    exp: Experiment, records: list[TrialRecord], path: Path, store_path: str, ref: np.ndarray | None = None
) -> Path:
    """Write the interactive report of a run to ``path`` (one file, no network needed)."""
    if not plotly_available():
        raise HynasError(_MISSING)
    import plotly.io as pio
    from plotly.offline import get_plotlyjs

    ref = reference_point(exp, records) if ref is None else ref
    ok = [r for r in records if r.ok]
    front = run_front(exp, records, ref).records
    s = summarize(exp, records, ref)
    if len(exp.objectives) == 1:
        fig, note = _single(exp, ok)
        figs = [fig]
    elif len(exp.objectives) == 2:
        fig, note = _pareto(exp, ok, front)
        figs = [fig]
    else:
        figs, note = _matrix(exp, ok, front)
    figs.append(_anytime(exp, records, ref))
    divs = "".join(
        pio.to_html(f, full_html=False, include_plotlyjs=False, div_id=f"fig{i}", config={"responsive": True})
        for i, f in enumerate(figs)
    )
    initial = s["best"]["number"] if "best" in s else (records[0].number if records else -1)
    keep = {r.number for r in front} | {initial}
    facts = {
        "store": store_path,
        "space": exp.config.space,
        "evaluator": exp.config.evaluator
        or (exp.space.defaults.evaluator if exp.space.defaults else "default"),
        "strategy": exp.config.strategy,
        "objectives": ", ".join(s["objectives"]),
        "constraints": ", ".join(s["constraints"]) or "none",
        "trials": trial_counts(s),
        "cost": format_duration(s["cost_s"]),
        "hypervolume": f"{s['hypervolume']:.6g}"
        + ("" if s["hypervolume_ratio"] is None else f" ({s['hypervolume_ratio']:.4f} of the true front)"),
    }
    dl = "".join(f"<dt>{escape(k)}</dt><dd>{escape(str(v))}</dd>" for k, v in facts.items())
    page = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>hynas report: {escape(store_path)}</title><style>{_CSS}</style>
<script>{get_plotlyjs()}</script></head>
<body data-initial="{initial}" data-completed="{len(ok)}" data-trials="{len(records)}">
<h1>hynas report</h1><dl>{dl}</dl>
<p class="note" id="outside">{escape(note + ("; every trial is in the table below" if note else ""))}</p>{divs}
<h2>Selected architecture</h2><p>Click a point or a table row.</p>
<div id="selected"><b id="seltitle"></b><p id="nodrawing" hidden>no drawing stored for this trial
(only the front is drawn in runs of more than {MAX_DRAWINGS} trials)</p>{_drawings(exp, records, keep)}</div>
<h2>Trials</h2><p>Click a column header to sort.</p><div class="tablebox">{_table(exp, records, front)}</div>
<script>{_JS}</script></body></html>"""
    path.write_text(page, encoding="utf-8")
    return path
