"""Modules that register cost models (resolvers) on import, loaded when a cost model is first
looked up (:func:`hynas.core.metrics.resolve_cost_model`, through :mod:`hynas.wiring`).

Kept in one list so that importing ``hynas`` stays cheap (some of these import torch). Each module
registers itself through :func:`hynas.core.metrics.register_resolver`. Command-line groups are not
plug-ins of this list: :mod:`hynas.cli` adds its own, so loading a cost model never imports the CLI.
"""

from __future__ import annotations

import importlib

__all__ = ["MODULES", "load"]

#: add a line here for each module that registers something on import
MODULES: tuple[str, ...] = (
    "hynas.hw",
    "hynas.hw.energy",
    "hynas.hw.lm_costs",
    "hynas.proxies.resolver",
)

_loaded = False


def load() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for mod in MODULES:
        importlib.import_module(mod)
