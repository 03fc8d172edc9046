"""The NAS-Bench-201 cell (Dong & Yang, ICLR 2020): its five operations and six edges (no torch).

Shared by the space (:mod:`hynas.spaces.nb201`: one gene per edge, an index into :data:`OPS`), the
network (:mod:`hynas.models.nb201`) and its operator graph (:mod:`hynas.spaces.nb201_costs`).
"""

from __future__ import annotations

__all__ = ["EDGES", "OPS"]

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: edges in the order of the official string: (to_node, from_node)
EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
