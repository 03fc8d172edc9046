"""The architecture value.

An :class:`Architecture` is a frozen, hashable point of a search space: the space's name plus one
integer gene per dimension (an index into that dimension's choices). The space turns it into one
canonical string (``space.format``) and back (``space.parse``); ``str(arch)`` gives that string
(the space is found through :mod:`hynas.core.lookup`: its registry stands above core).
Spaces canonicalise genes that do not matter (for example the layers past the chosen depth) so that
equal networks are equal values.
"""

from __future__ import annotations

from dataclasses import dataclass

from hynas.core import lookup

__all__ = ["Architecture"]


@dataclass(frozen=True, slots=True)
class Architecture:
    space: str
    genes: tuple[int, ...]

    def __str__(self) -> str:
        return lookup.space(self.space).format(self)

    def __repr__(self) -> str:
        return f"Architecture({self.space!r}, {self.genes!r})"
