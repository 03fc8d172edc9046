from __future__ import annotations

import pytest

from hynas.core.errors import HynasError
from hynas.core.objectives import Constraint, parse_constraint, parse_objective


def test_parse_objective_directions():
    assert parse_objective("accuracy", {"accuracy": "max"}).direction == "max"
    assert parse_objective("latency@raspi4").direction == "min"
    o = parse_objective("latency@raspi4:max")
    assert (o.name, o.direction, o.source) == ("latency@raspi4", "max", "raspi4")
    assert o.to_min(3.0) == -3.0


@pytest.mark.parametrize("bad", ["", "1abc", "lat ency", "a@"])
def test_malformed_objective(bad):
    with pytest.raises(HynasError, match="malformed objective"):
        parse_objective(bad)


def test_parse_constraint_and_violation():
    c = parse_constraint("latency@raspi4 <= 5")
    assert c == Constraint("latency@raspi4", "<=", 5.0)
    assert c.violation(4.0) == 0.0
    assert c.violation(7.5) == pytest.approx(0.5)
    g = parse_constraint("accuracy>=90")
    assert g.op == ">=" and g.violation(95) == 0.0 and g.violation(81) == pytest.approx(0.1)
    assert g.violation(90) == 0.0


def test_strict_constraints_are_strict():
    """``<`` / ``>`` are kept strict, not read as ``<=`` / ``>=``: a value on the bound violates them."""
    g = parse_constraint("accuracy>90")
    assert g.op == ">" and str(g) == "accuracy > 90"
    assert g.violation(95) == 0.0 and g.violation(81) == pytest.approx(0.1)
    assert g.violation(90) > 0.0
    lt = parse_constraint("latency@raspi4 < 5")
    assert lt.violation(4.99) == 0.0 and lt.violation(5.0) > 0.0 and lt.violation(7.5) == pytest.approx(0.5)


@pytest.mark.parametrize("bad", ["latency <=", "latency == 5", "<= 5", "latency <= five", "latency <= inf"])
def test_malformed_constraint(bad):
    with pytest.raises(HynasError, match="constraint"):
        parse_constraint(bad)
