"""Checks of command-line settings that are not ExperimentConfig fields (``hynas search`` flags,
``hynas report --out``): one clear :class:`HynasError` before anything is written."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from hynas.core.errors import HynasError

__all__ = ["check_out_dir", "check_search_flags"]

#: the type of each search setting that is not an ExperimentConfig field
_CLI_KEYS = {"store": "a file path or a store URL (a string)"}


def check_search_flags(data: dict[str, Any], trial_delay: float, runner: str = "sequential") -> None:
    """Settings checked here rather than in ExperimentConfig (one clear error, nothing written)."""
    if runner == "ray":
        import importlib.util

        if importlib.util.find_spec("ray") is None:  # refused before the store is created
            raise HynasError("the Ray runner needs Ray: pip install 'hynas[ray]'")
    store = data.get("store")
    if store is not None and (not isinstance(store, str) or not store.strip()):
        raise HynasError(f"bad config value store = {store!r}: it must be {_CLI_KEYS['store']}")
    if not (math.isfinite(trial_delay) and trial_delay >= 0):
        raise HynasError(f"bad --trial-delay {trial_delay!r}: it must be a finite number of seconds >= 0")


def check_out_dir(out: Path) -> None:
    """``report --out`` names a folder: new, or existing (its report files are replaced); an
    existing file there, or above it, is one clear error before anything is written."""
    for p in (out, *out.parents):
        if p.exists():
            if not p.is_dir():
                raise HynasError(
                    f"--out {str(out)!r}: {str(p)!r} is an existing file, not a folder; "
                    "give a new or existing folder for the report files"
                )
            return
