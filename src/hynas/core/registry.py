"""The one registration mechanism for every kind of plug-in (timm's ``register_model`` /
``create_model`` pattern, with Python entry points for third-party packages).

A :class:`Registry` maps a name to a factory, a one-line summary and free metadata. Every kind uses
one: spaces, strategies, evaluators, cost models, devices, stores, runners and command-line groups
(the table in ``docs/extending.md`` says where each lives). ``create(name_or_object, **kwargs)``
accepts a name or an already-built object, so ``strategy="nsga2"`` and ``strategy=NSGA2(population=64)``
both work. Tests parametrize over ``names()``, so every registered entry gets the contract tests.

Two kinds of module register entries, both loaded on the first *lookup* (never on registration, so
``import hynas`` stays cheap and imports no torch):

- a registry's own ``load`` hook imports the built-in modules that register into it (the cost
  models, which may import torch, are registered this way);
- :func:`load_plugins` imports every third-party entry point of group ``hynas.plugins``. An entry
  point names a module (registering on import) or a callable (called once, with no arguments). A
  plug-in that fails to load is skipped with one :class:`PluginWarning` naming its distribution and
  the error; hynas itself keeps working.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar

from hynas.core.errors import HynasError

T = TypeVar("T")

__all__ = ["GROUP", "Entry", "PluginWarning", "Registry", "import_modules", "load_plugins", "plugin_errors"]

#: the entry-point group third-party packages declare their plug-ins in
GROUP = "hynas.plugins"


def plural(word: str) -> str:
    return word[:-1] + "ies" if word.endswith("y") else word + "s"


class PluginWarning(UserWarning):
    """A third-party plug-in could not be loaded (it is skipped)."""


@dataclass(frozen=True)
class Entry(Generic[T]):
    """One registered name: its factory, a one-line summary, metadata and who registered it."""

    name: str
    factory: Callable[..., T]
    summary: str = ""
    meta: Mapping[str, Any] = field(default_factory=dict)
    #: "hynas" for a built-in, else the distribution of the plug-in that registered it
    origin: str = "hynas"


# -- third-party plug-ins (entry points) ---------------------------------------------------------------
_origin = "hynas"
_plugins_state = "unloaded"  # unloaded -> loading -> loaded
_errors: list[tuple[str, str, str]] = []
#: (registry, name) of what the plug-in being loaded has registered so far (undone if it fails)
_added: list[tuple[Registry[Any], str]] = []


def plugin_errors() -> list[tuple[str, str, str]]:
    """(distribution, entry point, error) of every plug-in that failed to load."""
    load_plugins()
    return list(_errors)


def load_plugins() -> None:
    """Load every entry point of group ``hynas.plugins`` (once; later calls return at once)."""
    global _plugins_state, _origin
    if _plugins_state != "unloaded":
        return
    _plugins_state = "loading"
    from importlib.metadata import entry_points

    try:
        for ep in sorted(entry_points(group=GROUP), key=lambda e: (e.name, e.value)):
            dist = ep.dist.name if ep.dist is not None else ep.value.split(":")[0]
            _origin = dist
            _added.clear()
            try:
                obj = ep.load()
                if callable(obj) and not inspect.ismodule(obj):
                    obj()
            except Exception as exc:  # a broken plug-in is skipped, never fatal: undo what it did register
                for registry, name in _added:
                    registry._entries.pop(name, None)
                msg = f"{type(exc).__name__}: {exc}".strip()
                _errors.append((dist, ep.name, msg))
                warnings.warn(
                    f"hynas plug-in {ep.name!r} from {dist!r} failed to load and is skipped: {msg}",
                    PluginWarning,
                    stacklevel=2,
                )
            finally:
                _origin = "hynas"
                _added.clear()
    finally:
        _plugins_state = "loaded"


def _registering_origin() -> str:
    """Who is registering: the plug-in being loaded, unless a hynas module is being imported in
    between (a plug-in that imports ``hynas.hw`` makes hw register its built-ins, which stay hynas's)."""
    if _origin == "hynas":
        return "hynas"
    frame = sys._getframe(2)
    while frame is not None and frame.f_code is not load_plugins.__code__:
        if (
            frame.f_code.co_name == "<module>"
            and str(frame.f_globals.get("__name__")).split(".")[0] == "hynas"
        ):
            return "hynas"
        frame = frame.f_back  # type: ignore[assignment]
    return _origin


def unknown(kind: str, name: object, valid: list[str], **others: list[str]) -> HynasError:
    """The one error for an unknown name: the closest valid name, then every valid one; ``others``
    are further lists to suggest from and show, e.g. ``differentiable_methods=[...]``."""
    close = difflib.get_close_matches(str(name), valid + [n for v in others.values() for n in v], n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    rest = "".join(f"; {k.replace('_', ' ')}: {', '.join(v)}" for k, v in others.items())
    return HynasError(f"unknown {kind} {name!r}{hint}; valid {plural(kind)}: {', '.join(valid)}{rest}")


class Registry(Generic[T]):
    """Factories producing ``T``, keyed by a short lowercase name.

    ``base``: the type of a ready-made object :meth:`create` passes through; ``check``: checks a
    name's keyword arguments before the factory runs (one clear error); ``load``: imports the
    modules that register the built-in entries, run once before the first lookup.
    """

    def __init__(
        self,
        kind: str,
        base: type | None = None,
        check: Callable[[str, dict[str, Any]], None] | None = None,
        load: Callable[[], None] | None = None,
    ) -> None:
        self.kind = kind
        self.base = base
        self.check = check
        self._load = load
        self._loaded = load is None
        self._entries: dict[str, Entry[T]] = {}

    # -- registering ------------------------------------------------------------------------------
    def register(
        self, name: str, summary: str = "", **meta: Any
    ) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator form of :meth:`add`."""

        def deco(factory: Callable[..., T]) -> Callable[..., T]:
            self.add(name, factory, summary, **meta)
            return factory

        return deco

    def add(
        self,
        name: str,
        factory: Callable[..., T],
        summary: str = "",
        *,
        position: int | None = None,
        **meta: Any,
    ) -> Entry[T]:
        """Register ``factory`` as ``name``; the summary defaults to its docstring's first line.

        ``position`` inserts it at that place of the registration order (``items()``), which is the
        order cost-model resolvers are asked in; by default it goes last.
        """
        if not isinstance(name, str) or not name:
            raise ValueError(f"a {self.kind} name must be a non-empty string, not {name!r}")
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} registered twice")
        doc = summary or (inspect.getdoc(factory) or "").split("\n")[0]
        entry = Entry(name, factory, doc, dict(meta), _registering_origin())
        if entry.origin != "hynas":
            _added.append((self, name))
        items = list(self._entries.items())
        items.insert(len(items) if position is None else position, (name, entry))
        self._entries = dict(items)
        return entry

    def peek(self, name: str) -> Entry[T] | None:
        """The entry of ``name`` if it is registered already, loading nothing (for registering code)."""
        return self._entries.get(name)

    def update(self, name: str, factory: Callable[..., T] | None = None, **meta: Any) -> Entry[T]:
        """Change the factory or metadata of a registered ``name`` in place (order and origin kept).
        Registering code calls it, so it loads nothing."""
        old = self._entries.get(name)
        if old is None:
            raise ValueError(f"{self.kind} {name!r} is not registered")
        new = replace(old, factory=factory or old.factory, meta={**old.meta, **meta})
        self._entries[name] = new
        return new

    def unregister(self, name: str) -> Entry[T]:
        """Remove ``name`` (tests, or a plug-in replacing a built-in); returns its entry."""
        self.get(name)
        return self._entries.pop(name)

    # -- looking up (loads the built-in modules and the plug-ins first) ----------------------------
    def _ensure(self) -> None:
        if not self._loaded:
            self._loaded = True
            assert self._load is not None
            self._load()
        load_plugins()

    def names(self) -> list[str]:
        """Every registered name, sorted."""
        self._ensure()
        return sorted(self._entries)

    def items(self) -> list[tuple[str, Entry[T]]]:
        """(name, entry) pairs in registration order."""
        self._ensure()
        return list(self._entries.items())

    def __iter__(self) -> Iterator[str]:
        """Names in registration order."""
        return iter([n for n, _ in self.items()])

    def __len__(self) -> int:
        return len(self.items())

    def __contains__(self, name: object) -> bool:
        self._ensure()
        return name in self._entries

    def has(self, name: str) -> bool:
        return name in self

    def get(self, name: str) -> Entry[T]:
        """The entry of ``name``; an unknown name is one :class:`HynasError` listing the valid ones."""
        self._ensure()
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            raise unknown(self.kind, name, self.names()) from None

    def factory(self, name: str) -> Callable[..., T]:
        return self.get(name).factory

    def summary(self, name: str) -> str:
        return self.get(name).summary if name in self else ""

    def meta(self, name: str) -> Mapping[str, Any]:
        return self.get(name).meta

    def create(self, spec: str | T, **kwargs: Any) -> T:
        """Build from a name (with keyword arguments) or return an already-built object."""
        if self.base is not None and isinstance(spec, self.base):
            if kwargs:
                raise HynasError(f"options {sorted(kwargs)} given with a ready-made {self.kind} object")
            return spec  # type: ignore[return-value]
        if not isinstance(spec, str):
            what = f"a {self.base.__name__}" if self.base is not None else "an object"
            raise HynasError(f"a {self.kind} must be a name or {what}, not {spec!r}")
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


def import_modules(*modules: str) -> Callable[[], None]:
    """A ``load`` hook importing ``modules`` (each registers its entries on import)."""

    def load() -> None:
        for mod in modules:
            importlib.import_module(mod)

    return load
