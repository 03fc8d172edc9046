"""The example plug-in of ``docs/extending.md`` (``examples/hynas-example-plugin``), installed with
pip as a user would (offline: no dependencies, no build isolation) into a folder on ``PYTHONPATH``:
its space and evaluator appear in ``hynas list``, and ``hynas search`` on its space runs end to end
into a store that ``hynas show`` reads back."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cli_util import HYNAS
from plugin_util import env_with, fake_dist

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "hynas-example-plugin"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("setuptools", reason="installing the example builds it with setuptools")
    target = tmp_path_factory.mktemp("site")
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index"]
    # build in a copy: setuptools writes build/ and *.egg-info next to the sources
    src = tmp_path_factory.mktemp("src") / EXAMPLE.name
    subprocess.run(["cp", "-r", str(EXAMPLE), str(src)], check=True)
    r = subprocess.run([*pip, "--target", str(target), str(src)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return target


def _hynas(*args: str, cwd: Path, sites: tuple[Path, ...]) -> subprocess.CompletedProcess:
    """``hynas ARGS`` with the folders ``sites`` (installed packages) on ``PYTHONPATH``."""
    return subprocess.run(
        [*HYNAS, *args], capture_output=True, text=True, timeout=300, env=env_with(*sites), cwd=cwd
    )


def test_example_plugin_is_listed(site: Path, tmp_path: Path) -> None:
    spaces = _hynas("list", "spaces", cwd=tmp_path, sites=(site,))
    assert spaces.returncode == 0 and spaces.stderr == "", spaces.stderr
    row = next(ln for ln in spaces.stdout.splitlines() if "toy-mlp" in ln)
    assert "36" in row and "hynas-example-plugin" in row
    evaluators = _hynas("list", "evaluators", cwd=tmp_path, sites=(site,))
    assert "toy-mlp-moons" in evaluators.stdout and "hynas-example-plugin" in evaluators.stdout
    objectives = _hynas("list", "objectives", cwd=tmp_path, sites=(site,))
    lines = objectives.stdout.splitlines()
    assert any("toy-mlp-moons" in ln and "accuracy" in ln for ln in lines)
    assert any("depth" in ln and "hynas-example-plugin" in ln for ln in lines)  # the plug-in's cost model


def test_example_plugin_searches_into_a_store(site: Path, tmp_path: Path) -> None:
    store = str(tmp_path / "toy.db")
    args = ("search", "--space", "toy-mlp", "--strategy", "nsga2", "--budget", "6", "--seed", "1",
            "--objective", "accuracy", "--objective", "depth")  # fmt: skip
    r = _hynas(*args, "--store", store, cwd=tmp_path, sites=(site,))
    assert r.returncode == 0, r.stderr
    shown = _hynas("show", store, "--json", cwd=tmp_path, sites=(site,))
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["config"]["space"] == "toy-mlp" and data["config"]["evaluator"] is None
    trials = data["trials"]
    assert len(trials) == 6 and all(t["status"] == "completed" for t in trials)
    assert all(40 <= t["metrics"]["accuracy"] <= 100 for t in trials)
    # depth comes from the plug-in's cost model: the LAYERS of "LAYERSxWIDTH-ACTIVATION"
    assert all(t["metrics"]["depth"] == int(t["arch"].split("x")[0]) for t in trials)
    assert all(t["arch"].split("-")[1] in ("relu", "tanh", "gelu") for t in trials)
    # the evaluator is deterministic under the seed: a second store gets the same numbers
    again = _hynas(*args, "--store", str(tmp_path / "again.db"), cwd=tmp_path, sites=(site,))
    assert again.returncode == 0, again.stderr
    trials2 = json.loads(
        _hynas("show", str(tmp_path / "again.db"), "--json", cwd=tmp_path, sites=(site,)).stdout
    )["trials"]
    assert [(t["arch"], t["metrics"]) for t in trials2] == [(t["arch"], t["metrics"]) for t in trials]


def test_a_broken_plugin_next_to_it_is_one_warning(site: Path, tmp_path: Path) -> None:
    """A plug-in whose dependency is missing is skipped with one line; the example still works."""
    broken = tmp_path / "broken"
    fake_dist(broken, "hynas-broken", {"needs-numpy2": "needs_dep"}, {"needs_dep.py": "import numpy_three\n"})
    r = _hynas("list", "spaces", cwd=tmp_path, sites=(site, broken))
    assert r.returncode == 0 and "toy-mlp" in r.stdout and "nb201" in r.stdout
    assert r.stderr.splitlines() == [
        "warning: hynas plug-in 'needs-numpy2' from 'hynas-broken' failed to load and is skipped: "
        "ModuleNotFoundError: No module named 'numpy_three'"
    ]


def test_without_the_plugin_its_space_is_unknown(tmp_path: Path) -> None:
    r = subprocess.run([*HYNAS, "search", "--space", "toy-mlp", "--store", str(tmp_path / "x.db")],
                       capture_output=True, text=True, timeout=120)  # fmt: skip
    assert r.returncode == 2 and "unknown space 'toy-mlp'" in r.stderr
