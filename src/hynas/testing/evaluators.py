"""The evaluator contract (:class:`hynas.core.evaluator.Evaluator`), as reusable checks.

``check_evaluator(space, name, options)`` builds the registered evaluator ``name`` twice, the way
a search does (:class:`hynas.wiring.Experiment`), and checks on ``archs`` random architectures:

- **declared = returned**: every metric is declared once under its own name with direction
  ``min`` or ``max``; ``evaluate`` returns exactly the declared visible metrics as ``metrics`` and
  exactly the hidden (report-only) ones as ``hidden``;
- **finite**: every value, and ``cost_s`` (>= 0), is a finite number;
- **deterministic under a seed**: a second evaluator built with the same options gives the same
  values for the same architecture and fidelity;
- **fidelities**: no fidelity means the default one, each offered fidelity is accepted (on the
  first architecture) and one not offered is a :class:`~hynas.core.errors.HynasError`;
- **direction honoured**: each visible metric as an objective keeps its declared direction, and
  the strategy is told the value itself to minimise (``min``) or its negation (``max``); a hidden
  metric is refused as an objective;
- **tables**: where ``table()`` gives every architecture's values, they are the evaluated ones;
- **told from outside** (``evaluates = False``, the ``told`` evaluator of ask/tell studies): it
  offers no fidelity and no table, ``evaluate`` raises a :class:`~hynas.core.errors.HynasError`,
  the runners refuse it, and the directions are checked on made-up values of its declared metrics.

Evaluators that train keep the call cheap with small options (``steps``, ``batch``, ...).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.core.evaluator import Evaluation, Evaluator
from hynas.core.experiment import ExperimentConfig
from hynas.core.strategy import Candidate
from hynas.testing._assert import expect, finite

__all__ = ["check_evaluator"]


def _experiment(space: str, name: str, options: Mapping[str, Any], objectives: tuple[str, ...]) -> Any:
    from hynas.wiring import Experiment

    cfg = ExperimentConfig(
        space=space, evaluator=name, evaluator_options=dict(options), objectives=objectives, budget=1
    )
    return Experiment(cfg)


def _check_values(name: str, ev: Evaluator, e: Evaluation, arch: Architecture) -> None:
    declared = ev.metrics()
    visible = {n for n, m in declared.items() if not m.hidden}
    expect(
        set(e.metrics) == visible,
        f"evaluator {name!r} returned metrics {sorted(e.metrics)}, declared visible {sorted(visible)}",
    )
    expect(
        set(e.hidden) == set(declared) - visible,
        f"evaluator {name!r} returned hidden {sorted(e.hidden)}, declared {sorted(set(declared) - visible)}",
    )
    for key, v in {**e.metrics, **e.hidden, "cost_s": e.cost_s}.items():
        expect(finite(v), f"evaluator {name!r}: {key}={v!r} for {arch} is not finite")
    expect(e.cost_s >= 0, f"evaluator {name!r}: negative cost_s {e.cost_s} for {arch}")


def check_evaluator(
    space: str,
    name: str,
    options: Mapping[str, Any] | None = None,
    archs: int | Sequence[Architecture] = 3,
    seed: int = 0,
) -> None:
    """Every rule of the module docstring on ``archs``: these architectures, or that many drawn
    with ``seed``."""
    from hynas.evaluators import make_evaluator

    options = dict(options or {})
    ev = make_evaluator(space, name, **options)
    again = make_evaluator(space, name, **options)
    declared = ev.metrics()
    for key, m in declared.items():
        expect(m.name == key, f"evaluator {name!r}: metric {m.name!r} is declared under {key!r}")
        expect(m.direction in ("min", "max"), f"evaluator {name!r}: {key} has direction {m.direction!r}")
    rng = np.random.default_rng(seed)
    sample = [ev.space.sample(rng) for _ in range(archs)] if isinstance(archs, int) else list(archs)
    if not ev.evaluates:
        _check_told(space, name, options, ev, sample[0])
        return
    fids = ev.fidelities()
    expect(list(fids) == sorted(fids), f"evaluator {name!r}: fidelities {fids} are not lowest first")
    default = ev.default_fidelity()
    expect(not fids or default in fids, f"evaluator {name!r}: default fidelity {default} is not offered")
    values: dict[Architecture, Evaluation] = {}
    for arch in sample:
        e = ev.evaluate(arch)
        _check_values(name, ev, e, arch)
        expect(
            e.fidelity == default, f"evaluator {name!r}: fidelity {e.fidelity} is not the default {default}"
        )
        twin = again.evaluate(arch)
        expect(
            dict(twin.metrics) == dict(e.metrics) and dict(twin.hidden) == dict(e.hidden),
            f"evaluator {name!r} is not deterministic: {arch} gave {dict(e.metrics)} then {dict(twin.metrics)}",
        )
        values[arch] = e
    for fid in fids:
        if fid != default:
            e = ev.evaluate(sample[0], fid)
            _check_values(name, ev, e, sample[0])
            expect(e.fidelity == fid, f"evaluator {name!r}: asked fidelity {fid}, got {e.fidelity}")
    if fids:
        bad = max(fids) + 1.5
        try:
            ev.evaluate(sample[0], bad)
        except HynasError:
            pass
        else:
            raise AssertionError(f"evaluator {name!r}: fidelity {bad} (not offered) is accepted")
    _check_directions(space, name, options, ev, sample[0], values[sample[0]])
    _check_table(name, ev, values)


def _check_told(space: str, name: str, options: Mapping[str, Any], ev: Evaluator, arch: Architecture) -> None:
    """An evaluator whose metrics are told from outside: nothing to evaluate, nothing to run."""
    from hynas.runners.base import check_runnable

    expect(ev.fidelities() == () and ev.default_fidelity() is None, f"evaluator {name!r} offers fidelities")
    expect(ev.table(list(ev.metrics())) is None, f"evaluator {name!r} gives a table it cannot have")
    try:
        ev.evaluate(arch)
    except HynasError:
        pass
    else:
        raise AssertionError(f"evaluator {name!r} has evaluates=False but evaluate() returned")
    exp = _experiment(space, name, options, tuple(n for n, m in ev.metrics().items() if not m.hidden))
    try:
        check_runnable(exp)
    except HynasError:
        pass
    else:
        raise AssertionError(f"evaluator {name!r} has evaluates=False but a runner accepts it")
    made_up = Evaluation({n: 1.0 + i for i, n in enumerate(ev.metrics()) if not ev.metrics()[n].hidden})
    _check_directions(space, name, options, ev, arch, made_up)


def _check_directions(
    space: str, name: str, options: Mapping[str, Any], ev: Evaluator, arch: Architecture, e: Evaluation
) -> None:
    declared = ev.metrics()
    visible = tuple(n for n, m in declared.items() if not m.hidden)
    exp = _experiment(space, name, options, visible)
    result = exp.result(Candidate(arch, e.fidelity), e.metrics)
    for obj, value, loss in zip(exp.objectives, result.values, result.loss, strict=True):
        want = declared[obj.name].direction
        expect(
            obj.direction == want,
            f"evaluator {name!r}: objective {obj.name} is {obj.direction}, declared {want}",
        )
        expect(
            loss == (value if want == "min" else -value),
            f"evaluator {name!r}: {obj.name} ({want}) = {value} reaches the strategy as loss {loss}",
        )
    for hidden in (n for n, m in declared.items() if m.hidden):
        try:
            _experiment(space, name, options, (hidden,))
        except HynasError:
            continue
        raise AssertionError(f"evaluator {name!r}: hidden metric {hidden!r} is accepted as an objective")


def _check_table(name: str, ev: Evaluator, values: Mapping[Architecture, Evaluation]) -> None:
    declared = ev.metrics()
    table = ev.table(list(declared))
    if table is None:
        return
    index = {a: i for i, a in enumerate(ev.space.enumerate())}
    for arch, e in values.items():
        for key, v in {**e.metrics, **e.hidden}.items():
            got = float(table[key][index[arch]])
            expect(got == v, f"evaluator {name!r}: table gives {key}={got} for {arch}, evaluate {v}")
