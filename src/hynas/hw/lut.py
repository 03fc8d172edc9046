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
"""

from __future__ import annotations

import functools
import json
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.hw.analytic import arch_ops
from hynas.hw.measure import (
    clock_fn,
    example_input,
    fingerprint,
    fingerprint_id,
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

FORMAT = "hynas-lut/1"
FITS = ("affine", "offset")
#: networks measured end to end that each fit needs: an affine line through two noisy points can
#: have any slope, and then predicts negative latencies for small networks
MIN_FIT_NETWORKS = {"affine": 3, "offset": 1}


def _key(kind: str, shape: str) -> str:
    return f"{kind}|{shape}"


@dataclass
class LatencyTable:
    """Measured seconds per operator key plus the fitted network-level correction."""

    space: str
    runtime: str
    batch: int
    threads: int
    entries: dict[str, float]
    scale: float = 1.0
    overhead_s: float = 0.0
    fit: str = "affine"
    fingerprint: dict[str, str] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    # -- prediction ------------------------------------------------------------------------------
    def op_sum(self, arch: Architecture) -> float:
        """Σ of the table's operator latencies over ``arch``'s operators (seconds)."""
        if arch.space != self.space:
            raise HynasError(
                f"the latency table covers space {self.space!r}, not {arch.space!r}; "
                f"profile it with `hynas hw profile --space {arch.space}`"
            )
        total = 0.0
        for op in arch_ops(arch, batch=self.batch):
            key = _key(op.kind, op.shape)
            t = self.entries.get(key)
            if t is None:
                raise HynasError(
                    f"the latency table for {self.space!r} (batch {self.batch}) has no entry for operator "
                    f"{key!r} ({op.name} of {arch}); rebuild it with `hynas hw profile --space {self.space}`"
                )
            total += t
        return total

    def predict(self, arch: Architecture) -> float:
        """Predicted seconds: ``scale × Σ ops + overhead``; a table whose fit predicts a latency
        that is not positive is one clear error, never a negative latency."""
        t = self.scale * self.op_sum(arch) + self.overhead_s
        if not (math.isfinite(t) and t > 0):
            raise HynasError(
                f"the latency table for {self.space!r} predicts {t * 1e3:.4g} ms for {arch}: its fit "
                f"(scale {self.scale:.4g}, overhead {self.overhead_s * 1e3:.4g} ms) is unreliable; rebuild it "
                f"with more fit networks (`hynas hw profile --space {self.space} --n-fit 10`)"
            )
        return t

    def fit_overhead(self, sums: Iterable[float], measured: Iterable[float], fit: str = "affine") -> None:
        """Least-squares fit of ``measured ≈ scale × sums + overhead`` (``offset``: scale fixed at 1)."""
        if fit not in FITS:
            raise HynasError(f"unknown LUT fit {fit!r}; valid fits: {', '.join(FITS)}")
        s, m = np.asarray(list(sums), float), np.asarray(list(measured), float)
        if len(s) < MIN_FIT_NETWORKS[fit]:
            raise HynasError(
                f"the {fit} LUT fit needs at least {MIN_FIT_NETWORKS[fit]} measured networks, got {len(s)} "
                "(--n-fit)"
            )
        scale, overhead = 1.0, float(np.mean(m - s))
        if fit == "affine":
            a = np.stack([s, np.ones_like(s)], axis=1)
            (sc, ov), *_ = np.linalg.lstsq(a, m, rcond=None)
            if sc > 0:
                scale, overhead = float(sc), float(ov)
        if not np.all(scale * s + overhead > 0):
            raise HynasError(
                f"the {fit} LUT fit on {len(s)} networks predicts a latency <= 0 for one of them "
                f"(scale {scale:.4g}, overhead {overhead * 1e3:.4g} ms); measure more fit networks (--n-fit)"
            )
        self.scale, self.overhead_s, self.fit = scale, overhead, fit

    # -- files -----------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "space": self.space,
            "runtime": self.runtime,
            "batch": self.batch,
            "threads": self.threads,
            "scale": self.scale,
            "overhead_s": self.overhead_s,
            "fit": self.fit,
            "fingerprint": self.fingerprint,
            "fingerprint_id": fingerprint_id(self.fingerprint) if self.fingerprint else "",
            "meta": self.meta,
            "entries": dict(sorted(self.entries.items())),
        }

    def save(self, path: str | Path) -> Path:
        p = Path(path).expanduser()
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(json.dumps(self.to_dict(), indent=1))
        except OSError as exc:
            raise HynasError(f"cannot write latency table {p}: {exc}") from None
        return p

    @classmethod
    def load(cls, path: str | Path) -> LatencyTable:
        p = Path(path).expanduser()
        try:
            d = json.loads(p.read_text())
        except FileNotFoundError:
            raise HynasError(
                f"latency table {p} does not exist; build it with `hynas hw profile --out {p}`"
            ) from None
        except (OSError, json.JSONDecodeError) as exc:
            raise HynasError(f"cannot read latency table {p}: {exc}") from None
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise HynasError(f"{p} is not a hynas latency table (expected format {FORMAT!r})")
        try:
            return cls(
                space=str(d["space"]),
                runtime=str(d["runtime"]),
                batch=int(d["batch"]),
                threads=int(d["threads"]),
                entries={str(k): float(v) for k, v in d["entries"].items()},
                scale=float(d["scale"]),
                overhead_s=float(d["overhead_s"]),
                fit=str(d["fit"]),
                fingerprint=dict(d.get("fingerprint", {})),
                meta=dict(d.get("meta", {})),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise HynasError(f"latency table {p} is malformed: {exc!r}") from None


def default_lut_path(space: str) -> Path:
    """Where a space's table lives unless told otherwise: ``$HYNAS_LUT_DIR/lut-<space>.json``
    (default directory ``~/.cache/hynas``)."""
    import os

    root = os.environ.get("HYNAS_LUT_DIR")
    return (Path(root) if root else Path.home() / ".cache" / "hynas") / f"lut-{space}.json"


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
            op.name: _key(op.kind, op.shape)
            for op in arch_ops(arch, batch=batch)
            if _key(op.kind, op.shape) not in entries
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
