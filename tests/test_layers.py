"""Layers point down: core loads nothing above it, cost models load no CLI, and the names that moved
(``Experiment`` to ``hynas.wiring``) still work where users import them. The static contract is
``[tool.importlinter]`` in pyproject.toml (``lint-imports``); these check what runs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def _modules_after(code: str) -> list[str]:
    """The hynas/typer/rich modules loaded in a fresh interpreter after running ``code``."""
    probe = (
        f"{code}\nimport json, sys\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('hynas', 'typer', 'rich'))))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.splitlines()[-1])


def test_importing_core_loads_nothing_above_it() -> None:
    mods = _modules_after(
        "import hynas.core.arch, hynas.core.experiment, hynas.core.metrics, hynas.core.strategy, "
        "hynas.core.space, hynas.core.store, hynas.core.pareto, hynas.core.registry"
    )
    above = [m for m in mods if m != "hynas" and not m.startswith("hynas.core")]
    assert above == []


def test_cost_models_load_no_cli() -> None:
    """Resolving a cost model loads the cost-model modules but no command line (typer, rich)."""
    mods = _modules_after(
        "import hynas\nfrom hynas.core.metrics import resolve_cost_model\nfrom hynas.spaces import get_space\n"
        "assert resolve_cost_model('latency@roofline:raspi4', get_space('nb201')) is not None"
    )
    assert "hynas.hw" in mods
    assert [m for m in mods if m.split(".")[0] in ("typer", "rich") or m.startswith("hynas.cli")] == []


def test_str_arch_and_config_defaults_come_from_the_plugin_layers() -> None:
    """Core asks the wiring module for a space (``str(arch)``) and a space's defaults."""
    from hynas.core.arch import Architecture
    from hynas.core.experiment import ExperimentConfig
    from hynas.spaces import get_space

    sp = get_space("nb201")
    arch = Architecture("nb201", (0, 1, 2, 3, 4, 0))
    assert str(arch) == sp.format(arch)
    assert sp.parse(str(arch)) == arch
    cfg = ExperimentConfig(space="mobile")
    assert (cfg.dataset, cfg.objectives) == ("fashion-mnist", ("accuracy", "latency@roofline:raspi4"))


def test_experiment_import_paths() -> None:
    import hynas
    import hynas.core.experiment as core_experiment
    from hynas.wiring import Experiment

    assert hynas.Experiment is Experiment
    with pytest.warns(DeprecationWarning, match="hynas.wiring"):
        assert core_experiment.Experiment is Experiment
    with pytest.raises(AttributeError):
        _ = core_experiment.NoSuchName  # type: ignore[attr-defined]
