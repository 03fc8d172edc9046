"""Name-based registries and factories (timm's ``register_model`` / ``create_model`` pattern).

Each registry maps a name to a factory. ``create(name_or_object, **kwargs)`` accepts a name or an
already-built object, so ``strategy="nsga2"`` and ``strategy=NSGA2(population=64)`` both work.
Tests parametrize over ``names()``, so every registered entry gets the contract tests automatically.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from hynas.core.errors import HynasError

T = TypeVar("T")

__all__ = ["Registry"]


def plural(word: str) -> str:
    return word[:-1] + "ies" if word.endswith("y") else word + "s"


class Registry(Generic[T]):
    """A registry of factories producing ``T``, keyed by a short lowercase name."""

    def __init__(
        self, kind: str, base: type, check: Callable[[str, dict[str, Any]], None] | None = None
    ) -> None:
        self.kind = kind
        self.base = base
        #: checks a name's keyword arguments before the factory runs (one clear error)
        self.check = check
        self._factories: dict[str, Callable[..., T]] = {}
        self._summaries: dict[str, str] = {}

    def register(self, name: str, summary: str = "") -> Callable[[Callable[..., T]], Callable[..., T]]:
        def deco(factory: Callable[..., T]) -> Callable[..., T]:
            if name in self._factories:
                raise ValueError(f"{self.kind} {name!r} registered twice")
            self._factories[name] = factory
            doc = summary or (inspect.getdoc(factory) or "").split("\n")[0]
            self._summaries[name] = doc
            return factory

        return deco

    def names(self) -> list[str]:
        return sorted(self._factories)

    def summary(self, name: str) -> str:
        return self._summaries.get(name, "")

    def factory(self, name: str) -> Callable[..., T]:
        try:
            return self._factories[name]
        except KeyError:
            close = difflib.get_close_matches(name, self.names(), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise HynasError(
                f"unknown {self.kind} {name!r}{hint}; valid {plural(self.kind)}: {', '.join(self.names())}"
            ) from None

    def create(self, spec: str | T, **kwargs: Any) -> T:
        """Build from a name (with keyword arguments) or return an already-built object."""
        if isinstance(spec, self.base):
            if kwargs:
                raise HynasError(f"options {sorted(kwargs)} given with a ready-made {self.kind} object")
            return spec  # type: ignore[return-value]
        if not isinstance(spec, str):
            raise HynasError(f"a {self.kind} must be a name or a {self.base.__name__}, not {spec!r}")
        factory = self.factory(spec)
        if self.check is not None:
            self.check(spec, kwargs)
        try:
            sig = inspect.signature(factory)
            sig.bind(**kwargs)
        except TypeError as exc:
            params = [p for p in sig.parameters if p not in ("self", "args", "kwargs")]
            raise HynasError(
                f"bad options for {self.kind} {spec!r}: {exc}; it accepts: {', '.join(params) or 'none'}"
            ) from None
        return factory(**kwargs)
