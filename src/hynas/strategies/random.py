"""Random search (Li & Talwalkar 2019; Bergstra & Bengio 2012): uniform samples, no repeats."""

from __future__ import annotations

from hynas.core.strategy import Candidate, Strategy

__all__ = ["RandomSearch"]


class RandomSearch(Strategy):
    """Uniform random architectures, never the same one twice."""

    name = "random"

    def ask(self, n: int = 1) -> list[Candidate]:
        return [self._claim(self._random_fresh()) for _ in range(n)]
