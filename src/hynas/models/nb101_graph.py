"""NAS-Bench-101 cell graphs (Ying et al., ICML 2019): the vertex operations, the graph
fingerprint, pruning to the input-to-output paths and the channel split of a cell's vertices.

No torch. Shared by the ``ecnas`` space (:mod:`hynas.spaces.ecnas`, which re-exports these names and
describes the fingerprint), its network (:mod:`hynas.models.ecnas`) and its operator graph
(:mod:`hynas.spaces.ecnas_costs`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

__all__ = ["OPS", "SHORT_OPS", "Matrix", "module_hash", "prune", "vertex_channels"]

#: the operations of interior vertices, by NAS-Bench-101 label 0, 1, 2 (input -1, output -2)
OPS = ("conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3")
#: their names in the canonical string and in operator graphs
SHORT_OPS = ("conv3x3", "conv1x1", "maxpool3x3")
Matrix = tuple[tuple[int, ...], ...]


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def module_hash(matrix: Sequence[Sequence[int]], labels: Sequence[int]) -> str:
    """The NAS-Bench-101 fingerprint of a (pruned) cell: invariant under relabelling of vertices.

    ``labels`` are NAS-Bench-101's: -1 input, -2 output, 0/1/2 the index into :data:`OPS`. Each
    vertex starts as md5 of ``(out-degree, in-degree, label)``; for as many rounds as there are
    vertices, it becomes md5 of its sorted in-neighbour hashes, ``|``, its sorted out-neighbour
    hashes, ``|``, its own hash; the fingerprint is md5 of the sorted list of vertex hashes.
    """
    n = len(labels)
    m = [[int(x) for x in row] for row in matrix]
    out_deg = [sum(m[v]) for v in range(n)]
    in_deg = [sum(m[u][v] for u in range(n)) for v in range(n)]
    hashes = [_md5(str((out_deg[v], in_deg[v], int(labels[v])))) for v in range(n)]
    for _ in range(n):
        hashes = [
            _md5(
                "".join(sorted(hashes[u] for u in range(n) if m[u][v]))
                + "|"
                + "".join(sorted(hashes[w] for w in range(n) if m[v][w]))
                + "|"
                + hashes[v]
            )
            for v in range(n)
        ]
    return _md5(str(sorted(hashes)))


def prune(matrix: Sequence[Sequence[int]], labels: Sequence[int]) -> tuple[Matrix, tuple[int, ...]] | None:
    """Drop the vertices that are not on an input-to-output path (NAS-Bench-101's rule).

    Vertex 0 is the input and the last vertex the output. ``None`` when no path joins them.
    """
    n = len(labels)
    fwd = {0}
    for v in range(1, n):
        if any(matrix[u][v] and u in fwd for u in range(v)):
            fwd.add(v)
    back = {n - 1}
    for v in range(n - 2, -1, -1):
        if any(matrix[v][w] and w in back for w in range(v + 1, n)):
            back.add(v)
    keep = sorted(fwd & back)
    if 0 not in keep or n - 1 not in keep:
        return None
    sub = tuple(tuple(int(matrix[a][b]) for b in keep) for a in keep)
    return sub, tuple(int(labels[v]) for v in keep)


def vertex_channels(c_in: int, c_out: int, matrix: Sequence[Sequence[int]]) -> list[int]:
    """Channels of each vertex of a pruned cell, as NAS-Bench-101 assigns them.

    The output concatenates the interior vertices that feed it, so those split ``c_out`` evenly
    (the remainder goes one channel each to the first ones); an interior vertex that feeds only other
    interior vertices gets the largest channel count among its successors.
    """
    n = len(matrix)
    ch = [0] * n
    ch[0], ch[-1] = c_in, c_out
    if n == 2:
        return ch
    feeding = sum(matrix[v][n - 1] for v in range(1, n - 1))
    base, extra = divmod(c_out, feeding) if feeding else (0, 0)
    for v in range(1, n - 1):
        if matrix[v][n - 1]:
            ch[v] = base + (1 if extra > 0 else 0)
            extra -= 1
    for v in range(n - 2, 0, -1):
        if not matrix[v][n - 1]:
            ch[v] = max([ch[w] for w in range(v + 1, n - 1) if matrix[v][w]], default=0)
    return ch
