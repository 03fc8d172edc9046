"""Per-operator latency lookup table (FBNet / once-for-all style).

FBNet (Wu et al., "FBNet: Hardware-Aware Efficient ConvNet Design via Differentiable Neural
Architecture Search", CVPR 2019) and once-for-all (Cai et al., ICLR 2020) predict a network's
latency as the sum of its operators' latencies, each measured once per (operator, input shape)
on the target device. Here:

1. every distinct operator key ``kind|shape`` of a space (the :class:`~hynas.hw.ops.OpCost` rows
   of :func:`hynas.hw.analytic.arch_ops`) is found on a few *covering* architectures that contain
   all of them;
2. each key is timed once, on the real module of a built covering network, with PyTorch eager at
   a fixed batch size and thread count (warm-up, repeats, median): by default *inside* full
   forward passes of that network (forward pre/post hooks), so that it sees the cache state of a
   real run (timed alone in a loop, with its inputs and weights hot in cache, an operator runs
   up to ~2× faster than in the network on a CPU); ``mode="isolated"`` times it alone;
3. a few random networks are measured end to end, and a least-squares fit gives
   ``latency ≈ scale × Σ_ops t(op) + overhead`` (``fit="affine"``; ``fit="offset"`` keeps
   ``scale = 1``), which absorbs the Python glue between modules and in-network cache effects.

The table is saved as JSON with the device fingerprint. Predicting an architecture whose operator
the table lacks (another space, resolution or batch) raises :class:`HynasError` naming the operator.
This module builds tables (steps 1-3); the table itself (prediction, the fit, the file) is
:class:`~hynas.hw.lut_table.LatencyTable`, re-exported here.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.hw.analytic import arch_ops
from hynas.hw.lut_table import FITS, FORMAT, MIN_FIT_NETWORKS, LatencyTable, default_lut_path, op_key
from hynas.hw.measure import (
    clock_fn,
    example_input,
    fingerprint,
    measure_callable,
    measure_module,
    torch_threads,
)

__all__ = [
    "FITS",
    "FORMAT",
    "MODES",
    "STATS",
    "LatencyTable",
    "build_lut",
    "covering_archs",
    "default_lut_path",
    "lut_spaces",
]

# -- covering architectures -------------------------------------------------------------------------


def covering_archs(space_name: str) -> list[Architecture]:
    """Architectures whose operators together include every operator key the space can produce
    (the space's ``lut_networks`` fact)."""
    from hynas.spaces import get_space

    space = get_space(space_name)
    if not space.provides("lut_networks"):
        raise HynasError(
            f"no latency lookup table for space {space_name!r}; spaces with tables: {', '.join(lut_spaces())}"
        )
    return space.lut_networks()


def lut_spaces() -> tuple[str, ...]:
    """The registered spaces that provide what a lookup table needs (``lut_networks``)."""
    from hynas.spaces import SPACES, get_space

    return tuple(n for n in SPACES.names() if get_space(n).provides("lut_networks"))


MODES = ("network", "isolated")
_STATS: dict[str, Callable[[Any], float]] = {
    "median": lambda v: float(np.median(v)),
    "min": lambda v: float(np.min(v)),
}
STATS = tuple(_STATS)


def _time_ops(
    arch: Architecture,
    model: Any,
    wanted: dict[str, str],
    batch: int,
    threads: int,
    warmup: int,
    repeats: int,
    mode: str = "network",
    stat: str = "median",
    clock: str = "wall",
) -> dict[str, float]:
    """``stat`` (median or min) seconds of each operator named in ``wanted`` (name -> key).

    ``network``: timed inside full forward passes of ``model`` (pre/post forward hooks), so each
    operator sees the cache state it has in a real run; ``isolated``: the module alone in a loop
    on a tensor of the shape it gets in the network. Operators without a module of their own (the
    NB201 node sums, the mobile global pool) are always timed alone.
    """
    import torch

    from hynas.spaces import get_space

    now = clock_fn(clock, threads)
    space = get_space(arch.space)
    mods = space.lut_modules(arch, model)
    inputs: dict[str, tuple[int, ...]] = {}
    outputs: dict[str, tuple[int, ...]] = {}
    spans: dict[str, list[float]] = {name: [] for name in wanted if name in mods}
    started: dict[str, float] = {}
    hooks = []
    for name, mod in mods.items():

        def post(m: Any, args: Any, out: Any, name: str = name) -> None:
            if name in started:
                spans[name].append(now() - started.pop(name))
            inputs.setdefault(name, tuple(args[0].shape))
            outputs.setdefault(name, tuple(out.shape))

        def pre(m: Any, args: Any, name: str = name) -> None:
            if name in spans:
                started[name] = now()

        if mode == "network":
            hooks.append(mod.register_forward_pre_hook(pre))
        hooks.append(mod.register_forward_hook(post))
    x = example_input(arch, batch)
    with torch_threads(threads), torch.inference_mode():
        for _ in range(warmup + repeats if mode == "network" else 1):
            model(x)
    for h in hooks:
        h.remove()
    times: dict[str, float] = {}
    with torch_threads(threads), torch.inference_mode():
        for name, key in wanted.items():
            fn: Callable[[], Any]
            if name in mods and mode == "network":
                times[key] = _STATS[stat](spans[name][warmup:])
                continue
            if name in mods:
                mod, t = mods[name], torch.randn(inputs[name])
                fn = functools.partial(mod, t)
            else:
                alone = space.lut_standalone(name, outputs)
                if alone is None:
                    raise HynasError(f"no runnable module for operator {name!r} ({key}) of {arch}")
                fn = alone
            times[key] = _STATS[stat](measure_callable(fn, warmup, repeats, clock))
    return times


def build_lut(
    space: str,
    batch: int = 1,
    threads: int = 1,
    warmup: int = 5,
    repeats: int = 20,
    n_fit: int = 10,
    fit: str = "affine",
    seed: int = 0,
    fit_repeats: int = 10,
    mode: str = "network",
    stat: str = "median",
    clock: str = "wall",
    progress: Callable[[str], None] | None = None,
) -> LatencyTable:
    """Profile every operator of ``space`` on this machine and fit the overhead on ``n_fit`` networks.

    ``mode`` is how operators are timed (see :func:`_time_ops`): ``network`` (default) or ``isolated``.
    ``stat`` summarises the repeats of operators and fit networks alike: ``median`` (default) or
    ``min`` (the fastest run). ``clock`` is ``wall`` or ``cpu`` (the thread's CPU time; one
    thread only; see :data:`hynas.hw.measure.CLOCKS`) for operators and fit networks alike.
    """
    from hynas.spaces import get_space

    if fit not in FITS:
        raise HynasError(f"unknown LUT fit {fit!r}; valid fits: {', '.join(FITS)}")
    clock_fn(clock, threads)
    if stat not in STATS:
        raise HynasError(f"unknown LUT statistic {stat!r}; valid: {', '.join(STATS)}")
    if mode not in MODES:
        raise HynasError(f"unknown LUT timing mode {mode!r}; valid modes: {', '.join(MODES)}")
    for fname, value, low in (
        ("batch", batch, 1),
        ("threads", threads, 1),
        ("warmup", warmup, 0),
        ("repeats", repeats, 1),
        ("n_fit", n_fit, MIN_FIT_NETWORKS[fit]),
        ("fit_repeats", fit_repeats, 1),
    ):
        if int(value) < low:
            raise HynasError(f"LUT profiling: {fname} must be >= {low}, got {value}")
    say = progress or (lambda _msg: None)
    cover = covering_archs(space)
    sp = get_space(space)
    t0 = time.perf_counter()
    entries: dict[str, float] = {}
    for i, arch in enumerate(cover):
        wanted = {
            op.name: op_key(op.kind, op.shape)
            for op in arch_ops(arch, batch=batch)
            if op_key(op.kind, op.shape) not in entries
        }
        # one name per new key
        seen: dict[str, str] = {}
        for name, key in wanted.items():
            seen.setdefault(key, name)
        if not seen:
            continue
        model = sp.build(arch).eval()
        entries.update(
            _time_ops(
                arch,
                model,
                {n: k for k, n in seen.items()},
                batch,
                threads,
                warmup,
                repeats,
                mode,
                stat,
                clock,
            )
        )
        say(f"covering network {i + 1}/{len(cover)}: {len(entries)} operators timed")
    op_seconds = time.perf_counter() - t0
    table = LatencyTable(space, "torch", int(batch), int(threads), entries, fingerprint=fingerprint())
    rng = np.random.default_rng(seed)
    fit_archs = [sp.sample(rng) for _ in range(n_fit)]
    models = [sp.build(a).eval() for a in fit_archs]
    inputs = [example_input(a, batch) for a in fit_archs]
    # the fit networks' repeats are spread over interleaved rounds, so that a burst of load from
    # other processes does not land on one network only
    rounds = min(3, fit_repeats)
    samples: list[list[float]] = [[] for _ in fit_archs]
    for r in range(rounds):
        per_round = fit_repeats // rounds + (1 if r < fit_repeats % rounds else 0)
        for j, (model, x) in enumerate(zip(models, inputs, strict=True)):
            m = measure_module(model, x, "torch", threads, 1 if r else 2, per_round, clock)
            samples[j].extend(m.samples_s)
    sums = [table.op_sum(a) for a in fit_archs]
    measured = [_STATS[stat](v) for v in samples]
    say(f"fit networks: {', '.join(f'{t * 1e3:.2f}' for t in measured)} ms")
    table.fit_overhead(sums, measured, fit)
    table.meta = {
        "mode": mode,
        "stat": stat,
        "clock": clock,
        "n_ops": len(entries),
        "n_fit": n_fit,
        "warmup": warmup,
        "repeats": repeats,
        "seed": seed,
        "op_seconds": round(op_seconds, 3),
        "build_seconds": round(time.perf_counter() - t0, 3),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    return table
