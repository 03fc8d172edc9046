"""The per-operator view of a network that every hardware cost model shares.

The row type lives in core (:mod:`hynas.core.opgraph`), so that a space can describe its own
network; this module keeps the names where cost models and users import them.
"""

from __future__ import annotations

from hynas.core.opgraph import OpCost, total

__all__ = ["OpCost", "total"]
