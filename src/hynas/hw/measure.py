"""Measured latency on this machine: PyTorch eager and ONNX Runtime, cached per device fingerprint.

A measurement fixes the runtime, thread count, batch size and input shape, runs ``warmup``
untimed forward passes and then ``repeats`` timed ones, and reports the median and the
inter-quartile range. The clock is wall time (``time.perf_counter``) or, with ``clock="cpu"`` and
one thread, the calling thread's CPU time (``time.thread_time``): on a machine shared with other
jobs that leaves out the time the process waits for a core, which is most of the noise. ONNX Runtime runs the model exported with ``torch.onnx``
(the TorchScript exporter, which is several times faster than the dynamo one for these CNNs) on
the CPU execution provider with sequential execution and ``intra_op_num_threads = threads``.

Results are cached in an SQLite file keyed by (architecture string, runtime, batch, threads, input
shape, clock, device fingerprint); values are JSON. The default path is ``$HYNAS_LATENCY_CACHE`` or
``~/.cache/hynas/latency.sqlite``. The fingerprint (CPU model, logical cores, OS, Python, torch,
onnxruntime and numpy versions) changes when the machine or the libraries change, so a cache can be
shared between machines without mixing their numbers.

A failure while building, exporting or running a model raises :class:`MeasurementError`; the runner
records such a trial as failed and the search goes on.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import platform
import sqlite3
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from hynas.core.arch import Architecture
from hynas.core.errors import HynasError

__all__ = [
    "CLOCKS",
    "RUNTIMES",
    "LatencyCache",
    "Measurement",
    "MeasurementError",
    "clock_fn",
    "default_cache_path",
    "example_input",
    "fingerprint",
    "fingerprint_id",
    "measure_callable",
    "measure_latency",
    "measure_module",
    "torch_threads",
]

RUNTIMES = ("torch", "onnxruntime")
#: ``wall``: elapsed time (``time.perf_counter``); ``cpu``: CPU time of the calling thread
#: (``time.thread_time``), which excludes the time the process waits while other processes run,
#: so it is far less noisy on a shared machine; it needs ``threads=1`` (work on other threads is
#: not counted).
CLOCKS = ("wall", "cpu")
_CLOCK_FNS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.thread_time}


class MeasurementError(RuntimeError):
    """Building, exporting or running a model for timing failed (a failed trial, not a user error)."""


@dataclass(frozen=True)
class Measurement:
    """Latency statistics of one (model, runtime, batch, threads, input shape) in seconds."""

    median_s: float
    iqr_s: float
    q1_s: float
    q3_s: float
    runtime: str
    batch: int
    threads: int
    input_shape: tuple[int, ...]
    warmup: int
    repeats: int
    fingerprint: str
    clock: str = "wall"
    samples_s: tuple[float, ...] = field(default=(), repr=False)

    @property
    def median_ms(self) -> float:
        return self.median_s * 1e3

    @property
    def noise(self) -> float:
        """Relative run-to-run spread, IQR / median."""
        return self.iqr_s / self.median_s if self.median_s > 0 else float("nan")

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Measurement:
        d = json.loads(text)
        d["input_shape"] = tuple(d["input_shape"])
        d["samples_s"] = tuple(d.get("samples_s", ()))
        return cls(**d)


# -- device fingerprint ----------------------------------------------------------------------------


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown"


@cache
def fingerprint() -> dict[str, str]:
    """What identifies this machine and software stack for latency numbers."""
    import torch

    try:
        import onnxruntime

        ort_version = onnxruntime.__version__
    except ImportError:  # pragma: no cover - onnxruntime is a dependency
        ort_version = "absent"
    return {
        "cpu": _cpu_model(),
        "cores": str(os.cpu_count() or 0),
        "machine": platform.machine(),
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "torch": torch.__version__,
        "onnxruntime": ort_version,
        "numpy": np.__version__,
    }


def fingerprint_id(fp: dict[str, str] | None = None) -> str:
    """A short stable hash of :func:`fingerprint`."""
    text = json.dumps(fp if fp is not None else fingerprint(), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# -- timing ------------------------------------------------------------------------------------------


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(n)`` and restore the previous setting."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _check(batch: int, threads: int, warmup: int, repeats: int) -> None:
    for fname, value, low in (
        ("batch", batch, 1),
        ("threads", threads, 1),
        ("warmup", warmup, 0),
        ("repeats", repeats, 1),
    ):
        if int(value) < low:
            raise HynasError(f"latency measurement: {fname} must be >= {low}, got {value}")


def clock_fn(clock: str, threads: int = 1) -> Callable[[], float]:
    """The timer of ``clock`` (see :data:`CLOCKS`); a :class:`HynasError` for a bad choice."""
    if clock not in CLOCKS:
        raise HynasError(f"unknown clock {clock!r}; valid clocks: {', '.join(CLOCKS)}")
    if clock == "cpu" and threads != 1:
        raise HynasError(f"clock 'cpu' counts the calling thread only; it needs threads=1, got {threads}")
    return _CLOCK_FNS[clock]


def measure_callable(
    fn: Callable[[], Any], warmup: int = 3, repeats: int = 10, clock: str = "wall"
) -> tuple[float, ...]:
    """Seconds per call of ``fn`` for ``repeats`` timed calls after ``warmup`` untimed ones."""
    now = clock_fn(clock)
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeats):
        t = now()
        fn()
        out.append(now() - t)
    return tuple(out)


def _stats(samples: tuple[float, ...]) -> tuple[float, float, float]:
    q1, med, q3 = (float(v) for v in np.percentile(samples, [25, 50, 75]))
    return med, q1, q3


def export_onnx(model: Any, example: Any) -> bytes:
    """The ONNX bytes of ``model`` traced on ``example`` (TorchScript exporter, constant folding)."""
    import torch

    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (example,), buf, dynamo=False, input_names=["x"], output_names=["y"])  # type: ignore[arg-type]
    return buf.getvalue()


def _onnx_session(data: bytes, threads: int) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.log_severity_level = 3
    return ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])


def measure_module(
    model: Any,
    example: Any,
    runtime: str = "torch",
    threads: int = 1,
    warmup: int = 3,
    repeats: int = 10,
    clock: str = "wall",
) -> Measurement:
    """Time one forward pass of a ``torch.nn.Module`` on ``example`` (in eval mode, no autograd)."""
    import torch

    if runtime not in RUNTIMES:
        raise HynasError(f"unknown runtime {runtime!r}; valid runtimes: {', '.join(RUNTIMES)}")
    _check(int(example.shape[0]), threads, warmup, repeats)
    clock_fn(clock, threads)
    model.eval()
    try:
        if runtime == "torch":
            with torch_threads(threads), torch.inference_mode():
                samples = measure_callable(lambda: model(example), warmup, repeats, clock)
        else:
            with torch_threads(threads):
                sess = _onnx_session(export_onnx(model, example), threads)
            feed = {sess.get_inputs()[0].name: example.numpy()}
            samples = measure_callable(lambda: sess.run(None, feed), warmup, repeats, clock)
    except HynasError:
        raise
    except Exception as exc:
        raise MeasurementError(f"{runtime} latency measurement failed: {type(exc).__name__}: {exc}") from exc
    med, q1, q3 = _stats(samples)
    return Measurement(
        med,
        q3 - q1,
        q1,
        q3,
        runtime,
        int(example.shape[0]),
        threads,
        tuple(example.shape),
        warmup,
        repeats,
        fingerprint_id(),
        clock,
        samples,
    )


def example_input(arch: Architecture, batch: int = 1, resolution: int | None = None) -> Any:
    """A random input batch for the network of ``arch`` (seeded, so every call gives the same
    tensor): the space's ``example_input`` fact (token ids for language models), else a normal
    tensor of its ``input_shape`` (images)."""
    from hynas.spaces import get_space

    space = get_space(arch.space)
    if space.provides("example_input"):
        return space.example_input(arch, batch, resolution)
    if not space.provides("input_shape"):
        space.lacks("input_shape", "measured latency")
    import torch

    gen = torch.Generator().manual_seed(0)
    return torch.randn(*space.input_shape(arch, batch, resolution), generator=gen)


# -- cache -------------------------------------------------------------------------------------------


def default_cache_path() -> Path:
    """``$HYNAS_LATENCY_CACHE`` or ``~/.cache/hynas/latency.sqlite``."""
    env = os.environ.get("HYNAS_LATENCY_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "hynas" / "latency.sqlite"


class LatencyCache:
    """SQLite cache of :class:`Measurement` values (JSON) keyed by what fixes a measurement."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path).expanduser() if path is not None else default_cache_path()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=30)
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS latency (arch TEXT, runtime TEXT, batch INTEGER, threads INTEGER,"
                " shape TEXT, clock TEXT, fingerprint TEXT, value TEXT NOT NULL, created REAL,"
                " PRIMARY KEY (arch, runtime, batch, threads, shape, clock, fingerprint))"
            )
            self._db.commit()
        except sqlite3.Error as exc:
            raise HynasError(f"cannot open latency cache {self.path}: {exc}; give another path") from None

    @staticmethod
    def _key(
        arch: str, runtime: str, batch: int, threads: int, shape: tuple[int, ...], clock: str, fp: str
    ) -> tuple[Any, ...]:
        return (arch, runtime, int(batch), int(threads), "x".join(map(str, shape)), clock, fp)

    def get(
        self, arch: str, runtime: str, batch: int, threads: int, shape: tuple[int, ...], clock: str = "wall"
    ) -> Measurement | None:
        row = self._db.execute(
            "SELECT value FROM latency WHERE arch=? AND runtime=? AND batch=? AND threads=? AND shape=?"
            " AND clock=? AND fingerprint=?",
            self._key(arch, runtime, batch, threads, shape, clock, fingerprint_id()),
        ).fetchone()
        return Measurement.from_json(row[0]) if row else None

    def put(self, arch: str, m: Measurement) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO latency VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                *self._key(arch, m.runtime, m.batch, m.threads, m.input_shape, m.clock, m.fingerprint),
                m.to_json(),
                time.time(),
            ),
        )
        self._db.commit()

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM latency").fetchone()[0])

    def close(self) -> None:
        self._db.close()


def measure_latency(
    arch: Architecture,
    runtime: str = "torch",
    batch: int = 1,
    threads: int = 1,
    warmup: int = 3,
    repeats: int = 10,
    resolution: int | None = None,
    cache: LatencyCache | str | Path | None = None,
    build: Callable[[Architecture], Any] | None = None,
    clock: str = "wall",
) -> Measurement:
    """Measured latency of ``arch``'s network on this machine (from ``cache`` when already measured).

    ``cache`` is a :class:`LatencyCache`, a path, or ``None`` for no caching. ``build`` overrides
    the space's model builder (tests use it to inject failures).
    """
    from hynas.spaces import get_space

    if runtime not in RUNTIMES:
        raise HynasError(f"unknown runtime {runtime!r}; valid runtimes: {', '.join(RUNTIMES)}")
    _check(batch, threads, warmup, repeats)
    clock_fn(clock, threads)
    space = get_space(arch.space)
    space.validate(arch)
    example = example_input(arch, batch, resolution)
    key = str(arch)
    store = LatencyCache(cache) if isinstance(cache, str | Path) else cache
    try:
        if store is not None and (
            hit := store.get(key, runtime, batch, threads, tuple(example.shape), clock)
        ):
            return hit
        try:
            model = (build or space.build)(arch)
        except HynasError:
            raise
        except Exception as exc:
            raise MeasurementError(f"building {key} failed: {type(exc).__name__}: {exc}") from exc
        m = measure_module(model, example, runtime, threads, warmup, repeats, clock)
        if store is not None:
            store.put(key, m)
        return m
    finally:
        if store is not None and store is not cache:
            store.close()
