"""Measured latency: statistics, runtimes, the SQLite cache and failures."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from hynas.core.errors import HynasError
from hynas.hw.measure import (
    LatencyCache,
    Measurement,
    MeasurementError,
    fingerprint,
    fingerprint_id,
    measure_latency,
    measure_module,
)
from hynas.spaces import get_space

SMALL = "|nor_conv_1x1~0|+|skip_connect~0|none~1|+|none~0|none~1|avg_pool_3x3~2|"


def test_fingerprint_names_cpu_and_libraries() -> None:
    fp = fingerprint()
    assert {"cpu", "cores", "torch", "onnxruntime", "numpy", "python"} <= set(fp)
    assert fp["torch"] == torch.__version__
    assert len(fingerprint_id()) == 16
    assert fingerprint_id({**fp, "cpu": "other"}) != fingerprint_id()


@pytest.mark.parametrize("runtime", ["torch", "onnxruntime"])
def test_measure_module_statistics(runtime: str) -> None:
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU())
    m = measure_module(model, torch.randn(2, 3, 16, 16), runtime=runtime, threads=1, warmup=1, repeats=7)
    assert len(m.samples_s) == 7 and m.batch == 2 and m.input_shape == (2, 3, 16, 16)
    assert min(m.samples_s) <= m.q1_s <= m.median_s <= m.q3_s <= max(m.samples_s)
    assert m.iqr_s == pytest.approx(m.q3_s - m.q1_s)
    assert Measurement.from_json(m.to_json()) == m


def test_larger_network_measures_slower() -> None:
    small = torch.nn.Conv2d(8, 8, 1)
    big = torch.nn.Sequential(*(torch.nn.Conv2d(8, 8, 3, padding=1) for _ in range(30)))
    x = torch.randn(1, 8, 32, 32)
    t_small = measure_module(small, x, warmup=2, repeats=9).median_s
    t_big = measure_module(big, x, warmup=2, repeats=9).median_s
    assert t_big > 3 * t_small


def test_cache_hit_and_key(tmp_path: Path) -> None:
    arch = get_space("nb201").parse(SMALL)
    path = tmp_path / "lat.sqlite"
    calls: list[int] = []

    def build(a: object) -> torch.nn.Module:
        calls.append(1)
        return get_space("nb201").build(arch, N=1)

    first = measure_latency(arch, warmup=0, repeats=3, cache=path, build=build)
    again = measure_latency(arch, warmup=0, repeats=3, cache=path, build=build)
    assert again == first and len(calls) == 1
    measure_latency(arch, warmup=0, repeats=3, batch=2, cache=path, build=build)  # another key
    assert len(calls) == 2
    cache = LatencyCache(path)
    assert len(cache) == 2
    hit = cache.get(str(arch), "torch", 1, 1, (1, 3, 32, 32))
    assert hit == first
    assert cache.get(str(arch), "onnxruntime", 1, 1, (1, 3, 32, 32)) is None
    cache.close()


def test_crash_in_measurement_is_a_measurement_error() -> None:
    arch = get_space("nb201").parse(SMALL)

    class Broken(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            raise RuntimeError("kernel exploded")

    with pytest.raises(MeasurementError, match="kernel exploded"):
        measure_latency(arch, warmup=0, repeats=1, build=lambda a: Broken())

    def no_build(a: object) -> torch.nn.Module:
        raise MemoryError("out of memory")

    with pytest.raises(MeasurementError, match="out of memory"):
        measure_latency(arch, warmup=0, repeats=1, build=no_build)


def test_bad_input_is_a_hynas_error(tmp_path: Path) -> None:
    arch = get_space("nb201").parse(SMALL)
    with pytest.raises(HynasError, match="unknown runtime 'tvm'"):
        measure_latency(arch, runtime="tvm")
    with pytest.raises(HynasError, match="threads must be >= 1"):
        measure_latency(arch, threads=0)
    with pytest.raises(HynasError, match="cannot open latency cache"):
        LatencyCache(tmp_path)  # a directory, not a file


def test_cpu_clock_and_cache_key(tmp_path: Path) -> None:
    arch = get_space("nb201").parse(SMALL)
    path = tmp_path / "lat.sqlite"

    def build(a: object) -> torch.nn.Module:
        return get_space("nb201").build(arch, N=1)

    wall = measure_latency(arch, warmup=0, repeats=3, cache=path, build=build)
    cpu = measure_latency(arch, warmup=0, repeats=3, cache=path, build=build, clock="cpu")
    assert (wall.clock, cpu.clock) == ("wall", "cpu") and cpu.median_s > 0
    cache = LatencyCache(path)
    assert len(cache) == 2
    assert cache.get(str(arch), "torch", 1, 1, (1, 3, 32, 32), "cpu") == cpu
    cache.close()
    with pytest.raises(HynasError, match="needs threads=1"):
        measure_latency(arch, threads=2, clock="cpu")
    with pytest.raises(HynasError, match="valid clocks: wall, cpu"):
        measure_latency(arch, clock="gpu")
