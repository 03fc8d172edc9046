"""NAS-Bench-101 cell space of EC-NAS-Bench (Ying et al., "NAS-Bench-101: Towards Reproducible Neural
Architecture Search", ICML 2019; Bakhtiarifard, Igel & Selvan, "EC-NAS: Energy Consumption Aware
Tabular Benchmarks for Neural Architecture Search", ICASSP 2024).

A cell is a DAG of at most 5 vertices: the input, up to 3 interior vertices, each one of
``conv3x3-bn-relu``, ``conv1x1-bn-relu`` or ``maxpool3x3``, and the output, with an upper-triangular
adjacency matrix and at most 9 edges. As in NAS-Bench-101, vertices that are not on an
input-to-output path are pruned, and two cells are the same architecture when their pruned graphs
are isomorphic (a relabelling of the interior vertices that keeps the operations). EC-NAS-Bench
tabulates every such cell: 2,532 of them. The space contains exactly the tabulated cells.

Genes: the 10 upper-triangular edges of a 5-vertex matrix (0/1, vertex 4 is the output), then the
operation of interior vertices 1, 2 and 3; the live interior vertices of a pruned cell take slots
1..k. Isomorphic cells share one *key*: the smallest gene tuple over every topological relabelling
of the pruned graph. The canonical genes of a cell are the labelling the table stores for its key:
the network EC-NAS-Bench trained. (The labelling matters: when three vertices split a cell's output
channels, the remainder goes to the first ones, so isomorphic labellings can differ in parameter
count, by up to 1.1% on 242 cells.) The canonical string lists the pruned graph's vertices, then its
edges::

    in,conv3x3,maxpool3x3,out|0-1,0-2,1-2,2-3

:func:`module_hash` is the NAS-Bench-101 graph fingerprint (iterated hashing of each vertex's
(out-degree, in-degree, operation) label with its in- and out-neighbours' labels, then md5 of the
sorted vertex hashes), written here from the paper's description; it reproduces the hashes that key
the EC-NAS-Bench data for every cell, and :meth:`ECNASSpace.parse` also accepts such a hash.

Moves: one edge flipped or one operation changed (``neighbours``/``mutate``), plus a new interior
vertex fed by one live vertex and feeding the output, re-canonicalised and kept only if tabulated.
Encodings: ``onehot`` (the genes), ``adjacency`` (10 edge bits + one-hot operation of each live
interior vertex) and ``path`` (BANANAS, White et al. 2021: one indicator per operation sequence
along an input-to-output path; 1 + 3 + 9 + 27 = 40 features).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.core.space import Dim, SearchSpace, SpaceDefaults
from hynas.models.nb101_graph import OPS, SHORT_OPS, Matrix, module_hash, prune, vertex_channels
from hynas.spaces.ecnas_cells import (
    INPUT,
    MAX_EDGES,
    MAX_VERTICES,
    N_EDGES,
    OUT,
    OUTPUT,
    SLOTS,
    _canonical,
    _canonical_pruned,
    _embed,
    _key_index,
    _n_edges,
    _raw_graph,
    _spec,
    _table_genes,
    _table_index,
)

if TYPE_CHECKING:
    from hynas.core.opgraph import OpGraph

__all__ = [
    "MAX_EDGES",
    "MAX_VERTICES",
    "OPS",
    "SHORT_OPS",
    "ECNASSpace",
    "module_hash",
    "prune",
    "vertex_channels",
]

_PATH_KEYS = [seq for n in range(MAX_VERTICES - 1) for seq in itertools.product(range(3), repeat=n)]
_PATH_INDEX = {k: i for i, k in enumerate(_PATH_KEYS)}
_EDGE_RE = re.compile(r"(\d+)-(\d+)")
_HASH_RE = re.compile(r"[0-9a-f]{32}")
_HINT = "expected e.g. 'in,conv3x3,maxpool3x3,out|0-1,0-2,1-2,2-3' (vertices, then edges i-j with i < j)"


class ECNASSpace(SearchSpace):
    """NAS-Bench-101 cells of EC-NAS-Bench: <= 5 vertices, <= 9 edges (2,532 cells)."""

    name = "ecnas"
    defaults = SpaceDefaults("ecnas-tabular", "cifar10", ("accuracy", "energy@ecnas"))
    dims = (
        *(Dim(f"edge{a}>{b}", (0, 1)) for a, b in SLOTS),
        *(Dim(f"op{v}", OPS) for v in range(1, OUT)),
    )

    def size(self) -> int:
        return len(_table_genes())

    # -- canonical form ---------------------------------------------------------------------------
    def canonicalize(self, genes: tuple[int, ...]) -> tuple[int, ...]:
        c = _canonical(tuple(int(x) for x in genes))
        return genes if c is None else c

    def is_valid(self, genes: tuple[int, ...]) -> bool:
        return _canonical(tuple(int(x) for x in genes)) in _table_index()

    def _problem(self, genes: tuple[int, ...]) -> str | None:
        """Why ``genes`` is not a tabulated cell, or ``None`` if it is one."""
        pruned = prune(*_raw_graph(genes))
        if pruned is None:
            return "no path joins the input to the output"
        n = _n_edges(pruned[0])
        if n > MAX_EDGES:
            return f"the pruned cell has {n} edges; EC-NAS-Bench cells have at most {MAX_EDGES}"
        if _canonical_pruned(*pruned) not in _key_index():
            return "the cell is not in the EC-NAS-Bench table"
        return None

    def make(self, genes: Sequence[int]) -> Architecture:
        g = tuple(int(x) for x in genes)
        if len(g) == len(self.dims) and all(0 <= v < len(d) for v, d in zip(g, self.dims, strict=True)):
            why = self._problem(g)
            if why is not None:
                raise HynasError(f"{self.name}: genes {g} are not an EC-NAS-Bench cell: {why}")
        return super().make(g)

    def validate(self, arch: Architecture) -> Architecture:
        if self.contains(arch):
            return arch
        if arch.space != self.name:
            raise HynasError(f"{arch!r} belongs to space {arch.space!r}, not {self.name!r}")
        if len(arch.genes) != len(self.dims) or not all(
            0 <= v < len(d) for v, d in zip(arch.genes, self.dims, strict=True)
        ):
            raise HynasError(
                f"{arch!r} is not a member of space {self.name!r}: it needs {len(self.dims)} genes "
                "(10 edge bits, then 3 operations 0..2)"
            )
        why = self._problem(arch.genes) or "its genes are not in canonical form (use space.make or parse)"
        raise HynasError(f"{arch!r} is not a member of space {self.name!r}: {why}")

    # -- identity ---------------------------------------------------------------------------------
    def spec(self, arch: Architecture) -> tuple[Matrix, tuple[int, ...]]:
        """The pruned cell: adjacency matrix and NAS-Bench-101 labels (-1 in, 0/1/2 ops, -2 out)."""
        return _spec(self.validate(arch).genes)

    def module_hash(self, arch: Architecture) -> str:
        return module_hash(*self.spec(arch))

    def index(self, arch: Architecture) -> int:
        """The row of ``arch`` in the EC-NAS-Bench table (:func:`hynas.benchmarks.ecnas.load_table`)."""
        return _table_index()[self.validate(arch).genes]

    def from_index(self, index: int) -> Architecture:
        table = _table_genes()
        if not 0 <= index < len(table):
            raise HynasError(f"EC-NAS-Bench index {index} out of range 0..{len(table) - 1}")
        return Architecture(self.name, table[index])

    def from_hash(self, text: str) -> Architecture:
        from hynas.benchmarks.ecnas import load_table

        try:
            row = load_table().hashes.index(text)
        except ValueError:
            raise HynasError(f"unknown EC-NAS-Bench module hash {text!r}") from None
        return self.from_index(row)

    def format(self, arch: Architecture) -> str:
        matrix, labels = _spec(arch.genes)
        n = len(labels)
        names = ["in", *(SHORT_OPS[x] for x in labels[1:-1]), "out"]
        edges = [f"{a}-{b}" for a in range(n) for b in range(n) if matrix[a][b]]
        return f"{','.join(names)}|{','.join(edges)}"

    def parse(self, text: str) -> Architecture:
        raw = text.strip()
        if _HASH_RE.fullmatch(raw):
            return self.from_hash(raw)
        parts = raw.split("|")
        if len(parts) != 2:
            raise HynasError(f"malformed EC-NAS arch string {text!r}: {_HINT}, or a module hash")
        names = [s.strip() for s in parts[0].split(",")]
        if len(names) < 2 or names[0] != "in" or names[-1] != "out":
            raise HynasError(
                f"malformed EC-NAS arch string {text!r}: vertices must run from 'in' to 'out'; {_HINT}"
            )
        if len(names) > MAX_VERTICES:
            raise HynasError(
                f"malformed EC-NAS arch string {text!r}: {len(names)} vertices; at most {MAX_VERTICES}"
            )
        ops = []
        for s in names[1:-1]:
            if s in SHORT_OPS:
                ops.append(SHORT_OPS.index(s))
            elif s in OPS:
                ops.append(OPS.index(s))
            else:
                raise HynasError(
                    f"malformed EC-NAS arch string {text!r}: unknown op {s!r}; valid ops: {', '.join(SHORT_OPS)}"
                )
        n = len(names)
        matrix = [[0] * n for _ in range(n)]
        for e in parts[1].split(",") if parts[1].strip() else []:
            m = _EDGE_RE.fullmatch(e.strip())
            if not m or not 0 <= int(m.group(1)) < int(m.group(2)) < n:
                raise HynasError(
                    f"malformed EC-NAS arch string {text!r}: bad edge {e!r}; edges are i-j with "
                    f"0 <= i < j <= {n - 1}"
                )
            a, b = int(m.group(1)), int(m.group(2))
            if matrix[a][b]:
                raise HynasError(f"malformed EC-NAS arch string {text!r}: edge {e!r} listed twice")
            matrix[a][b] = 1
        genes = _embed(matrix, [INPUT, *ops, OUTPUT], range(n))
        why = self._problem(genes)
        if why is not None:
            raise HynasError(f"EC-NAS arch string {text!r} is not an EC-NAS-Bench cell: {why}")
        return self.make(genes)

    # -- enumeration and moves ----------------------------------------------------------------------
    def enumerate(self) -> Iterator[Architecture]:
        """All 2,532 cells in table order (sorted module hashes)."""
        for g in _table_genes():
            yield Architecture(self.name, g)

    def sample(self, rng: np.random.Generator) -> Architecture:
        """A uniform random tabulated cell."""
        table = _table_genes()
        return Architecture(self.name, table[int(rng.integers(len(table)))])

    def neighbours(self, arch: Architecture) -> list[Architecture]:
        """One edge flipped or one op changed, plus a new vertex between a live vertex and the output."""
        out = super().neighbours(arch)
        seen = {arch.genes, *(a.genes for a in out)}
        matrix, _ = _spec(arch.genes)
        k = len(matrix) - 2  # live interior vertices occupy slots 1..k
        if k < OUT - 1:
            new = k + 1
            for src in range(new):
                for op in range(len(OPS)):
                    g = list(arch.genes)
                    g[SLOTS.index((src, new))] = 1
                    g[SLOTS.index((new, OUT))] = 1
                    g[N_EDGES + new - 1] = op
                    cg = _canonical(tuple(g))
                    if cg is not None and cg not in seen and cg in _table_index():
                        seen.add(cg)
                        out.append(Architecture(self.name, cg))
        return out

    # -- encodings --------------------------------------------------------------------------------
    def encode_adjacency(self, arch: Architecture) -> np.ndarray:
        """10 edge bits, then a one-hot op per interior slot (all zero for an absent vertex)."""
        g = arch.genes
        matrix, _ = _spec(g)
        k = len(matrix) - 2
        ops = np.zeros((OUT - 1, len(OPS)), dtype=np.float32)
        for v in range(k):
            ops[v, g[N_EDGES + v]] = 1.0
        return np.concatenate([np.asarray(g[:N_EDGES], dtype=np.float32), ops.ravel()])

    def encode_path(self, arch: Architecture) -> np.ndarray:
        matrix, labels = _spec(arch.genes)
        n = len(labels)
        vec = np.zeros(len(_PATH_KEYS), dtype=np.float32)

        def walk(v: int, ops: tuple[int, ...]) -> None:
            if v == n - 1:
                vec[_PATH_INDEX[ops]] = 1.0
                return
            for w in range(v + 1, n):
                if matrix[v][w]:
                    walk(w, ops if w == n - 1 else (*ops, labels[w]))

        walk(0, ())
        return vec

    # -- models -----------------------------------------------------------------------------------
    def build(self, arch: Architecture, **kwargs: Any) -> Any:
        from hynas.models.ecnas import build_ecnas

        return build_ecnas(arch, **kwargs)

    # -- facts for cost models (hynas.spaces.ecnas_costs) ---------------------------------------------
    def op_graph(
        self,
        arch: Architecture,
        batch: int = 1,
        dtype_bytes: int = 4,
        resolution: int | None = None,
        **options: Any,
    ) -> OpGraph:
        """The NAS-Bench-101 network's operators; options ``num_classes``, ``channels``, ``num_stacks``,
        ``cells_per_stack``."""
        from hynas.core.opgraph import OpGraph
        from hynas.spaces.ecnas_costs import op_graph

        g = OpGraph(batch, dtype_bytes)
        op_graph(g, self, arch, resolution, **options)
        return g

    def input_shape(
        self, arch: Architecture, batch: int = 1, resolution: int | None = None
    ) -> tuple[int, ...]:
        """CIFAR-10-sized images (N, 3, 32, 32) unless ``resolution`` overrides the size."""
        r = resolution or 32
        return (int(batch), 3, int(r), int(r))
