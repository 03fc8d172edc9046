"""The search-space contract (:class:`hynas.core.space.SearchSpace`), as reusable checks.

``check_space(space)``: sampled architectures are members; ``format``/``parse`` round-trip and
``str(arch)`` is the canonical string (the space must be registered, as searching needs anyway);
a mutation is a different member; encodings are finite vectors; neighbours are distinct members
other than the architecture itself. ``check_space_model(space)``: for spaces that build PyTorch
networks, a forward pass gives finite outputs of the batch size, and where the space gives
analytic costs (``op_graph`` or ``lm_config``) the parameter count equals that of the built model.
"""

from __future__ import annotations

import numpy as np

from hynas.core.errors import HynasError
from hynas.core.space import SearchSpace
from hynas.testing._assert import expect

__all__ = ["check_space", "check_space_model"]


def check_space(space: SearchSpace, samples: int = 50, seed: int = 0) -> None:
    """Membership, string round trip, mutation, encodings and neighbours on ``samples`` draws."""
    name = space.name
    rng = np.random.default_rng(seed)
    expect(name and space.dims, f"space {type(space).__name__} has no name or no dimensions")
    for _ in range(samples):
        arch = space.sample(rng)
        expect(space.contains(arch), f"space {name!r}: sample {arch!r} is not a member")
        text = space.format(arch)
        expect(space.parse(text) == arch, f"space {name!r}: parse(format(a)) != a for {text!r}")
        expect(str(arch) == text, f"space {name!r}: str(arch) is not format(arch) for {text!r}")
        child = space.mutate(arch, rng)
        expect(space.contains(child) and child != arch, f"space {name!r}: bad mutation of {text!r}")
        for kind in space.encodings():
            enc = space.encode(arch, kind)
            expect(
                enc.ndim == 1 and np.isfinite(enc).all(),
                f"space {name!r}: encoding {kind!r} of {text!r} is not a finite vector",
            )
    arch = space.sample(np.random.default_rng(seed + 1))
    nbrs = space.neighbours(arch)
    expect(nbrs, f"space {name!r}: {arch} has no neighbours")
    expect(len(set(nbrs)) == len(nbrs), f"space {name!r}: repeated neighbours of {arch}")
    expect(arch not in nbrs, f"space {name!r}: {arch} is its own neighbour")
    expect(all(space.contains(n) for n in nbrs), f"space {name!r}: a neighbour of {arch} is not a member")


def check_space_model(space: SearchSpace, seeds: tuple[int, ...] = (0, 1)) -> bool:
    """Forward pass and parameter count of the networks of random architectures; ``False`` (and
    nothing checked) when the space builds no models."""
    import torch

    from hynas.hw.analytic import analytic_costs
    from hynas.hw.measure import example_input

    name = space.name
    analytic = space.provides("op_graph") or space.provides("lm_config")
    for seed in seeds:
        arch = space.sample(np.random.default_rng(seed))
        try:
            model = space.build(arch).eval()
        except HynasError:
            return False
        with torch.inference_mode():
            out = model(example_input(arch, batch=2))
        expect(out.shape[0] == 2, f"space {name!r}: output of {arch} does not keep the batch size")
        expect(torch.isfinite(out).all(), f"space {name!r}: non-finite output for {arch}")
        head = getattr(model, "classifier", None)
        if isinstance(head, torch.nn.Linear):
            expect(out.shape == (2, head.out_features), f"space {name!r}: output shape {tuple(out.shape)}")
        if analytic:
            n = sum(p.numel() for p in model.parameters())
            got = analytic_costs(arch)["params"]
            expect(got == n, f"space {name!r}: analytic params {got} != built model's {n} for {arch}")
    return True
