"""``zc@<proxy>`` objectives: a zero-cost proxy as a cost model (larger is better).

Registered on import (listed in :data:`hynas.plugins.MODULES`). The model is ``space.build(arch)``
at the space's defaults, initialised with a seed fixed per architecture, and scored on a seeded
random batch, so a value is a deterministic function of the architecture.
"""

from __future__ import annotations

import zlib

import torch

from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.core.metrics import CostModel, MetricInfo, register_resolver
from hynas.core.space import SearchSpace
from hynas.proxies import PROXIES, score

__all__ = ["ProxyCostModel"]


class ProxyCostModel(CostModel):
    """One zero-cost proxy evaluated on ``space.build(arch)``; values cached per architecture."""

    def __init__(self, proxy: str, space: SearchSpace, batch: int = 64, seed: int = 0) -> None:
        if proxy not in PROXIES:
            raise HynasError(f"unknown zero-cost proxy {proxy!r}; valid: {', '.join(PROXIES)}")
        self.proxy, self.space, self.batch, self.seed = proxy, space, batch, seed
        self.info = MetricInfo(f"zc@{proxy}", "max", "", f"zero-cost proxy {proxy} at initialisation")
        self._cache: dict[Architecture, float] = {}

    def __call__(self, arch: Architecture) -> float:
        if arch not in self._cache:
            torch.manual_seed(self.seed + zlib.crc32(repr(arch.genes).encode()))
            model = self.space.build(arch)
            self._cache[arch] = score(model, self.proxy, batch=self.batch, seed=self.seed)
        return self._cache[arch]


def _resolve(name: str, space: SearchSpace) -> CostModel | None:
    if not name.startswith("zc@"):
        return None
    proxy = name[3:]
    if proxy not in PROXIES:
        raise HynasError(f"unknown zero-cost proxy {name!r}; valid: {', '.join('zc@' + p for p in PROXIES)}")
    if type(space).build is SearchSpace.build:
        raise HynasError(f"zero-cost proxies need PyTorch models, and space {space.name!r} cannot build them")
    return ProxyCostModel(proxy, space)


register_resolver(
    _resolve, ("zc@<proxy>", f"zero-cost proxy at initialisation, larger is better: {', '.join(PROXIES)}")
)
