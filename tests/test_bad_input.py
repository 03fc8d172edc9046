"""Bad input: strategy options against their declared schema, config/TOML types, seeds, flags,
constraints, lookup-table paths and fits. Every case is one clear line and exit 2, nothing written."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import hynas
from cli_util import run_cli
from hynas.cli import app
from hynas.core.errors import HynasError
from hynas.core.experiment import ExperimentConfig
from hynas.strategies import STRATEGIES, option_schema
from hynas.wiring import Experiment

SEARCH = ["search", "--objective", "accuracy", "--budget", "3", "-q"]


def cli(args: list[str], cwd: Path) -> tuple[int, str]:
    """In-process CLI as ``main`` runs it: a HynasError is one line and exit 2."""
    here = os.getcwd()
    os.chdir(cwd)
    try:
        r = CliRunner().invoke(app, args, catch_exceptions=True)
    finally:
        os.chdir(here)
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        if isinstance(r.exception, HynasError):
            return 2, f"error: {r.exception}"
        raise AssertionError(f"traceback for {args}: {r.exception!r}") from r.exception
    return r.exit_code, r.output


def _ctor(name: str) -> inspect.Signature:
    from hynas.strategies import _CLASSES

    return inspect.signature(_CLASSES[name].__init__)


@pytest.mark.parametrize("name", STRATEGIES.names())
def test_every_strategy_declares_its_constructor_options(name):
    """One schema per strategy: the constructor's parameters, with the same defaults."""
    params = {
        p.name: p
        for p in _ctor(name).parameters.values()
        if p.name not in ("self", "method", "sampler") and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    }
    schema = {o.name: o for o in option_schema(name)}
    assert set(params) <= set(schema)
    for key, p in params.items():
        default = schema[key].default
        assert default == p.default or (default is None and p.default is None), (name, key)
        if default is not None:
            assert schema[key].valid(default), (name, key)
        assert schema[key].describe() and schema[key].help


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["-s", "rea", "-o", "population=abc"], "bad option population='abc' for strategy 'rea'"),
        (["-s", "rea", "-o", "sample_size=0"], "sample_size=0"),
        (["-s", "rea", "-o", "population=0"], "whole number in [1, 1,000,000]"),
        (["-s", "rea", "-o", "population=-5"], "population=-5"),
        (["-s", "rea", "-o", "population=1.5"], "population=1.5"),
        (["-s", "nsga2", "-o", "mutation=abc"], "mutation='abc'"),
        (["-s", "nsga2", "-o", "mutation=-1"], "in [0, 1]"),
        (["-s", "nsga2", "-o", "crossover=2"], "crossover=2"),
        (["-s", "nsga2", "-o", "crossover=nan"], "crossover=nan"),
        (["-s", "reinforce", "-o", "lr=inf"], "lr=inf"),
        (["-s", "hyperband", "-o", "method=sh"], "unknown option 'method' for strategy 'hyperband'"),
        (["-s", "rea", "-o", "populaton=5"], "did you mean 'population'?); valid options: population"),
        (["-s", "dartz"], "(did you mean 'darts'?); valid strategies: bananas,"),
        (["-s", "reaa"], "differentiable methods: darts, darts2, pcdarts, gdas, fbnet, proxyless"),
        (["-s", "optuna-tpe", "-o", "n_startup_trials=-1"], "n_startup_trials=-1"),
        (["-s", "random", "--trial-delay", "-1"], "bad --trial-delay"),
        (["-s", "random", "--trial-delay", "nan"], "bad --trial-delay"),
        (["-s", "random", "--trial-delay", "inf"], "bad --trial-delay"),
        (["-s", "optuna-tpe", "--seed", str(2**64)], "from 0 to 4294967295"),
        (["-s", "random", "--seed", str(2**32)], "bad seed"),
    ],
)
def test_bad_options_and_flags_are_one_line_and_write_nothing(args, needle, tmp_path):
    code, out = cli([*SEARCH, "--store", "s.db", *args], tmp_path)
    assert code == 2 and needle in out and "\n" not in out.strip(), out
    assert list(tmp_path.iterdir()) == []


def test_a_refused_option_is_not_stored_and_the_corrected_run_succeeds(tmp_path):
    code, _ = cli([*SEARCH, "-s", "rea", "-o", "population=abc", "--store", "s.db"], tmp_path)
    assert code == 2 and not (tmp_path / "s.db").exists()
    code, out = cli([*SEARCH, "-s", "rea", "-o", "population=5", "--store", "s.db"], tmp_path)
    assert code == 0, out


def test_seeds_are_32_bit_so_that_every_strategy_takes_them():
    with pytest.raises(HynasError, match="from 0 to 4294967295"):
        ExperimentConfig(strategy="optuna-tpe", objectives=("accuracy",), seed=2**32)
    recs = hynas.search(strategy="optuna-tpe", objectives=("accuracy",), budget=2, seed=2**32 - 1)
    assert len(recs) == 2


@pytest.mark.parametrize(
    ("toml", "needle"),
    [
        ("store = 5", "store = 5: it must be a file path"),
        ('store = ""', "store = ''"),
        ('budget = "3"', "bad budget '3'"),
        ("budget_seconds = true", "bad budget_seconds True"),
        ('objectives = "accuracy"', "it must be a list of names"),
        ("objectives = [1]", "objectives = [1]"),
        ("seed = -1", "bad seed -1"),
        ('evaluator = ""', "bad config value evaluator = ''"),
        ("seed = 1.5", "bad seed 1.5"),
        ('strategy_options = "population=5"', "strategy_options"),
        ("a = " + "[" * 10_000 + "]" * 10_000, "nested too deeply"),
    ],
)
def test_toml_values_of_the_wrong_type_are_one_line(toml, needle, tmp_path):
    (tmp_path / "c.toml").write_text(toml + "\n")
    code, out = cli(["search", "-c", "c.toml", "-q"], tmp_path)
    assert code == 2 and needle in out and "\n" not in out.strip(), out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.toml"]


def test_an_objectives_string_is_refused_not_split_into_letters():
    with pytest.raises(HynasError, match=r"objectives=\['accuracy'\]"):
        hynas.search(objectives="accuracy", budget=2)
    with pytest.raises(HynasError, match="constraints"):
        ExperimentConfig(objectives=("accuracy",), constraints="latency@raspi4 <= 5")  # type: ignore[arg-type]


def _fake_lut(path: Path, overhead_s: float = 1e-4) -> None:
    from hynas.hw.analytic import arch_ops
    from hynas.hw.lut import LatencyTable, covering_archs

    keys = {f"{o.kind}|{o.shape}" for a in covering_archs("nb201") for o in arch_ops(a)}
    LatencyTable("nb201", "torch", 1, 1, dict.fromkeys(keys, 1e-4), overhead_s=overhead_s).save(path)


def test_lut_paths_with_slashes_are_objectives(tmp_path, monkeypatch):
    _fake_lut(tmp_path / "runs" / "lut.json")
    monkeypatch.chdir(tmp_path)
    for name in ("latency@lut:runs/lut.json", f"latency@lut:{tmp_path / 'runs' / 'lut.json'}"):
        exp = Experiment(ExperimentConfig(strategy="random", objectives=("accuracy", name), budget=2))
        arch = exp.space.sample(np.random.default_rng(0))
        assert exp.cost_models[name](arch) > 0


def test_a_lut_fit_on_too_few_networks_is_refused(tmp_path):
    from hynas.hw.lut import LatencyTable, build_lut

    table = LatencyTable("nb201", "torch", 1, 1, {})
    with pytest.raises(HynasError, match="at least 3 measured networks"):
        table.fit_overhead([1e-3, 2e-3], [1e-3, 5e-3])  # exact line: -3 ms overhead
    with pytest.raises(HynasError, match="n_fit must be >= 3"):
        build_lut("nb201", n_fit=2)
    with pytest.raises(HynasError, match="latency <= 0"):
        table.fit_overhead([1e-3, 2e-3, 3e-3], [1e-6, 1e-6, 9e-3])
    _fake_lut(tmp_path / "neg.json", overhead_s=-1.0)  # a table whose fit goes negative
    exp_name = f"latency@lut:{tmp_path / 'neg.json'}"
    exp = Experiment(ExperimentConfig(strategy="random", objectives=("accuracy", exp_name), budget=2))
    with pytest.raises(HynasError, match="is unreliable; rebuild it with more fit networks"):
        exp.cost_models[exp_name](exp.space.sample(np.random.default_rng(0)))


def test_report_out_must_be_a_folder(tmp_path):
    hynas.search(strategy="random", objectives=("accuracy",), budget=3, store=str(tmp_path / "s.db"))
    (tmp_path / "f").write_text("keep")
    for out in ("f", "f/sub"):
        code, msg = cli(["report", "s.db", "--out", out], tmp_path)
        assert code == 2 and "is an existing file, not a folder" in msg and "\n" not in msg.strip()
    assert (tmp_path / "f").read_text() == "keep"


def test_list_strategies_options_shows_the_schema(tmp_path):
    code, out = cli(["list", "strategies", "--options"], tmp_path)
    assert code == 0
    assert "sample_size" in out and "bandwidth_factor" in out and "n_startup_trials" in out


def _hynas(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return run_cli(*args, cwd=cwd)


def test_real_process_errors_keep_brackets_and_write_nothing(tmp_path):
    """Errors are printed as text, not rich markup: ``hynas[ray]`` keeps its brackets."""
    (tmp_path / "c.toml").write_text('store = "s.db"\n[strategy_options]\npopulation = "[bold]x"\n')
    r = _hynas("search", "-c", "c.toml", "-s", "rea", "--objective", "accuracy", cwd=tmp_path)
    assert r.returncode == 2 and "population='[bold]x'" in r.stderr and "Traceback" not in r.stderr
    if not any((Path(p) / "ray").exists() for p in sys.path if p):
        r = _hynas("search", "--runner", "ray", "--store", "r.db", cwd=tmp_path)
        assert r.returncode == 2 and "pip install 'hynas[ray]'" in r.stderr, r.stderr
    r = _hynas("search", "--strategy", "rea", "-o", "population=0", "--store", "s.db", cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.toml"]


def test_usage_errors_are_one_line_exit_2_and_write_nothing(tmp_path):
    """A flag's value of the wrong type, an unknown flag or command, a missing argument: one line
    naming the flag and the help to read, exit 2 (typer's default is a box of several lines)."""
    cases = [
        (("search", "--budget", "abc", "--store", "s.db"), "--budget"),
        (("search", "--seed", "1.5", "--store", "s.db"), "--seed"),
        (("search", "--bogus"), "--bogus"),
        (("show",), "store"),
        (("nope",), "nope"),
    ]
    for args, needle in cases:
        r = _hynas(*args, cwd=tmp_path)
        lines = r.stderr.splitlines()
        assert r.returncode == 2 and len(lines) == 1, (args, r.stderr)
        assert needle in lines[0] and "--help" in lines[0] and "Traceback" not in r.stderr
    assert list(tmp_path.iterdir()) == []
    assert _hynas("--help", cwd=tmp_path).returncode == 0
