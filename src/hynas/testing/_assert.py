"""One way for every contract check to fail: an ``AssertionError`` naming the plug-in and the rule
(explicit, so that the checks also hold under ``python -O``)."""

from __future__ import annotations

__all__ = ["expect"]


def expect(ok: object, what: str) -> None:
    """Fail with ``what`` (the rule broken, and by whom) unless ``ok``."""
    if not ok:
        raise AssertionError(what)
