"""The built-in modules that register cost models and devices on import, loaded on the first
lookup in :data:`hynas.core.metrics.COST_MODELS` or :data:`~hynas.core.metrics.DEVICES` (the
registries' ``load`` hook, through :mod:`hynas.core.lookup` and :mod:`hynas.wiring`).

Kept lazy so that importing ``hynas`` stays cheap (some of these import torch). Spaces, strategies,
evaluators, stores, runners and command groups register when their package is imported, which
is before anyone can look in their registry. Third-party plug-ins (entry points of group
``hynas.plugins``) are loaded by :func:`hynas.core.registry.load_plugins`; see ``docs/extending.md``.
"""

from __future__ import annotations

from hynas.core.registry import import_modules, load_plugins

__all__ = ["MODULES", "load"]

#: add a line here for each built-in module that registers a cost model or a device on import
MODULES: tuple[str, ...] = (
    "hynas.hw",
    "hynas.hw.energy",
    "hynas.hw.lm_costs",
    "hynas.proxies.resolver",
)

_loaded = False


def load() -> None:
    """Import :data:`MODULES` (once), then the third-party plug-ins."""
    global _loaded
    if not _loaded:
        _loaded = True
        import_modules(*MODULES)()
    load_plugins()
