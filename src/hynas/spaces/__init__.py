"""Search spaces, by name: ``get_space("nb201")``; ``SPACES.names()`` lists them."""

from __future__ import annotations

from functools import cache

from hynas.core.registry import Registry
from hynas.core.space import SearchSpace
from hynas.spaces.ecnas import ECNASSpace
from hynas.spaces.hybrid_convert import ConversionSpace, tiny_conversion_space
from hynas.spaces.hybrid_lm import HybridLMSpace
from hynas.spaces.mobile import MobileSpace
from hynas.spaces.nb201 import NB201Space

__all__ = ["SPACES", "ECNASSpace", "NB201Space", "get_space"]

SPACES: Registry[SearchSpace] = Registry("space", SearchSpace)
SPACES.register("nb201")(NB201Space)
SPACES.register("mobile")(MobileSpace)
SPACES.register("hybrid-lm")(HybridLMSpace)
SPACES.register("ecnas")(ECNASSpace)
SPACES.add("hybrid-convert", ConversionSpace, "conversions of a trained Transformer into a hybrid")
SPACES.add("hybrid-convert-tiny", tiny_conversion_space, "conversions of the tiny 4-layer Transformer")


@cache
def get_space(name: str) -> SearchSpace:
    """The (shared, stateless) space object registered under ``name``."""
    return SPACES.create(name)
