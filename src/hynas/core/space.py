"""The search-space contract.

A space is a product of categorical dimensions (:class:`Dim`) plus, optionally, validity rules and a
canonical form. Everything a strategy needs is here: sampling, membership, mutation, neighbours and
numeric encodings. Building a PyTorch model is the space's job too (``build``), but spaces never
evaluate anything: that is the evaluator's job.

What a space provides to cost models
------------------------------------
Hardware cost models (:mod:`hynas.hw`) know nothing about particular spaces: they read the facts
below through this one interface, and a space that lacks a fact a cost model needs gives one clear
:class:`HynasError` naming the space and the fact (:meth:`SearchSpace.lacks`). Every fact is
optional; :meth:`SearchSpace.provides` says which ones a space implements. Adding a space with
hardware costs touches that space's own module (or a sibling such as ``spaces/nb201_costs.py``).

=============================  ===================================================================
``op_graph(arch, ...)``        the network's operators in execution order as an
                               :class:`~hynas.core.opgraph.OpGraph` (FLOPs, bytes, params, feature
                               maps): ``params``/``flops``/``memory``, ``latency@roofline:<dev>``,
                               lookup tables
``input_shape(arch, ...)``     the input tensor shape; ``example_input`` (when the input is not a
                               normal tensor of that shape) a seeded random input; they feed
                               measured latency and exports
``lm_config(arch)``            a language model's :class:`~hynas.spaces.hybrid_lm.LMConfig`, for the
                               long-context cost models (``memory@128k``, ``decode_latency@...``);
                               ``sequence_length(arch)`` is its default context
``lut_networks()``             networks that together contain every operator key of the space (what
                               ``hynas hw profile`` times); ``lut_modules(arch, model)`` maps
                               operator names to the built model's modules, ``lut_standalone``
                               times operators that have no module of their own
``latency_tables()``           devices with measured latency tables for the space (HW-NAS-Bench
                               for nb201), read with ``latency_samples(device, n, seed)``
``predictor_features(arch)``   extra structural features for the few-shot latency predictor
``defaults``                   default evaluator, dataset and objectives (:class:`SpaceDefaults`)
=============================  ===================================================================
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np

from hynas.core.arch import Architecture
from hynas.core.errors import HynasError

if TYPE_CHECKING:
    from hynas.core.opgraph import OpGraph

__all__ = ["FACTS", "Dim", "SearchSpace", "SpaceDefaults"]

#: the facts a space may provide to cost models (methods of :class:`SearchSpace`)
FACTS = (
    "op_graph",
    "input_shape",
    "example_input",
    "lm_config",
    "sequence_length",
    "lut_networks",
    "lut_modules",
    "latency_tables",
    "latency_samples",
)


@dataclass(frozen=True)
class Dim:
    """One categorical decision: a name and its choices (printable values)."""

    name: str
    choices: tuple[Any, ...]

    def __len__(self) -> int:
        return len(self.choices)


@dataclass(frozen=True)
class SpaceDefaults:
    """What ``hynas search --space NAME`` uses when the user names no evaluator/dataset/objectives."""

    evaluator: str
    dataset: str | None
    objectives: tuple[str, ...]


class SearchSpace(abc.ABC):
    """Base class of every search space.

    Subclasses set ``name`` and ``dims`` and implement ``format``/``parse``. They may override
    ``canonicalize`` (map equivalent genes to one form), ``is_valid`` (hard validity rules),
    ``encode``-style methods and ``build``.
    """

    name: str = ""
    dims: tuple[Dim, ...] = ()
    #: default evaluator, dataset and objectives of a search of this space (None: name them)
    defaults: SpaceDefaults | None = None

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

    # -- facts for cost models (see the module docstring) ---------------------------------------
    def provides(self, fact: str) -> bool:
        """Whether this space implements ``fact`` (one of :data:`FACTS`)."""
        if fact not in FACTS:
            raise HynasError(f"unknown space fact {fact!r}; valid: {', '.join(FACTS)}")
        return getattr(type(self), fact) is not getattr(SearchSpace, fact)

    def lacks(self, fact: str, needed_by: str = "this cost model") -> NoReturn:
        """Raise the one error for a fact this space does not provide."""
        raise HynasError(
            f"space {self.name!r} does not provide {fact} (needed by {needed_by}); spaces provide it "
            f"by implementing SearchSpace.{fact} (see docs/hardware.md)"
        )

    def op_graph(
        self,
        arch: Architecture,
        batch: int = 1,
        dtype_bytes: int = 4,
        resolution: int | None = None,
        **options: Any,
    ) -> OpGraph:
        """The operators of ``arch``'s network in execution order, without building it.

        ``resolution`` overrides the input size; ``options`` are the model builder's size options
        (an unknown one raises ``TypeError``). ``batch``/``dtype_bytes`` are already checked.
        """
        self.lacks("op_graph", "analytic costs")

    def input_shape(
        self, arch: Architecture, batch: int = 1, resolution: int | None = None
    ) -> tuple[int, ...]:
        """The shape of the input tensor the network of ``arch`` takes, e.g. (N, 3, H, W)."""
        self.lacks("input_shape", "measured latency")

    def example_input(self, arch: Architecture, batch: int = 1, resolution: int | None = None) -> Any:
        """A random input batch, seeded so that every call gives the same tensor. Spaces whose
        input is not a normal tensor of :meth:`input_shape` (token ids, several tensors) override
        this; otherwise cost models draw one of :meth:`input_shape` themselves."""
        self.lacks("example_input", "measured latency")

    def lm_config(self, arch: Architecture) -> Any:
        """The language-model configuration of ``arch`` (long-context LM cost models)."""
        self.lacks("lm_config", "the long-context LM cost models")

    def sequence_length(self, arch: Architecture) -> int:
        """The default number of tokens the network of ``arch`` reads (its context)."""
        self.lacks("sequence_length", "the long-context LM cost models")

    def lut_networks(self) -> list[Architecture]:
        """Architectures whose operators together include every operator key the space can
        produce: what a per-operator latency lookup table (``hynas hw profile``) must time."""
        self.lacks("lut_networks", "latency lookup tables")

    def lut_modules(self, arch: Architecture, model: Any) -> dict[str, Any]:
        """Operator name (as in :meth:`op_graph`) -> the module of the built ``model`` that runs it."""
        self.lacks("lut_modules", "latency lookup tables")

    def lut_standalone(self, name: str, outputs: Mapping[str, tuple[int, ...]]) -> Callable[[], Any] | None:
        """A callable that runs operator ``name`` alone when it has no module of its own (a node
        sum, a functional pool); ``outputs`` are the output shapes of the modules seen in a forward
        pass. None: the space has no such operator of that name."""
        return None

    def latency_tables(self) -> dict[str, str]:
        """Devices with measured latency tables for this space: device -> description."""
        return {}

    def latency_samples(
        self, device: str, n: int | None = None, seed: int = 0
    ) -> tuple[list[Architecture], np.ndarray]:
        """``n`` seeded random rows (all rows when None) of the latency table of ``device`` (ms)."""
        self.lacks("latency_samples", "latency predictors trained on measured tables")

    def predictor_features(self, arch: Architecture) -> list[float]:
        """Extra structural features of ``arch`` for the few-shot latency predictor (none by default)."""
        return []
