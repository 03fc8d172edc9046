"""``hynas export-optuna``: a hynas run as an Optuna study that Optuna's own tools read back."""

from __future__ import annotations

import optuna
import pytest

import hynas
from cli_util import run_cli
from extras import need_module
from hynas.core.errors import HynasError
from hynas.core.objectives import parse_constraint
from hynas.report.optuna_study import constraint_value


@pytest.fixture(scope="module")
def run_store(tmp_path_factory):
    store = str(tmp_path_factory.mktemp("run") / "nsga.db")
    hynas.search(store=store, strategy="nsga2", budget=60, constraints=("latency@pixel3 <= 12",))
    return store


def test_every_trial_objective_and_constraint_reaches_optuna(run_store, tmp_path):
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    r = run_cli("export-optuna", run_store, storage)
    assert r.returncode == 0, r.stderr
    assert "wrote 60 trials" in r.stdout and "optuna-dashboard" in r.stdout
    ours = hynas.load(run_store)
    theirs = optuna.load_study(study_name="nsga", storage=storage)
    assert [d.name for d in theirs.directions] == ["MAXIMIZE", "MINIMIZE"]
    assert theirs.metric_names == ["accuracy", "latency@raspi4"]
    assert theirs.user_attrs["constraints"] == ["latency@pixel3 <= 12"]
    trials = theirs.get_trials()
    assert len(trials) == 60
    for t, rec in zip(trials, ours, strict=True):
        assert t.user_attrs["arch"] == rec.arch and t.user_attrs["hynas_number"] == rec.number
        assert t.values == [rec.metrics["accuracy"], rec.metrics["latency@raspi4"]]
        assert len(t.params) == len(ours.experiment.space.dims)
        assert (t.constraints["0"] <= 0) == (rec.metrics["latency@pixel3"] <= 12)
    # Optuna's constrained Pareto front is hynas's front
    assert sorted(t.user_attrs["hynas_number"] for t in theirs.best_trials) == sorted(
        t.number for t in ours.front()
    )


def test_optuna_visualization_plots_the_exported_front(run_store, tmp_path):
    need_module("plotly", "report")  # optuna.visualization draws with plotly
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    study = hynas.load(run_store).to_optuna(storage)
    fig = optuna.visualization.plot_pareto_front(study)
    plotted = sum(len(trace.x) for trace in fig.data if trace.x is not None)
    assert plotted == 60


@pytest.mark.parametrize(
    ("text", "value", "feasible"),
    [
        ("m <= 10", 9.0, True),
        ("m <= 10", 10.0, True),
        ("m < 10", 10.0, False),
        ("m >= 2", 1.0, False),
        ("m > 2", 3.0, True),
    ],
)
def test_constraint_values_follow_optunas_sign_convention(text, value, feasible):
    c = parse_constraint(text)
    assert (constraint_value(c, value) <= 0) == feasible == (c.violation(value) == 0)


def test_an_existing_study_is_refused_and_left_alone(run_store, tmp_path):
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    hynas.load(run_store).to_optuna(storage, "mine")
    r = run_cli("export-optuna", run_store, storage, "--study-name", "mine")
    assert r.returncode == 2 and "already holds a study 'mine'" in r.stderr and "Traceback" not in r.stderr
    assert len(optuna.load_study(study_name="mine", storage=storage).trials) == 60
    with pytest.raises(HynasError, match="cannot open Optuna storage"):
        hynas.load(run_store).to_optuna("nosuchdb://x")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_dashboard(storage: str):
    """optuna-dashboard on a free localhost port, in its own process; yields its base URL."""
    import subprocess
    import sys
    import time
    import urllib.request

    port = _free_port()
    code = f"import optuna_dashboard as d; d.run_server({storage!r}, host='127.0.0.1', port={port})"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/studies", timeout=5).read()
            return proc, url
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(f"optuna-dashboard did not start: {proc.stderr.read()!r}") from None  # type: ignore[union-attr]
            time.sleep(0.5)


@pytest.mark.slow
def test_optuna_dashboard_lists_300_trials_and_hynas_front(tmp_path):
    import json
    import urllib.request

    need_module("optuna_dashboard", "dashboard")
    store = str(tmp_path / "run300.db")
    ours = hynas.search(store=store, strategy="nsga2", budget=300, constraints=("latency@pixel3 <= 12",))
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    assert run_cli("export-optuna", store, storage).returncode == 0
    proc, url = serve_dashboard(storage)
    try:
        studies = json.loads(urllib.request.urlopen(f"{url}/api/studies", timeout=60).read())[
            "study_summaries"
        ]
        (sid,) = [s["study_id"] for s in studies if s["study_name"] == "run300"]
        detail = json.loads(urllib.request.urlopen(f"{url}/api/studies/{sid}", timeout=120).read())
        # and the page itself, in headless Chromium: the dashboard lists the 300 trials
        from browser import headless_chromium

        with headless_chromium() as b:
            b.open(f"{url}/dashboard/studies/{sid}/trials", wait_s=60)
            b.wait_for("return document.body.innerText.includes('300 Trials')", timeout_s=120)
            assert "Trial 0" in b.js("return document.body.innerText")  # the list shows a page at a time
            assert b.console_errors() == []
    finally:
        proc.kill()
    served = detail["trials"]
    assert len(served) == 300 and all(t["state"] == "Complete" for t in served)
    # the front of what the dashboard serves (values and constraint values, its directions) is
    # hynas's constrained front; the dashboard's own "best_trials" list ignores constraints, its
    # Pareto-front plot marks infeasible trials apart
    import numpy as np

    from hynas.core.pareto import pareto_mask

    feasible = [t for t in served if all(float(c) <= 0 for c in t["constraints"])]
    signs = np.array([-1.0 if d == "maximize" else 1.0 for d in detail["directions"]])
    mask = pareto_mask(np.array([t["values"] for t in feasible], dtype=float) * signs)
    shown = sorted(t["number"] for t, m in zip(feasible, mask, strict=True) if m)
    assert shown == sorted(t.number for t in ours.front())
