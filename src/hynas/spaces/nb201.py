"""NAS-Bench-201 cell space (Dong & Yang, "NAS-Bench-201", ICLR 2020).

A cell is a DAG of 4 nodes; each of the 6 edges ``j -> i`` (``j < i``) carries one of 5 operations,
giving 5**6 = 15,625 cells. The canonical string is the official one, for example
``|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|``,
and :meth:`NB201Space.index` gives the official benchmark index. Mutation changes one edge's op.

Encodings: ``onehot`` (6 × 5) and ``path`` (BANANAS, White et al. 2021: one indicator per sequence of
operations along an input-to-output path; paths through ``none`` carry nothing and are dropped,
so 4 + 16 + 64 = 84 features).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np

from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.core.space import Dim, SearchSpace, SpaceDefaults
from hynas.models.nb201_cell import EDGES, OPS

if TYPE_CHECKING:
    from hynas.core.opgraph import OpGraph

__all__ = ["EDGES", "OPS", "NB201Space"]

#: the input-to-output paths, as lists of edge positions
PATHS = ((3,), (0, 4), (1, 5), (0, 2, 5))
_LIVE_OPS = OPS[1:]
_PATH_KEYS = [seq for n in (1, 2, 3) for seq in itertools.product(range(1, 5), repeat=n)]
_PATH_INDEX = {k: i for i, k in enumerate(_PATH_KEYS)}
_EDGE_RE = re.compile(r"([a-z_0-9]+)~(\d)")


class NB201Space(SearchSpace):
    """NAS-Bench-201 cell: 6 edges × 5 operations (15,625 cells)."""

    name = "nb201"
    dims = tuple(Dim(f"edge{to}<-{frm}", OPS) for to, frm in EDGES)
    defaults = SpaceDefaults("nb201-tabular", "cifar10", ("accuracy", "latency@raspi4"))

    def size(self) -> int:
        return 5**6

    def format(self, arch: Architecture) -> str:
        g = arch.genes
        return f"|{OPS[g[0]]}~0|+|{OPS[g[1]]}~0|{OPS[g[2]]}~1|+|{OPS[g[3]]}~0|{OPS[g[4]]}~1|{OPS[g[5]]}~2|"

    def parse(self, text: str) -> Architecture:
        nodes = text.strip().strip("|").split("|+|")
        hint = "expected e.g. |nor_conv_3x3~0|+|skip_connect~0|none~1|+|none~0|none~1|avg_pool_3x3~2|"
        if len(nodes) != 3:
            raise HynasError(f"malformed NAS-Bench-201 arch string {text!r}: {hint}")
        genes: list[int] = []
        for i, node in enumerate(nodes, start=1):
            edges = node.split("|")
            if len(edges) != i:
                raise HynasError(
                    f"malformed NAS-Bench-201 arch string {text!r}: node {i} needs {i} edges; {hint}"
                )
            for j, edge in enumerate(edges):
                m = _EDGE_RE.fullmatch(edge)
                if not m or int(m.group(2)) != j:
                    raise HynasError(
                        f"malformed NAS-Bench-201 arch string {text!r}: bad edge {edge!r}; {hint}"
                    )
                if m.group(1) not in OPS:
                    raise HynasError(
                        f"malformed NAS-Bench-201 arch string {text!r}: unknown op {m.group(1)!r}; "
                        f"valid ops: {', '.join(OPS)}"
                    )
                genes.append(OPS.index(m.group(1)))
        return Architecture(self.name, tuple(genes))

    def index(self, arch: Architecture) -> int:
        """The official NAS-Bench-201 index of ``arch``."""
        return _official_index()[arch.genes]

    def from_index(self, index: int) -> Architecture:
        table = _official_genes()
        if not 0 <= index < len(table):
            raise HynasError(f"NAS-Bench-201 index {index} out of range 0..{len(table) - 1}")
        return Architecture(self.name, table[index])

    def enumerate(self) -> Iterator[Architecture]:
        """All 15,625 cells in official index order."""
        for genes in _official_genes():
            yield Architecture(self.name, genes)

    def encode_path(self, arch: Architecture) -> np.ndarray:
        vec = np.zeros(len(_PATH_KEYS), dtype=np.float32)
        for path in PATHS:
            ops = tuple(arch.genes[e] for e in path)
            if 0 not in ops:
                vec[_PATH_INDEX[ops]] = 1.0
        return vec

    def build(self, arch: Architecture, **kwargs: Any) -> Any:
        from hynas.models.nb201 import build_nb201

        return build_nb201(arch, **kwargs)

    # -- facts for cost models (hynas.spaces.nb201_costs) ---------------------------------------------
    def op_graph(
        self,
        arch: Architecture,
        batch: int = 1,
        dtype_bytes: int = 4,
        resolution: int | None = None,
        **options: Any,
    ) -> OpGraph:
        """The benchmark network's operators; options ``C`` (16), ``N`` (5), ``num_classes`` (10)."""
        from hynas.core.opgraph import OpGraph
        from hynas.spaces.nb201_costs import op_graph

        g = OpGraph(batch, dtype_bytes)
        op_graph(g, arch, resolution, **options)
        return g

    def input_shape(
        self, arch: Architecture, batch: int = 1, resolution: int | None = None
    ) -> tuple[int, ...]:
        r = resolution or 32
        return (int(batch), 3, int(r), int(r))

    def lut_networks(self) -> list[Architecture]:
        """A uniform cell per op: every op at every stage shape, and all the fixed parts."""
        return [self.make([i] * 6) for i in range(len(self.dims[0]))]

    def lut_modules(self, arch: Architecture, model: Any) -> dict[str, Any]:
        from hynas.spaces.nb201_costs import lut_modules

        return lut_modules(model)

    def lut_standalone(self, name: str, outputs: Mapping[str, tuple[int, ...]]) -> Callable[[], Any] | None:
        from hynas.spaces.nb201_costs import lut_standalone

        return lut_standalone(name, outputs)

    def latency_tables(self) -> dict[str, str]:
        """The HW-NAS-Bench devices (CIFAR-10 input, ms)."""
        from hynas.benchmarks.nb201 import HWNB_DEVICES

        return dict(HWNB_DEVICES)

    def latency_samples(
        self, device: str, n: int | None = None, seed: int = 0
    ) -> tuple[list[Architecture], np.ndarray]:
        from hynas.spaces.nb201_costs import latency_samples

        if device not in self.latency_tables():
            raise HynasError(
                f"no HW-NAS-Bench latency table for device {device!r}; valid: {', '.join(self.latency_tables())}"
            )
        return latency_samples(self, device, n, seed)

    def predictor_features(self, arch: Architecture) -> list[float]:
        """Whether some input-to-output path of the cell has no ``none`` edge (0/1)."""
        from hynas.spaces.nb201_costs import connected

        return [connected(arch.genes)]


@cache
def _official_genes() -> tuple[tuple[int, ...], ...]:
    """Genes of every cell, in official index order (read from the shipped table)."""
    from hynas.benchmarks.nb201 import load_arch_strings

    space = NB201Space()
    return tuple(space.parse(s).genes for s in load_arch_strings())


@cache
def _official_index() -> dict[tuple[int, ...], int]:
    return {g: i for i, g in enumerate(_official_genes())}
