"""Zero-cost proxies as cost models (larger is better), registered on import (listed in
:data:`hynas.plugins.MODULES`).

- ``zc@<proxy>``: computed here. The model is ``space.build(arch)`` at the space's defaults,
  initialised with a seed fixed per architecture, and scored on a seeded random batch, so a value is
  a deterministic function of the architecture.
- ``naswot@nb201``: the NASWOT score its authors computed for every NAS-Bench-201 cell on CIFAR-10
  images (Mellor, Turner, Storkey & Crowley, "Neural Architecture Search without Training", ICML
  2021), shipped in ``hynas/data/nasbench201`` (MIT). A table lookup, so it is free; the 341 cells
  whose score is ``-inf`` in the source (singular kernel) get the lowest finite score.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np

from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.core.metrics import CostModel, MetricInfo, TableCostModel, register_resolver
from hynas.core.space import SearchSpace
from hynas.proxies import NAMES

__all__ = ["ProxyCostModel", "table_naswot"]


class ProxyCostModel(CostModel):
    """One zero-cost proxy evaluated on ``space.build(arch)``; values cached per architecture."""

    def __init__(self, proxy: str, space: SearchSpace, batch: int = 64, seed: int = 0) -> None:
        if proxy not in NAMES:
            raise HynasError(f"unknown zero-cost proxy {proxy!r}; valid: {', '.join(NAMES)}")
        self.proxy, self.space, self.batch, self.seed = proxy, space, batch, seed
        self.info = MetricInfo(f"zc@{proxy}", "max", "", f"zero-cost proxy {proxy} at initialisation")
        self._cache: dict[Architecture, float] = {}

    def __call__(self, arch: Architecture) -> float:
        if arch not in self._cache:
            import torch

            from hynas.proxies.scores import score

            torch.manual_seed(self.seed + zlib.crc32(repr(arch.genes).encode()))
            model = self.space.build(arch)
            self._cache[arch] = score(model, self.proxy, seed=self.seed, inputs=self._inputs(arch, model))
        return self._cache[arch]

    def _inputs(self, arch: Architecture, model: Any) -> tuple[Any, Any]:
        """The seeded batch: token ids with next-token labels where the space reads tokens, else
        normal images of the architecture's input shape with 10 classes of labels."""
        from hynas.proxies.scores import make_batch, token_batch

        if self.space.provides("example_input"):
            x = self.space.example_input(arch, self.batch)
            if not x.is_floating_point():
                return token_batch(model, x, self.seed)
        shape = self.space.input_shape(arch, 1)[1:] if self.space.provides("input_shape") else (3, 32, 32)
        return make_batch(self.batch, tuple(shape), 10, self.seed)


def _check_applies(proxy: str, space: SearchSpace) -> None:
    """Refuse, before any trial runs, a proxy the space's networks cannot give: the input Jacobian
    of token ids (jacov) or the ReLU codes of a network without ReLUs (naswot)."""
    if proxy not in ("jacov", "naswot"):
        return
    import torch

    from hynas.proxies.scores import JACOV_NEEDS_IMAGES

    arch = space.sample(np.random.default_rng(0))
    tokens = space.provides("example_input") and not space.example_input(arch, 1).is_floating_point()
    if proxy == "jacov" and tokens:
        raise HynasError(f"{JACOV_NEEDS_IMAGES} (space {space.name!r})")
    if proxy == "naswot" and not any(isinstance(m, torch.nn.ReLU) for m in space.build(arch).modules()):
        raise HynasError(
            f"zc@naswot scores the ReLU activation codes, and the networks of space {space.name!r} have no "
            "nn.ReLU; use zc@synflow, zc@snip or zc@grad_norm"
        )


def table_naswot(space: SearchSpace) -> TableCostModel:
    """``naswot@nb201``: the NASWOT score shipped with the NAS-Bench-201 table, by cell."""
    from hynas.benchmarks.nb201 import load_table

    vals = np.array(load_table()["naswot"], dtype=np.float64)
    finite = np.isfinite(vals)
    info = MetricInfo(
        "naswot@nb201", "max", "", "NASWOT score (Mellor et al. 2021) on CIFAR-10 images, shipped table"
    )
    return TableCostModel(info, space, np.where(finite, vals, vals[finite].min()))


def _resolve(name: str, space: SearchSpace) -> CostModel | None:
    if name == "naswot@nb201":
        if space.name != "nb201":
            raise HynasError(
                f"naswot@nb201 is tabulated for the NAS-Bench-201 cells of space 'nb201' only, not for "
                f"space {space.name!r}; compute the proxy on the real models instead: zc@naswot"
            )
        return table_naswot(space)
    if not name.startswith("zc@"):
        return None
    proxy = name[3:]
    if proxy not in NAMES:
        raise HynasError(f"unknown zero-cost proxy {name!r}; valid: {', '.join('zc@' + p for p in NAMES)}")
    if type(space).build is SearchSpace.build:
        raise HynasError(f"zero-cost proxies need PyTorch models, and space {space.name!r} cannot build them")
    _check_applies(proxy, space)
    return ProxyCostModel(proxy, space)


register_resolver(
    _resolve,
    ("zc@<proxy>", f"zero-cost proxy at initialisation, larger is better: {', '.join(NAMES)}", "max"),
    (
        "naswot@nb201",
        "NASWOT score shipped with NAS-Bench-201 (CIFAR-10 images), larger is better: nb201",
        "max",
    ),
)
