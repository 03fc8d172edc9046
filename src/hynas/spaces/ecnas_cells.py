"""EC-NAS genes and NAS-Bench-101 cell graphs, internal to the ``ecnas`` space (:mod:`hynas.spaces.ecnas`,
whose docstring describes the gene layout and the canonical form).

Genes to a graph and back (:func:`_raw_graph`, :func:`_embed`, :func:`_spec`), the isomorphism key of
a cell (:func:`_key`: the smallest gene tuple over every topological relabelling of the pruned graph),
the canonical genes (the labelling the EC-NAS-Bench table stores, :func:`_canonical`) and the index
of the tabulated cells (:func:`_table`). The names keep their leading underscore: only the space
uses them.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from functools import cache

from hynas.models.nb101_graph import Matrix, prune

__all__ = ["INPUT", "MAX_EDGES", "MAX_VERTICES", "N_EDGES", "OUT", "OUTPUT", "SLOTS"]

INPUT, OUTPUT = -1, -2  # NAS-Bench-101 labels of the input and output vertices
MAX_VERTICES = 5
MAX_EDGES = 9
OUT = MAX_VERTICES - 1  # the output's slot in the genes
#: the gene order of the edges: (from, to), from < to
SLOTS = tuple((i, j) for i in range(MAX_VERTICES) for j in range(i + 1, MAX_VERTICES))
N_EDGES = len(SLOTS)


def _raw_graph(genes: tuple[int, ...]) -> tuple[list[list[int]], list[int]]:
    m = [[0] * MAX_VERTICES for _ in range(MAX_VERTICES)]
    for (a, b), bit in zip(SLOTS, genes[:N_EDGES], strict=True):
        m[a][b] = int(bit)
    return m, [INPUT, *genes[N_EDGES:], OUTPUT]


def _embed(matrix: Sequence[Sequence[int]], labels: Sequence[int], order: Sequence[int]) -> tuple[int, ...]:
    """Genes of a pruned graph whose vertex ``order[i]`` becomes slot ``i`` (output -> slot 4)."""
    n = len(order)
    slot = {v: (i if i < n - 1 else OUT) for i, v in enumerate(order)}
    bits = [0] * N_EDGES
    for a in range(n):
        for b in range(n):
            if matrix[a][b]:
                bits[SLOTS.index((slot[a], slot[b]))] = 1
    ops = [0, 0, 0]
    for v in range(1, n - 1):
        ops[slot[v] - 1] = int(labels[v])
    return (*bits, *ops)


def _canonical_pruned(matrix: Matrix, labels: tuple[int, ...]) -> tuple[int, ...]:
    n = len(labels)
    best: tuple[int, ...] | None = None
    for perm in itertools.permutations(range(1, n - 1)):
        order = (0, *perm, n - 1)
        pos = {v: i for i, v in enumerate(order)}
        if all(pos[a] < pos[b] for a in range(n) for b in range(n) if matrix[a][b]):
            g = _embed(matrix, labels, order)
            if best is None or g < best:
                best = g
    assert best is not None  # the identity order is topological
    return best


@cache
def _key(genes: tuple[int, ...]) -> tuple[int, ...] | None:
    """The isomorphism-invariant key of any gene tuple; ``None`` when no input-to-output path exists."""
    pruned = prune(*_raw_graph(genes))
    return None if pruned is None else _canonical_pruned(*pruned)


@cache
def _canonical(genes: tuple[int, ...]) -> tuple[int, ...] | None:
    """Canonical genes: the tabulated labelling of the cell when it is tabulated, else its key."""
    key = _key(genes)
    if key is None:
        return None
    row = _key_index().get(key)
    return key if row is None else _table_genes()[row]


def _spec(genes: tuple[int, ...]) -> tuple[Matrix, tuple[int, ...]]:
    """The pruned graph of canonical genes (live interior vertices are the slots with edges)."""
    m, labels = _raw_graph(genes)
    live = [0] + [v for v in range(1, OUT) if any(m[v]) or any(m[u][v] for u in range(v))] + [OUT]
    return tuple(tuple(m[a][b] for b in live) for a in live), tuple(labels[v] for v in live)


def _n_edges(matrix: Matrix) -> int:
    return sum(map(sum, matrix))


@cache
def _table() -> tuple[tuple[tuple[int, ...], ...], dict[tuple[int, ...], int]]:
    """Genes of every tabulated cell in its own labelling, in table row order (sorted module
    hashes), and the row of each isomorphism key."""
    from hynas.benchmarks.ecnas import load_table

    t = load_table()
    genes, keys = [], {}
    for row, (matrix, labels) in enumerate(zip(t.matrices, t.labels, strict=True)):
        pruned = prune(matrix, labels)
        if pruned is None or len(pruned[1]) != len(labels):
            raise RuntimeError("EC-NAS-Bench table holds an unpruned cell")
        genes.append(_embed(matrix, labels, range(len(labels))))
        key = _canonical_pruned(*pruned)
        if key in keys:
            raise RuntimeError("EC-NAS-Bench table holds two isomorphic cells")
        keys[key] = row
    return tuple(genes), keys


def _table_genes() -> tuple[tuple[int, ...], ...]:
    return _table()[0]


def _key_index() -> dict[tuple[int, ...], int]:
    return _table()[1]


@cache
def _table_index() -> dict[tuple[int, ...], int]:
    return {g: i for i, g in enumerate(_table_genes())}
