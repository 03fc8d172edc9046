"""What core needs from the layers above it, answered by a provider those layers name.

Core never imports a plug-in package (an import-linter contract in ``pyproject.toml`` checks it).
Three pieces of core need something only the plug-ins know:

- ``str(arch)`` needs the space named by ``arch.space`` (its canonical string);
- :class:`~hynas.core.experiment.ExperimentConfig` needs a space's default dataset and objectives;
- :func:`~hynas.core.metrics.resolve_cost_model` needs the cost-model modules loaded.

They ask here; so does :mod:`hynas.models`, which stands below the spaces and reads an
architecture string through :func:`space`. ``hynas/__init__.py`` names the provider (:mod:`hynas.wiring`) when the package is
first imported, which is always before any ``hynas.core`` module runs; the provider module itself
is imported on the first question, so importing core loads nothing above it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Protocol, cast

from hynas.core.errors import HynasError

if TYPE_CHECKING:
    from hynas.core.space import SearchSpace

__all__ = ["Provider", "SpaceDefaults", "install", "load_cost_models", "provider", "space", "space_defaults"]


class SpaceDefaults(Protocol):
    """What a search on a space uses when the user names no evaluator, dataset or objectives."""

    @property
    def evaluator(self) -> str: ...
    @property
    def dataset(self) -> str | None: ...
    @property
    def objectives(self) -> tuple[str, ...]: ...


class Provider(Protocol):
    """The functions a provider module defines."""

    def space(self, name: str) -> SearchSpace: ...
    def space_defaults(self, name: str) -> SpaceDefaults | None: ...
    def load_cost_models(self) -> None: ...


_module: str | None = None
_provider: Provider | None = None


def install(module: str) -> None:
    """Name the module that answers core's questions (imported on the first one)."""
    global _module, _provider
    _module, _provider = module, None


def provider() -> Provider:
    global _provider
    if _provider is None:
        if _module is None:
            raise HynasError("no plug-in provider installed: import hynas before using hynas.core")
        _provider = cast("Provider", importlib.import_module(_module))
    return _provider


def space(name: str) -> SearchSpace:
    """The registered space called ``name``."""
    return provider().space(name)


def space_defaults(name: str) -> SpaceDefaults | None:
    """The default evaluator, dataset and objectives of space ``name``, if it has them."""
    return provider().space_defaults(name)


def load_cost_models() -> None:
    """Import the modules that register cost-model resolvers (once; they may import torch)."""
    provider().load_cost_models()
