from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from cli_util import run_cli
from fmnist_util import need_fmnist
from hynas.cli import app, main


def _hynas(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return run_cli(*args, cwd=cwd)


def test_search_show_report_round_trip(tmp_path):
    store = str(tmp_path / "s.db")
    r = _hynas("search", "--budget", "60", "--store", store, "--json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["trials"] == 60 and summary["config"]["strategy"] == "nsga2"
    assert 0 < summary["hypervolume_ratio"] <= 1
    assert summary["front"] and all("hidden:test_accuracy" in row for row in summary["front"])
    shown = json.loads(_hynas("show", store, "--json").stdout)
    assert len(shown["trials"]) == 60
    front = json.loads(_hynas("show", store, "--json", "--front").stdout)
    assert len(front["trials"]) == len(summary["front"])
    table = _hynas("show", store)
    assert table.returncode == 0 and "accuracy" in table.stdout
    out = tmp_path / "rep"
    r = _hynas("report", store, "--out", str(out))
    assert r.returncode == 0, r.stderr
    for name in ("pareto.png", "anytime.png", "report.md"):
        assert (out / name).stat().st_size > 1000
    md = (out / "report.md").read_text()
    assert "hypervolume ratio to the true front" in md and "reference point" in md


def test_search_ecnas_energy_show_report(tmp_path):
    """EC-NAS-Bench end to end: accuracy × energy@ecnas (the space's defaults), then the same with
    explicit --objective flags and a constraint; show and report read the store."""
    store = str(tmp_path / "e.db")
    r = _hynas("search", "--space", "ecnas", "--budget", "30", "--store", store, "--json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["trials"] == 30 and summary["config"]["objectives"] == ["accuracy", "energy@ecnas"]
    assert summary["config"]["dataset"] == "cifar10"
    assert 0 < summary["hypervolume_ratio"] <= 1
    assert summary["front"] and all("hidden:test_accuracy" in row for row in summary["front"])
    front = json.loads(_hynas("show", store, "--json", "--front").stdout)
    assert len(front["trials"]) == len(summary["front"])
    for t in front["trials"]:
        assert 0.004 < t["metrics"]["energy@ecnas"] < 0.06 and t["arch"].startswith("in,")
    out = tmp_path / "rep"
    r = _hynas("report", store, "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "energy@ecnas" in (out / "report.md").read_text()
    store2 = str(tmp_path / "f.db")
    r = _hynas(
        "search", "--space", "ecnas", "--objective", "accuracy", "--objective", "energy@ecnas",
        "--objective", "flops", "--constraint", "energy@ecnas <= 0.02", "--budget", "20",
        "--store", store2, "--quiet",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    shown = json.loads(_hynas("show", store2, "--json").stdout)
    assert len(shown["trials"]) == 20 and all("flops" in t["metrics"] for t in shown["trials"])
    assert "Pareto front" in r.stdout


def test_search_default_runs_with_no_arguments(tmp_path):
    r = _hynas("search", "--quiet", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "hynas-runs" / "nb201_cifar10_nsga2_seed0.db").exists()
    assert "Pareto front" in r.stdout and "ratio to true front" in r.stdout
    again = _hynas("search", "--quiet", cwd=tmp_path)  # resumes: budget already spent
    assert again.returncode == 0 and "300 trials" in again.stdout


def test_config_file(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        'strategy = "rea"\nobjectives = ["accuracy"]\nbudget = 20\ndataset = "cifar100"\n'
        "[strategy_options]\npopulation = 5\n"
    )
    r = _hynas("search", "--config", str(cfg), "--store", str(tmp_path / "c.db"), "--json")
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert s["config"]["strategy_options"] == {"population": 5} and s["config"]["dataset"] == "cifar100"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["search", "--space", "nope"], "unknown space 'nope'"),
        (["search", "--strategy", "nope"], "valid strategies: "),
        (["search", "--objective", "latency@toaster"], "unknown objective 'latency@toaster'"),
        (["search", "--constraint", "latency@raspi4 << 5"], "malformed constraint"),
        (["search", "--budget", "0"], "bad budget"),
        (["search", "--budget", "-3"], "bad budget"),
        (["search", "--dataset", "mnist"], "valid datasets"),
        (["search", "--strategy", "rea"], "handles 1 objective"),
        (["search", "-o", "population"], "expected KEY=VALUE"),
        (
            ["search", "-s", "rea", "--objective", "accuracy", "-o", "bogus=1"],
            "unknown option 'bogus' for strategy 'rea'; valid options: population",
        ),
        (["search", "--config", "/nonexistent.toml"], "not found"),
        (["list", "toasters"], "unknown list"),
        (["search", "--objective", "energy@ecnas"], "search with --space ecnas"),
        (
            ["search", "--space", "ecnas", "--objective", "energy@gpu"],
            "valid energy objectives: energy@ecnas",
        ),
        (["search", "--space", "ecnas", "--dataset", "cifar100"], "valid datasets: cifar10"),
    ],
)
def test_user_errors_are_one_line_without_traceback(args, message, tmp_path):
    r = _hynas(*args, "--store", str(tmp_path / "x.db")) if args[0] == "search" else _hynas(*args)
    assert r.returncode == 2
    assert message in r.stderr
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout
    assert not (tmp_path / "x.db").exists()  # nothing written on bad input


@pytest.mark.parametrize("content", [b"not a database at all", b"SQLite format 3\x00" + b"\x00" * 200])
def test_corrupt_or_foreign_store_for_show_and_report(tmp_path, content):
    bad = tmp_path / "bad.db"
    bad.write_bytes(content)
    for cmd in ("show", "report"):
        r = _hynas(cmd, str(bad))
        assert r.returncode == 2 and "Traceback" not in r.stderr
        assert "not a hynas store" in r.stderr or "corrupt" in r.stderr
    assert bad.read_bytes() == content


def test_bad_toml_config(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("strategy = [unclosed")
    r = _hynas("search", "--config", str(cfg))
    assert r.returncode == 2 and "not valid TOML" in r.stderr
    cfg.write_text('stratgy = "rea"\n')
    r = _hynas("search", "--config", str(cfg))
    assert r.returncode == 2 and "unknown config key(s) stratgy" in r.stderr


def test_list_shows_every_section():
    r = _hynas("list")
    assert r.returncode == 0
    for word in (
        "spaces",
        "strategies",
        "objectives",
        "devices",
        "nb201",
        "nsga2",
        "latency@raspi4",
        "raspi4",
    ):
        assert word in r.stdout


def test_main_is_importable():
    assert callable(main) and app.info.name == "hynas"


def test_search_mobile_trains_on_fashion_mnist_then_show(tmp_path):
    """`hynas search --space mobile` trains each network (here 3 steps at 16-28 px) on Fashion-MNIST."""
    need_fmnist()
    store = str(tmp_path / "mobile.db")
    r = _hynas(
        "search", "--space", "mobile", "--dataset", "fashion-mnist",
        "--objective", "accuracy", "--objective", "latency@roofline:raspi4",
        "--evaluator-option", "steps=[3]", "--evaluator-option", "resolution_scale=0.125",
        "--evaluator-option", "eval_images=100", "--evaluator-option", "bn_images=50",
        "--budget", "3", "--store", store, "--json",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["trials"] == 3 and summary["failed"] == 0
    assert summary["front"] and all("hidden:test_accuracy" in row for row in summary["front"])
    shown = json.loads(_hynas("show", store, "--json").stdout)
    assert shown["config"]["space"] == "mobile" and len(shown["trials"]) == 3
    for t in shown["trials"]:
        assert t["status"] == "completed" and t["cost_s"] > 0
        assert 0 <= t["metrics"]["accuracy"] <= 100 and t["metrics"]["latency@roofline:raspi4"] > 0
        assert "test_accuracy" in t["hidden"] and "test_accuracy" not in t["metrics"]
    table = CliRunner().invoke(app, ["show", store])  # in-process: no second torch start-up
    assert table.exit_code == 0 and "accuracy" in table.output and "complet" in table.output


def test_show_multifidelity_run_has_fidelity_and_whole_architectures(tmp_path):
    """Piped `hynas show` keeps architecture strings whole, and a multi-fidelity run shows the
    fidelity of each query."""
    store = str(tmp_path / "hb.db")
    r = CliRunner().invoke(
        app,
        ["search", "--strategy", "hyperband", "--objective", "accuracy", "--budget", "12", "--store", store],
    )
    assert r.exit_code == 0, r.output
    table = CliRunner().invoke(app, ["show", store])
    assert table.exit_code == 0, table.output
    header = next(line for line in table.output.splitlines() if "architecture" in line)
    assert "fidelity" in header
    lines = table.output.splitlines()
    assert any(" 12 " in ln for ln in lines) and any(" 200 " in ln for ln in lines)
    # one whole NB201 cell string on a line, not folded over several
    assert any(re.search(r"\|[a-z_0-9]+~0\|\+\|.*~2\|", ln) for ln in lines)


def test_search_with_zero_cost_warm_start(tmp_path):
    """`-o warm_start=naswot@nb201` reaches BANANAS from the command line; `hynas list objectives`
    names the tabulated proxy; a proxy of another space is one error naming the fix."""
    store = str(tmp_path / "w.db")
    args = ["search", "--strategy", "bananas", "--objective", "accuracy", "--budget", "12", "--store", store]
    r = CliRunner().invoke(app, [*args, "-o", "warm_start=naswot@nb201", "-o", "warm_pool=200", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["config"]["strategy_options"]["warm_start"] == "naswot@nb201"
    listed = CliRunner().invoke(app, ["list", "objectives"], env={"COLUMNS": "250"})
    row = next(ln for ln in listed.output.splitlines() if "naswot@nb201" in ln)
    assert "max" in row  # larger is better, like every zero-cost proxy
    bad = _hynas(
        "search", "--space", "ecnas", "--strategy", "bananas", "--objective", "accuracy",
        "--budget", "3", "--store", str(tmp_path / "x.db"), "-o", "warm_start=naswot@nb201",
    )  # fmt: skip
    assert bad.returncode != 0 and "zc@naswot" in bad.stderr and "Traceback" not in bad.stderr


def test_cli_start_up_imports_neither_torch_nor_sklearn():
    """Plugins (cost models, `hynas predictor`, zero-cost proxies) register without importing the
    heavy libraries, so `hynas list` and error exits start in well under a second of imports."""
    code = (
        "import sys; import hynas.cli; from hynas import plugins; plugins.load(); "
        "from hynas.core.metrics import resolve_cost_model; from hynas.spaces import get_space; "
        "resolve_cost_model('zc@naswot', get_space('nb201')); "
        "print(sorted(m for m in ('torch', 'sklearn') if m in sys.modules))"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"
