"""One way for every contract check to fail: an ``AssertionError`` naming the plug-in and the rule
(explicit, so that the checks also hold under ``python -O``)."""

from __future__ import annotations

import math

__all__ = ["expect", "finite"]


def expect(ok: object, what: str) -> None:
    """Fail with ``what`` (the rule broken, and by whom) unless ``ok``."""
    if not ok:
        raise AssertionError(what)


def finite(v: object) -> bool:
    """Whether ``v`` is a finite real number (not a bool)."""
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
