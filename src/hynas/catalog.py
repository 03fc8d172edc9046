"""What ``hynas list`` shows: every kind of plug-in, read from its registry (built-ins and the
third-party plug-ins of entry-point group ``hynas.plugins`` alike; the ``from`` column names the
distribution that registered each entry). A plug-in whose entry cannot be described is listed
with the error instead of stopping the listing."""

from __future__ import annotations

from typing import Any

__all__ = ["catalog", "strategy_options"]

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
    return ["strategy", "option", "accepts", "default", "meaning"], rows


def _broken(exc: Exception) -> str:
    return f"error: {type(exc).__name__}: {exc}"


def _spaces() -> tuple[Section, list[list[Any]]]:
    from hynas.evaluators import default_evaluator, make_evaluator
    from hynas.spaces import SPACES, get_space

    spaces: list[list[Any]] = []
    objectives: list[list[Any]] = []
    for name, entry in sorted(SPACES.items()):
        try:
            sp = get_space(name)
            size = sp.size()
            spaces.append([name, f"{size:,}" if size else "huge", len(sp.dims), sp.describe(), entry.origin])
        except Exception as exc:
            spaces.append([name, "-", "-", _broken(exc), entry.origin])
            continue
        try:
            ev_name = default_evaluator(name)
            ev = make_evaluator(name, ev_name)
        except Exception:  # a space without a cheap default evaluator
            continue
        for m in ev.metrics().values():
            desc = ("report only: " if m.hidden else "") + m.description
            objectives.append([m.name, name, ev_name, m.direction, m.unit, desc])
    return (["space", "size", "decisions", "description", "from"], spaces), objectives


def _named(registry: Any, column: str) -> Section:
    """A section of name, summary and origin rows (evaluators, predictors, stores, runners)."""
    rows = [[n, e.summary, e.origin] for n, e in sorted(registry.items())]
    return [column, "description", "from"], rows


def catalog() -> dict[str, Section]:
    from hynas.core.metrics import COST_MODELS, DEVICES
    from hynas.evaluators import EVALUATORS
    from hynas.predictors import PREDICTORS
    from hynas.runners import RUNNERS
    from hynas.stores import STORES
    from hynas.strategies import STRATEGIES

    spaces, objectives = _spaces()
    for _, cm in COST_MODELS.items():
        source = "cost model" if cm.origin == "hynas" else f"cost model ({cm.origin})"
        for pattern, desc, *direction in cm.meta.get("catalog", ()):
            objectives.append([pattern, "any", source, direction[0] if direction else "min", "", desc])
    strategies: list[list[Any]] = []
    for name, st in sorted(STRATEGIES.items()):
        try:
            n_obj: Any = STRATEGIES.create(name).max_objectives or "any"
            strategies.append([name, n_obj, st.summary, st.origin])
        except Exception as exc:
            strategies.append([name, "-", _broken(exc), st.origin])
    devices = [[n, d.meta.get("sources", ""), d.summary, d.origin] for n, d in sorted(DEVICES.items())]
    return {
        "spaces": spaces,
        "strategies": (["strategy", "objectives", "description", "from"], strategies),
        "objectives": (["metric", "space", "source", "direction", "unit", "description"], objectives),
        "devices": (["device", "metrics", "description", "from"], devices),
        "evaluators": _named(EVALUATORS, "evaluator"),
        "predictors": _named(PREDICTORS, "predictor"),
        "stores": _named(STORES, "scheme"),
        "runners": _named(RUNNERS, "runner"),
    }
