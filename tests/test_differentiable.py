"""Differentiable search end to end on a tiny NB201 supernet and a Fashion-MNIST subset: every
method writes one derived architecture per epoch through the store contract; resume after an
interruption equals an uninterrupted run; α history, plot, show and report; bad input."""

from __future__ import annotations

import json

import pytest
import torch

import hynas
from cli_util import invoke_cli
from fmnist_util import need_fmnist
from hynas.core.errors import HynasError
from hynas.differentiable import METHODS
from hynas.spaces import get_space

TINY = {"train_images": 64, "val_images": 64, "eval_images": 100, "batch": 16, "steps": 2, "channels": 4}


def _search(method: str, store=None, budget: int = 2, **opts):
    return hynas.search(
        space="nb201", strategy=method, budget=budget, seed=0, objectives=("accuracy", "latency@raspi4"),
        strategy_options={**TINY, **opts}, store=store,
    )  # fmt: skip


@pytest.mark.parametrize("method", list(METHODS))
def test_every_method_stores_a_derived_cell_per_epoch(method):
    need_fmnist()
    opts = {"cost": "latency@raspi4"} if method in ("fbnet", "proxyless") else {}
    study = _search(method, **opts)
    space = get_space("nb201")
    assert [t.number for t in study] == [0, 1]
    for t in study:
        space.validate(space.parse(t.arch))  # a member of the space, in its canonical string
        assert t.ok and t.cost_s > 0
        assert 0 <= t.metrics["oneshot_val_accuracy"] <= 100
        assert 0 < t.metrics["accuracy"] <= 100 and t.metrics["latency@raspi4"] > 0  # the table's
        assert "test_accuracy" in t.hidden and "test_accuracy" not in t.metrics
    assert study.best("accuracy") is not None


@pytest.mark.slow
def test_resume_after_interruption_equals_uninterrupted(tmp_path):
    """Interrupted right after epoch 1 was stored but before its checkpoint: the resumed run trains
    epoch 1 again from epoch 0's checkpoint, finds the stored architecture and ends like a run that
    was never stopped (the same architectures and one-shot scores, bit for bit)."""
    need_fmnist()
    straight = _search("gdas", str(tmp_path / "a.db"), budget=3)

    class Stop(KeyboardInterrupt):
        pass

    def stop(rec, records):
        if rec.number == 1:
            raise Stop

    from hynas.core.experiment import ExperimentConfig
    from hynas.runners import run
    from hynas.stores import open_store
    from hynas.wiring import Experiment

    cfg = ExperimentConfig(
        space="nb201", strategy="gdas", budget=3, seed=0, objectives=("accuracy", "latency@raspi4"),
        strategy_options=TINY,
    )  # fmt: skip
    store = str(tmp_path / "b.db")
    with open_store(store) as st, pytest.raises(Stop):
        run(Experiment(cfg), st, on_trial=stop)
    ckpt = tmp_path / "b-differentiable" / "checkpoint.safetensors"
    assert ckpt.exists() and len(hynas.load(store)) == 2
    resumed = _search("gdas", store, budget=3)
    assert [(t.arch, t.metrics) for t in resumed] == [(t.arch, t.metrics) for t in straight]
    again = _search("gdas", store, budget=3)  # a finished run: nothing more to do
    assert [t.arch for t in again] == [t.arch for t in straight]


def test_alpha_history_plot_show_and_report(tmp_path):
    need_fmnist()
    store = str(tmp_path / "d.db")
    study = _search("darts", store, budget=3)
    folder = tmp_path / "d-differentiable"
    doc = json.loads((folder / "alphas.json").read_text())
    assert doc["method"] == "darts" and len(doc["slots"]) == 6
    assert [e["arch"] for e in doc["epochs"]] == [t.arch for t in study]
    for e in doc["epochs"]:
        assert all(abs(sum(p) - 1) < 1e-4 for p in e["probs"])
        assert abs(sum(e["op_mix"].values()) - 1) < 1e-4 and set(e["op_mix"]) == set(doc["choices"][0])
    assert (folder / "op_mix.png").read_bytes()[:4] == b"\x89PNG"
    code, out = invoke_cli(["show", store])
    assert code == 0 and "accuracy" in out and "|" in out
    code, out = invoke_cli(["report", store, "--out", str(tmp_path / "rep")])
    assert code == 0, out
    assert "darts" in (tmp_path / "rep" / "report.md").read_text()
    assert [t.arch for t in hynas.load(store)] == [t.arch for t in study]
    # its schedules span the epochs: another budget on the same store is refused, the store kept
    with pytest.raises(
        HynasError, match=r"budget: store has 3, this run has 4\); a differentiable search.s schedules"
    ):
        _search("darts", store, budget=4)
    assert [t.arch for t in hynas.load(store)] == [t.arch for t in study]


def test_cli_search_darts(tmp_path):
    need_fmnist()
    store = str(tmp_path / "c.db")
    args = [
        "search",
        "--space",
        "nb201",
        "--strategy",
        "pcdarts",
        "--budget",
        "2",
        "--store",
        store,
        "--json",
    ]
    for k, v in TINY.items():
        args += ["-o", f"{k}={v}"]
    code, out = invoke_cli(args)
    assert code == 0, out
    summary = json.loads(out[out.index("{") :])
    assert summary["trials"] == 2 and summary["config"]["strategy"] == "pcdarts"


def test_entropy_option_sharpens_the_architecture_weights(tmp_path):
    """The same search with ``entropy`` ends with α nearer one choice per edge than without."""
    need_fmnist()
    peak = {}
    for w in (0.0, 5.0):
        store = tmp_path / f"e{w}.db"
        _search("darts", store=str(store), budget=3, arch_lr=0.3, entropy=w)
        probs = json.loads((tmp_path / f"e{w}-differentiable" / "alphas.json").read_text())["epochs"][-1][
            "probs"
        ]
        peak[w] = sum(max(p) for p in probs) / len(probs)
    assert peak[5.0] > peak[0.0] + 0.1, peak


def test_cosine_arch_schedule_brings_alpha_to_rest_in_the_last_epoch(tmp_path):
    """With ``arch_schedule=cosine`` the architecture step shrinks with the weights' cosine, so α
    moves far less in the last epoch than with a constant rate."""
    need_fmnist()
    moves = {}
    for schedule in ("constant", "cosine"):
        _search(
            "darts", store=str(tmp_path / f"{schedule}.db"), budget=3, arch_lr=0.3, arch_schedule=schedule
        )
        epochs = json.loads((tmp_path / f"{schedule}-differentiable" / "alphas.json").read_text())["epochs"]
        last, before = epochs[2]["probs"], epochs[1]["probs"]
        moves[schedule] = sum(
            abs(x - y) for pa, pb in zip(last, before, strict=True) for x, y in zip(pa, pb, strict=True)
        )
    assert moves["cosine"] < 0.5 * moves["constant"], moves


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"space": "ecnas", "strategy": "darts"}, "does not support space 'ecnas'"),
        ({"space": "mobile", "strategy": "pcdarts"}, "does not support space 'mobile'"),
        ({"strategy_options": {"cost": "latency@nowhere"}}, "unknown cost term"),
        ({"strategy_options": {"cost": "accuracy"}}, "not a tabulated cost"),
        ({"strategy_options": {"cost": "latency@raspi4", "target": 0.01}}, "below the smallest network"),
        ({"strategy_options": {"target": 3.0}}, "target needs option cost"),
        (
            {"strategy_options": {"cost": "latency@raspi4", "target_style": "absolute"}},
            "target_style needs option target",
        ),
        (
            {"strategy_options": {"cost": "latency@raspi4", "target": 9.0, "target_style": "both"}},
            "target_style",
        ),
        ({"strategy_options": {"tau_min": -1}}, "bad option tau_min"),
        ({"strategy_options": {"entropy": -0.5}}, "bad option entropy"),
        ({"strategy_options": {"arch_schedule": "linear"}}, "arch_schedule"),
        ({"strategy_options": {"cost_estimate": "sampled"}}, "cost_estimate needs option cost"),
        ({"strategy_options": {"cost": "latency@raspi4", "cost_estimate": "mean"}}, "cost_estimate"),
        ({"strategy_options": {"cost": "latency@raspi4", "cost_samples": 1}}, "bad option cost_samples"),
        ({"strategy_options": {"bogus": 1}}, "unknown option 'bogus'"),
        ({"strategy_options": {"train_images": 10**6}}, "do not fit"),
        ({"budget": None, "budget_seconds": 100.0}, "needs --budget"),
    ],
)
def test_bad_input_is_one_clear_error(overrides, message, tmp_path):
    need_fmnist()
    kw = {"space": "nb201", "strategy": "darts", "budget": 1, "seed": 0, "store": str(tmp_path / "x.db")}
    opts = {**TINY, **overrides.pop("strategy_options", {})}
    kw.update(overrides)
    if kw["space"] != "nb201":
        kw["objectives"] = None
    with pytest.raises(HynasError, match=message) as err:
        hynas.search(strategy_options=opts, **{k: v for k, v in kw.items() if v is not None or k == "budget"})
    assert "\n" not in str(err.value)
    assert not (tmp_path / "x-differentiable").exists()


def test_cli_bad_input_exits_2_with_one_line(tmp_path):
    code, out = invoke_cli(
        [
            "search",
            "--space",
            "ecnas",
            "--strategy",
            "gdas",
            "--budget",
            "2",
            "--store",
            str(tmp_path / "e.db"),
        ]
    )
    assert code == 2 and "does not support space 'ecnas'" in out and len(out.strip().splitlines()) == 1


def test_a_differentiable_store_refuses_another_budget(tmp_path):
    need_fmnist()
    store = str(tmp_path / "b.db")
    _search("darts", store, budget=1)
    with pytest.raises(HynasError, match="budget"):
        _search("darts", store, budget=2)


def test_second_order_gradient_matches_the_unrolled_objective():
    """DARTS' second-order α gradient (finite-difference Hessian-vector product) equals the exact
    gradient of L_val(w − ξ∇_w L_train(w, α), α) on a smooth toy problem."""
    from hynas.differentiable.rules import second_order_step

    torch.manual_seed(0)
    w = torch.nn.Parameter(torch.randn(5))
    a = torch.nn.Parameter(torch.randn(5))
    m = torch.randn(5, 5)

    def lt(w_=None):
        w_ = w if w_ is None else w_
        return ((w_ - torch.tanh(a)) ** 2).sum() + (w_ @ m @ torch.sin(a))

    def lv(w_=None):
        w_ = w if w_ is None else w_
        return (torch.cos(w_) * a).sum() + (w_**2).sum() * 0.1

    xi = 0.05
    g = torch.autograd.grad(lt(), w, create_graph=True)[0]
    exact = torch.autograd.grad(lv(w - xi * g), a)[0]
    second_order_step([w], [a], lt, lv, xi, decay=0.0)
    assert torch.allclose(a.grad, exact, atol=1e-3), (a.grad, exact)
    first = torch.autograd.grad(lv(), a)[0]
    assert not torch.allclose(a.grad, first, atol=1e-3)  # the second-order term matters here


@pytest.mark.slow
def test_resume_after_sigkill_equals_uninterrupted(tmp_path):
    """A real `hynas search --strategy darts` process killed (SIGKILL) once its first epoch is
    stored; the same command then finishes, and the run equals one that was never killed."""
    import signal
    import time

    from cli_util import popen_cli, run_cli

    need_fmnist()

    def args(store):
        out = [
            "search",
            "--space",
            "nb201",
            "--strategy",
            "darts",
            "--budget",
            "3",
            "--store",
            store,
            "--quiet",
        ]
        for k, v in TINY.items():
            out += ["-o", f"{k}={v}"]
        return out

    straight, killed = str(tmp_path / "s.db"), str(tmp_path / "k.db")
    assert run_cli(*args(straight)).returncode == 0
    proc = popen_cli(*args(killed))
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if len(hynas.load(killed)) >= 1:
                break
        except HynasError:
            pass  # not created yet
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert len(hynas.load(killed)) < 3
    r = run_cli(*args(killed))
    assert r.returncode == 0, r.stderr
    want = [(t.arch, t.metrics) for t in hynas.load(straight)]
    assert [(t.arch, t.metrics) for t in hynas.load(killed)] == want
