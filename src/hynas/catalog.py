"""What ``hynas list`` shows: spaces, strategies, objectives and devices, from the registries."""

from __future__ import annotations

from typing import Any

__all__ = ["catalog", "strategy_options"]


def strategy_options() -> tuple[list[str], list[list[Any]]]:
    """Every strategy's declared options (``hynas list strategies --options``)."""
    from hynas.strategies import STRATEGIES, option_schema

    rows: list[list[Any]] = []
    for name in STRATEGIES.names():
        for o in option_schema(name):
            default = "-" if o.default is None else str(o.default).lower() if o.kind == "bool" else o.default
            rows.append([name, o.name, o.describe(), default, o.help])
    return ["strategy", "option", "accepts", "default", "meaning"], rows


def catalog() -> dict[str, tuple[list[str], list[list[Any]]]]:
    from hynas.core.metrics import CATALOG, DEVICES, _load_plugins
    from hynas.evaluators import EVALUATORS, default_evaluator, make_evaluator
    from hynas.spaces import SPACES, get_space
    from hynas.strategies import STRATEGIES

    _load_plugins()
    spaces = []
    objectives = []
    for name in SPACES.names():
        sp = get_space(name)
        size = sp.size()
        spaces.append([name, f"{size:,}" if size else "huge", len(sp.dims), sp.describe()])
        try:
            ev_name = default_evaluator(name)
            ev = make_evaluator(name, ev_name)
        except Exception:  # a space without a cheap default evaluator
            continue
        for m in ev.metrics().values():
            objectives.append(
                [
                    m.name,
                    name,
                    ev_name,
                    m.direction,
                    m.unit,
                    ("report only: " if m.hidden else "") + m.description,
                ]
            )
    for pattern, desc, *direction in CATALOG:
        objectives.append([pattern, "any", "cost model", direction[0] if direction else "min", "", desc])
    strategies = []
    for name in STRATEGIES.names():
        strat = STRATEGIES.create(name)
        n_obj = strat.max_objectives or "any"
        strategies.append([name, n_obj, STRATEGIES.summary(name)])
    from hynas.hw.devices import calibration_note

    devices = [[n, src, desc, calibration_note(n)] for n, (src, desc) in sorted(DEVICES.items())]
    evaluators = [[n, EVALUATORS.summary(n)] for n in EVALUATORS.names()]
    return {
        "spaces": (["space", "size", "decisions", "description"], spaces),
        "strategies": (["strategy", "objectives", "description"], strategies),
        "objectives": (["metric", "space", "source", "direction", "unit", "description"], objectives),
        "devices": (["device", "metrics", "description", "roofline calibrated"], devices),
        "evaluators": (["evaluator", "description"], evaluators),
    }
