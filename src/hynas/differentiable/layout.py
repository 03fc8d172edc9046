"""The choice layout of a space for differentiable search: slots, their choices, and decoding.

A differentiable method sees a space as a list of *slots* (an NB201 cell edge, a mobile layer
slot), each with a list of named choices; the supernet holds one mixed operation per slot and the
method one architecture weight (α) per choice. :meth:`Layout.decode` turns one choice per slot into
the space's :class:`~hynas.core.arch.Architecture`, so the derived network is an ordinary member
of the space that every evaluator, cost model, report and export reads.

- ``nb201``: 6 edges × the 5 cell operations (``none``, ``skip_connect``, ``nor_conv_1x1``,
  ``nor_conv_3x3``, ``avg_pool_3x3``); the genes are the choices.
- ``mobile``: the 5 stages × ``max(depths)`` layer slots of :class:`hynas.spaces.mobile.MobileSpace`,
  each a kernel × expand choice (``k3e3`` ... ``k7e6``); the slots past the smallest depth also
  offer ``skip`` (an identity), as ProxylessNAS and FBNet search depth. A stage's network keeps
  its non-skipped layers in order, so skipping slot 2 of a depth-4 stage gives a depth-3 stage.
  The input resolution is not searched: it is fixed per run (option ``resolution``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.core.space import SearchSpace

__all__ = ["SKIP", "SUPPORTED_SPACES", "Layout", "layout_for"]

SKIP = "skip"
SUPPORTED_SPACES = ("nb201", "mobile")


@dataclass(frozen=True)
class Layout:
    """Slots (names), each slot's choices (names), and the space they decode into."""

    space: SearchSpace
    slots: tuple[str, ...]
    choices: tuple[tuple[str, ...], ...]
    resolution: int | None = None  # mobile: the fixed input resolution

    def decode(self, picks: list[int] | tuple[int, ...]) -> Architecture:
        """The architecture with choice ``picks[i]`` in slot ``i``."""
        if len(picks) != len(self.slots):
            raise HynasError(f"need one choice per slot ({len(self.slots)}), got {len(picks)}")
        names = [self.choices[i][int(p)] for i, p in enumerate(picks)]
        if self.space.name == "nb201":
            from hynas.models.nb201_cell import OPS

            return Architecture("nb201", tuple(OPS.index(n) for n in names))
        per = len(self.slots) // _stages()
        stages = ["-".join(n for n in names[s * per : (s + 1) * per] if n != SKIP) for s in range(_stages())]
        return self.space.parse(f"r{self.resolution}|" + "|".join(stages))

    def reference(self) -> tuple[int, ...]:
        """The all-first-choice picks (the reference network of :mod:`hynas.differentiable.cost`)."""
        return tuple(0 for _ in self.slots)


def _stages() -> int:
    from hynas.models.mobile_config import STAGES

    return len(STAGES)


def layout_for(space: SearchSpace, method: str, resolution: int | None = None) -> Layout:
    """The layout of ``space`` (``nb201`` or ``mobile``); one clear error for any other space."""
    if space.name == "nb201":
        from hynas.models.nb201_cell import EDGES, OPS

        edges = tuple(f"edge{to}<-{frm}" for to, frm in EDGES)
        return Layout(space, edges, tuple(OPS for _ in edges))
    if space.name == "mobile":
        sp: Any = space
        res = sp.resolutions[0] if resolution is None else int(resolution)
        if res not in sp.resolutions:
            raise HynasError(
                f"{method}: resolution {res} is not a choice of the mobile space; valid: "
                + ", ".join(map(str, sp.resolutions))
            )
        ke = tuple(f"k{k}e{e}" for k in sp.kernels for e in sp.expands)
        slots: list[str] = []
        choices: list[tuple[str, ...]] = []
        for s in range(_stages()):
            for layer in range(sp.max_depth):
                slots.append(f"s{s + 1}.l{layer}")
                choices.append(ke + ((SKIP,) if layer >= min(sp.depths) else ()))
        if len(set(sp.depths)) != sp.max_depth - min(sp.depths) + 1:
            raise HynasError(f"{method}: the mobile space's depths must be consecutive, got {sp.depths}")
        return Layout(space, tuple(slots), tuple(choices), res)
    raise HynasError(
        f"{method} does not support space {space.name!r}; differentiable methods search: "
        + ", ".join(SUPPORTED_SPACES)
    )
