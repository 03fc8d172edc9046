"""``hynas report``: the PNG figures (objective count, robust axes, units) and the interactive
report.html, opened in headless Chromium (tests/browser.py) where it is installed."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

import hynas
from browser import headless_chromium
from extras import need_module
from hynas.cli import app
from hynas.report.axes import axis_label, robust_range
from hynas.report.drawings import draw
from hynas.spaces import get_space
from hynas.wiring import Experiment

RESULTS = Path(__file__).resolve().parent.parent / "bench" / "results"
LM_OBJECTIVES = ("bpb", "kv_memory@128k", "decode_latency@32k:a100")

# every completed trial's point in the figures marked meta="trials", counted from the DOM's data
POINTS = """return [...document.querySelectorAll('.js-plotly-plot')].flatMap(g => g.data
  .filter(t => t.meta === 'trials')
  .map(t => t.x ? t.x.length : t.dimensions[0].values.length));"""
COLUMN = "return [...document.querySelectorAll('#trials tbody tr')].map(r => r.children[{}].dataset.v);"


def _report(tmp_path: Path, name: str, **cfg: object) -> tuple[Path, list]:
    store = str(tmp_path / f"{name}.db")
    trials = hynas.search(store=store, **cfg)
    out = tmp_path / f"{name}-report"
    res = CliRunner().invoke(app, ["report", store, "--out", str(out)])
    assert res.exit_code == 0, res.output
    return out, list(trials)


def test_robust_range_keeps_the_front_and_counts_outliers():
    vals = [70.0 + i * 0.2 for i in range(100)] + [10.0, 10.2, 9.9]  # three chance-level cells
    lo, hi, out = robust_range(vals, keep=[90.0])
    assert out == 3 and 50 < lo < 70 and 89.8 < hi < 95
    lo, hi, out = robust_range(vals, keep=[50.0, 10.0])  # front members widen the axis, unless outliers
    assert 40 < lo < 50 and out == 3
    assert robust_range([1.0, 2.0], keep=[5.0])[:2] == pytest.approx((0.84, 5.16))


def test_axis_labels_carry_units_of_cost_models():
    exp = Experiment(hynas.ExperimentConfig(space="hybrid-lm", objectives=LM_OBJECTIVES, budget=1))
    assert axis_label(exp, "bpb") == "bpb [bits/byte] (lower is better)"
    assert axis_label(exp, "kv_memory@128k") == "kv_memory@128k [GB] (lower is better)"
    assert "[ms]" in axis_label(exp, "decode_latency@32k:a100")


@pytest.mark.parametrize(
    ("space", "arch", "texts"),
    [
        ("nb201", "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|nor_conv_3x3~2|",
         ["nor_conv_3x3", "avg_pool_3x3", "skip_connect", "in", "out"]),
        ("ecnas", "in,conv3x3,maxpool3x3,out|0-1,0-2,1-2,2-3", ["conv3x3", "maxpool3x3"]),
        ("mobile", "r192|k3e4-k5e6|k3e3-k3e3-k5e4|k7e6-k7e6|k3e4-k3e4-k3e4-k3e4|k5e6-k5e6",
         ["MB6 k7", "stage 5", "192²"]),
    ],
)  # fmt: skip
def test_drawings_are_svg_with_the_architecture(space, arch, texts):
    svg = draw(get_space(space), arch)
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    shown = [t.text for t in root.iter() if t.tag.endswith("text")]
    for t in texts:
        assert t in shown
    if space == "nb201":  # "none" edges are not drawn: five edges, five op labels
        assert (
            len([t for t in shown if t in ("nor_conv_3x3", "avg_pool_3x3", "skip_connect", "nor_conv_1x1")])
            == 5
        )


def test_hybrid_lm_drawing_is_one_box_per_layer():
    space = get_space("hybrid-lm")
    arch = space.sample(__import__("numpy").random.default_rng(3))
    svg = draw(space, space.format(arch))
    layers = space.config(arch).layers
    root = ET.fromstring(svg)
    labels = [t.text for t in root.iter() if t.tag.endswith("text")]
    assert [x for x in labels if x and x.startswith("L") and x[1:].isdigit()] == [
        f"L{i}" for i in range(len(layers))
    ]


def test_single_objective_run_has_no_pareto_histogram(tmp_path):
    out, trials = _report(tmp_path, "single", objectives=("accuracy",), budget=12, strategy="random")
    assert not (out / "pareto.png").exists()
    assert (out / "objective.png").stat().st_size > 1000
    assert "objective.png" in (out / "report.md").read_text()
    if (out / "report.html").exists():  # with the report extra: one figure of every trial, no front
        _check_in_browser(out / "report.html", trials, None)


def test_three_objectives_keep_the_third_in_the_png(tmp_path):
    out, _ = _report(
        tmp_path, "three", objectives=("accuracy", "latency@pixel3", "params"), budget=15, strategy="random"
    )
    assert (out / "pareto.png").stat().st_size > 1000


def test_report_without_plotly_says_how_to_get_it(tmp_path, monkeypatch):
    import hynas.report.html as html_mod
    import hynas.report.markdown as md_mod

    monkeypatch.setattr(md_mod, "plotly_available", lambda: False)
    monkeypatch.setattr(html_mod, "plotly_available", lambda: False)
    store = str(tmp_path / "s.db")
    hynas.search(store=store, budget=5, strategy="random")
    res = CliRunner().invoke(app, ["report", store, "--out", str(tmp_path / "r")])
    assert res.exit_code == 0, res.output
    assert "pip install 'hynas[report]'" in res.output
    assert not (tmp_path / "r" / "report.html").exists() and (tmp_path / "r" / "report.md").exists()


def _check_in_browser(html: Path, trials: list, screenshot: str | None) -> None:
    completed = sum(t.ok for t in trials)
    with headless_chromium() as browser:
        browser.open(html)
        browser.wait_for("return document.querySelectorAll('.js-plotly-plot .main-svg').length > 0")
        counts = browser.js(POINTS)
        assert counts and all(c == completed for c in counts), (counts, completed)
        assert browser.js("return document.querySelectorAll('#trials tbody tr').length") == len(trials)
        # a drawing shows (the best trial's, at first)
        assert (
            browser.js("return [...document.querySelectorAll('.drawing')].filter(d => !d.hidden).length") == 1
        )
        assert browser.js("return document.querySelector('.drawing:not([hidden]) svg').getBBox().width") > 50
        # sorting: clicking the first objective's header sorts the rows by it, twice reverses
        col = 3 if len({t.fidelity for t in trials}) == 1 else 4
        browser.click(f'#trials th[data-col="{col}"]')
        vals = [float(v) for v in browser.js(COLUMN.format(col)) if v != ""]
        assert vals == sorted(vals) and len(vals) == completed
        browser.click(f'#trials th[data-col="{col}"]')
        assert [float(v) for v in browser.js(COLUMN.format(col)) if v != ""] == sorted(vals, reverse=True)
        # clicking a row shows that trial's drawing
        last = browser.js("return document.querySelector('#trials tbody tr:last-child').dataset.n")
        browser.click("#trials tbody tr:last-child")
        assert browser.js(f"return !document.getElementById('arch-{last}').hidden")
        # self-contained: no external script, and nothing loaded from the network
        assert browser.js("return document.querySelectorAll('script[src], link[href]').length") == 0
        fetched = browser.js("return performance.getEntriesByType('resource').map(e => e.name)")
        assert all(u.startswith(("file:", "data:", "blob:")) for u in fetched), fetched
        assert browser.console_errors() == []
        browser.js("hynasSelect(document.body.dataset.initial); window.scrollTo(0, 0);")
        if (
            screenshot
        ):  # into bench/results/ on request (HYNAS_SCREENSHOTS=1), so a test run changes no tracked file
            where = RESULTS if os.environ.get("HYNAS_SCREENSHOTS") == "1" else html.parent
            browser.screenshot(where / screenshot)


def test_nb201_two_objectives_render_in_chromium(tmp_path):
    need_module("plotly", "report")
    out, trials = _report(tmp_path, "nb201", budget=60, strategy="nsga2")
    page = (out / "report.html").read_text()
    assert "true front" in page and "latency@raspi4 [ms]" in page
    _check_in_browser(out / "report.html", trials, "report_nb201.png")


@pytest.mark.slow
def test_hybrid_lm_three_objectives_render_in_chromium(tmp_path):
    need_module("plotly", "report")
    out, trials = _report(
        tmp_path,
        "lm",
        space="hybrid-lm",
        evaluator="lm-stdlib",
        evaluator_options={"steps": [2], "batch": 2},
        objectives=LM_OBJECTIVES,
        budget=12,
        strategy="random",
    )
    page = (out / "report.html").read_text()
    assert "Scatter matrix" in page and "Parallel coordinates" in page
    _check_in_browser(out / "report.html", trials, "report_hybrid_lm.png")
