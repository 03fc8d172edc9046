"""Random search (Li & Talwalkar 2019; Bergstra & Bengio 2012): uniform samples, no repeats."""

from __future__ import annotations

from hynas.core.arch import Architecture
from hynas.core.strategy import Strategy

__all__ = ["RandomSearch"]


class RandomSearch(Strategy):
    """Uniform random architectures, never the same one twice."""

    name = "random"

    def propose(self) -> Architecture:
        return self._random_fresh()
