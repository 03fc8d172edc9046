"""Fake installed distributions for plug-in tests: a ``.dist-info`` folder with an
``entry_points.txt`` is all ``importlib.metadata`` needs to find an entry point on ``sys.path``."""

from __future__ import annotations

import os
from pathlib import Path


def fake_dist(site: Path, dist: str, entry_points: dict[str, str], modules: dict[str, str]) -> None:
    """Write distribution ``dist`` into folder ``site``: its entry points of group ``hynas.plugins``
    (name -> ``module[:callable]``) and its modules (file name -> source)."""
    info = site / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    eps = "".join(f"{k} = {v}\n" for k, v in entry_points.items())
    (info / "entry_points.txt").write_text(f"[hynas.plugins]\n{eps}")
    for name, source in modules.items():
        (site / name).write_text(source)


def env_with(*paths: Path) -> dict[str, str]:
    """The environment with ``paths`` in front of ``PYTHONPATH``."""
    old = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PYTHONPATH": os.pathsep.join([*map(str, paths), *([old] if old else [])])}
