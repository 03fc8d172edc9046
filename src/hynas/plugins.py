"""Modules that register optional capabilities: cost-model resolvers, ``hynas <group>`` commands.

Kept in one list so that importing ``hynas`` stays cheap (some of these import torch). Each module
registers itself on import: resolvers through :func:`hynas.core.metrics.register_resolver`,
command groups by appending ``(typer_app, name)`` to :data:`hynas.cli.SUBAPPS`.
"""

from __future__ import annotations

import importlib

__all__ = ["MODULES", "load"]

#: add a line here for each module that registers something on import
MODULES: tuple[str, ...] = (
    "hynas.hw",
    "hynas.hw.energy",
    "hynas.hw.lm_costs",
    "hynas.hw.cli",
    "hynas.predictors.cli",
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
