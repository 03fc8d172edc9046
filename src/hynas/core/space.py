"""The search-space contract.

A space is a product of categorical dimensions (:class:`Dim`) plus, optionally, validity rules and a
canonical form. Everything a strategy needs is here: sampling, membership, mutation, neighbours and
numeric encodings. Building a PyTorch model is the space's job too (``build``), but spaces never
evaluate anything: that is the evaluator's job.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hynas.core.arch import Architecture
from hynas.core.errors import HynasError

__all__ = ["Dim", "SearchSpace"]


@dataclass(frozen=True)
class Dim:
    """One categorical decision: a name and its choices (printable values)."""

    name: str
    choices: tuple[Any, ...]

    def __len__(self) -> int:
        return len(self.choices)


class SearchSpace(abc.ABC):
    """Base class of every search space.

    Subclasses set ``name`` and ``dims`` and implement ``format``/``parse``. They may override
    ``canonicalize`` (map equivalent genes to one form), ``is_valid`` (hard validity rules),
    ``encode``-style methods and ``build``.
    """

    name: str = ""
    dims: tuple[Dim, ...] = ()

    # -- identity -----------------------------------------------------------------------------
    @abc.abstractmethod
    def format(self, arch: Architecture) -> str:
        """The canonical string of ``arch``."""

    @abc.abstractmethod
    def parse(self, text: str) -> Architecture:
        """Inverse of :meth:`format`; raises :class:`HynasError` on malformed input."""

    def canonicalize(self, genes: tuple[int, ...]) -> tuple[int, ...]:
        return genes

    def is_valid(self, genes: tuple[int, ...]) -> bool:
        return True

    def size(self) -> int | None:
        """Number of distinct architectures, if it is practical to know."""
        return None

    def describe(self) -> str:
        return (type(self).__doc__ or "").strip().split("\n")[0]

    # -- construction -------------------------------------------------------------------------
    def make(self, genes: Sequence[int]) -> Architecture:
        """An architecture from genes, checked and canonicalised."""
        g = tuple(int(x) for x in genes)
        if len(g) != len(self.dims):
            raise HynasError(f"{self.name}: expected {len(self.dims)} genes, got {len(g)}")
        for value, dim in zip(g, self.dims, strict=True):
            if not 0 <= value < len(dim):
                raise HynasError(f"{self.name}: gene {dim.name}={value} out of range 0..{len(dim) - 1}")
        g = self.canonicalize(g)
        if not self.is_valid(g):
            raise HynasError(f"{self.name}: genes {g} violate the space's rules")
        return Architecture(self.name, g)

    def contains(self, arch: Architecture) -> bool:
        if arch.space != self.name or len(arch.genes) != len(self.dims):
            return False
        if any(not 0 <= v < len(d) for v, d in zip(arch.genes, self.dims, strict=True)):
            return False
        return self.canonicalize(arch.genes) == arch.genes and self.is_valid(arch.genes)

    def validate(self, arch: Architecture) -> Architecture:
        if not self.contains(arch):
            raise HynasError(f"{arch!r} is not a member of space {self.name!r}")
        return arch

    # -- randomness ---------------------------------------------------------------------------
    def sample(self, rng: np.random.Generator) -> Architecture:
        """A uniform random valid architecture (rejection sampling over the raw product)."""
        for _ in range(10_000):
            g = tuple(int(rng.integers(len(d))) for d in self.dims)
            if self.is_valid(g):
                return Architecture(self.name, self.canonicalize(g))
        raise HynasError(f"{self.name}: could not sample a valid architecture in 10,000 tries")

    def neighbours(self, arch: Architecture) -> list[Architecture]:
        """All distinct valid architectures that differ from ``arch`` in one decision."""
        out: list[Architecture] = []
        seen = {arch.genes}
        for i, dim in enumerate(self.dims):
            for v in range(len(dim)):
                if v == arch.genes[i]:
                    continue
                g = list(arch.genes)
                g[i] = v
                cg = self.canonicalize(tuple(g))
                if cg not in seen and self.is_valid(cg):
                    seen.add(cg)
                    out.append(Architecture(self.name, cg))
        return out

    def mutate(self, arch: Architecture, rng: np.random.Generator) -> Architecture:
        """One random neighbour: a change of one decision."""
        nbrs = self.neighbours(arch)
        if not nbrs:
            return arch
        return nbrs[int(rng.integers(len(nbrs)))]

    def enumerate(self) -> Iterator[Architecture]:
        """Every valid architecture (only for small spaces)."""
        import itertools

        seen: set[tuple[int, ...]] = set()
        for g in itertools.product(*(range(len(d)) for d in self.dims)):
            if self.is_valid(g):
                cg = self.canonicalize(g)
                if cg not in seen:
                    seen.add(cg)
                    yield Architecture(self.name, cg)

    # -- encodings ----------------------------------------------------------------------------
    def encode_onehot(self, arch: Architecture) -> np.ndarray:
        parts = []
        for v, d in zip(arch.genes, self.dims, strict=True):
            one = np.zeros(len(d), dtype=np.float32)
            one[v] = 1.0
            parts.append(one)
        return np.concatenate(parts)

    def encode(self, arch: Architecture, kind: str = "onehot") -> np.ndarray:
        """A numeric vector for predictors; ``kind`` names one of :meth:`encodings`."""
        method = getattr(self, f"encode_{kind}", None)
        if method is None:
            raise HynasError(f"space {self.name!r} has no {kind!r} encoding; valid: {self.encodings()}")
        return np.asarray(method(arch), dtype=np.float32)

    def encodings(self) -> list[str]:
        return sorted(n[len("encode_") :] for n in dir(self) if n.startswith("encode_"))

    # -- models -------------------------------------------------------------------------------
    def build(self, arch: Architecture, **kwargs: Any) -> Any:
        """A ``torch.nn.Module`` for ``arch``."""
        raise HynasError(f"space {self.name!r} cannot build PyTorch models yet")
