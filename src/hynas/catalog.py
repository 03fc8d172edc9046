"""What ``hynas list`` shows: every kind of plug-in, read from its registry (built-ins and the
third-party plug-ins of entry-point group ``hynas.plugins`` alike; the ``from`` column names the
distribution that registered each entry). A plug-in whose entry cannot be described is listed
with the error instead of stopping the listing."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

__all__ = ["SECTIONS", "catalog", "strategy_options"]

Section = tuple[list[str], list[list[Any]]]


def strategy_options() -> Section:
    """Every strategy's declared options (``hynas list strategies --options``)."""
    from hynas.strategies import STRATEGIES, option_schema

    rows: list[list[Any]] = []
    for name in STRATEGIES.names():
        try:
            schema = option_schema(name)
        except Exception as exc:  # a plug-in strategy without a usable schema
            rows.append([name, "-", "-", "-", _broken(exc)])
            continue
        for o in schema:
            default = "-" if o.default is None else str(o.default).lower() if o.kind == "bool" else o.default
            rows.append([name, o.name, o.describe(), default, o.help])
    from hynas.differentiable import METHODS, DifferentiableMethod

    for o in DifferentiableMethod.OPTIONS:  # shared by every differentiable method
        rows.append(
            [", ".join(METHODS), o.name, o.describe(), "-" if o.default is None else o.default, o.help]
        )
    return ["strategy", "option", "accepts", "default", "meaning"], rows


def _broken(exc: Exception) -> str:
    return f"error: {type(exc).__name__}: {exc}"


def _spaces() -> Section:
    from hynas.spaces import SPACES, get_space

    rows: list[list[Any]] = []
    for name, entry in sorted(SPACES.items()):
        try:
            sp = get_space(name)
            size = sp.size()
            rows.append([name, f"{size:,}" if size else "huge", len(sp.dims), sp.describe(), entry.origin])
        except Exception as exc:
            rows.append([name, "-", "-", _broken(exc), entry.origin])
    return ["space", "size", "decisions", "description", "from"], rows


def _objectives() -> Section:
    """The metrics of each space's default evaluator, then every cost model's catalog rows."""
    from hynas.core.metrics import COST_MODELS
    from hynas.evaluators import default_evaluator, make_evaluator
    from hynas.spaces import SPACES

    rows: list[list[Any]] = []
    for name in SPACES.names():
        try:
            ev_name = default_evaluator(name)
            ev = make_evaluator(name, ev_name)
        except Exception:  # a space without a cheap default evaluator
            continue
        for m in ev.metrics().values():
            desc = ("report only: " if m.hidden else "") + m.description
            rows.append([m.name, name, ev_name, m.direction, m.unit, desc])
    for _, cm in COST_MODELS.items():
        source = "cost model" if cm.origin == "hynas" else f"cost model ({cm.origin})"
        for pattern, desc, *direction in cm.meta.get("catalog", ()):
            rows.append([pattern, "any", source, direction[0] if direction else "min", "", desc])
    return ["metric", "space", "source", "direction", "unit", "description"], rows


def _strategies() -> Section:
    from hynas.strategies import STRATEGIES

    rows: list[list[Any]] = []
    for name, st in sorted(STRATEGIES.items()):
        try:
            n_obj: Any = STRATEGIES.create(name).max_objectives or "any"
            rows.append([name, n_obj, st.summary, st.origin])
        except Exception as exc:
            rows.append([name, "-", _broken(exc), st.origin])
    from hynas.differentiable import METHODS

    rows += [[name, "any", f"differentiable: {m[0]}", "hynas"] for name, m in METHODS.items()]
    return ["strategy", "objectives", "description", "from"], rows


def _devices() -> Section:
    from hynas.core.metrics import DEVICES
    from hynas.hw.devices import calibration_note

    rows = [
        [n, d.meta.get("sources", ""), d.summary, calibration_note(n), d.origin]
        for n, d in sorted(DEVICES.items())
    ]
    return ["device", "metrics", "description", "roofline calibrated", "from"], rows


def _named(module: str, attr: str, column: str) -> Callable[[], Section]:
    """A section of name, summary and origin rows of registry ``module.attr``."""

    def section() -> Section:
        registry = getattr(importlib.import_module(module), attr)
        return [column, "description", "from"], [
            [n, e.summary, e.origin] for n, e in sorted(registry.items())
        ]

    return section


#: what ``hynas list <section>`` shows, in order
SECTIONS: dict[str, Callable[[], Section]] = {
    "spaces": _spaces,
    "strategies": _strategies,
    "objectives": _objectives,
    "devices": _devices,
    "evaluators": _named("hynas.evaluators", "EVALUATORS", "evaluator"),
    "predictors": _named("hynas.predictors", "PREDICTORS", "predictor"),
    "stores": _named("hynas.stores", "STORES", "scheme"),
    "runners": _named("hynas.runners", "RUNNERS", "runner"),
}


def catalog(only: str | None = None) -> dict[str, Section]:
    """Every section of ``hynas list`` (or just ``only``, one of :data:`SECTIONS`)."""
    return {name: build() for name, build in SECTIONS.items() if only in (None, name)}
