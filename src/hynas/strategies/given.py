"""The ``given`` strategy: evaluate a list of architectures, in order, and nothing else.

What re-scoring needs (``hynas rescore``): a search with a cheap proxy (a supernet's inherited
weights, a conversion plan after a few alignment steps, a zero-cost score) finds a front, then the
front's architectures are evaluated again at full cost, by another evaluator or with other
options. The list is parsed by the space when the run starts, so a string of another space, a typo
or a repeat is one clear error before anything is evaluated. It does not search (``searches =
False``): no seed changes it, and asking past the end of the list is an error (the run's budget
is the list's length).
"""

from __future__ import annotations

from typing import ClassVar

from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.core.strategy import Option, Strategy

__all__ = ["Given"]


class Given(Strategy):
    """Ask the architectures of ``archs`` in order; see the module."""

    name = "given"
    searches = False
    OPTIONS: ClassVar[tuple[Option, ...]] = (
        Option("archs", "strs", None, "architecture strings to evaluate, in order", none=True),
    )

    def __init__(self, archs: str | list[str] | tuple[str, ...] | None = None) -> None:
        self._check_options(locals())
        self.texts = [] if archs is None else [archs] if isinstance(archs, str) else list(archs)

    def reset(self) -> None:
        if not self.texts:
            raise HynasError(
                """strategy 'given' needs the architectures: --strategy-option 'archs=["A", "B"]'"""
            )
        parsed: list[Architecture] = []
        for text in self.texts:
            try:
                arch = self.space.parse(text)
            except HynasError as exc:
                raise HynasError(
                    f"strategy 'given': {text!r} is not a {self.space.name} architecture ({exc})"
                ) from None
            if arch in parsed:
                raise HynasError(f"strategy 'given': {text!r} is listed twice")
            parsed.append(arch)
        self.todo = parsed

    def propose(self) -> Architecture:
        for arch in self.todo:
            if self._fresh(arch):
                return arch
        raise HynasError(
            f"strategy 'given': all {len(self.todo)} given architectures have been asked; "
            f"set the budget to {len(self.todo)}"
        )
