"""Per-operator latency lookup table: coverage, prediction, fit, files and errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hynas.core.errors import HynasError
from hynas.hw.analytic import arch_ops
from hynas.hw.lut import LatencyTable, build_lut, covering_archs
from hynas.spaces import get_space


@pytest.fixture(scope="module")
def nb201_table() -> LatencyTable:
    # six fit networks: with three, the fitted overhead went negative once at a load of 4 on 2 cores
    return build_lut("nb201", warmup=1, repeats=3, n_fit=6, fit_repeats=5)


def _keys(arch: object) -> set[str]:
    return {f"{o.kind}|{o.shape}" for o in arch_ops(arch)}  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["nb201", "mobile"])
def test_covering_archs_contain_every_operator(name: str) -> None:
    covered: set[str] = set()
    for arch in covering_archs(name):
        covered |= _keys(arch)
    space = get_space(name)
    rng = np.random.default_rng(0)
    for _ in range(100):
        assert _keys(space.sample(rng)) <= covered


def test_table_predicts_every_architecture_and_orders_extremes(nb201_table: LatencyTable) -> None:
    space = get_space("nb201")
    assert nb201_table.meta["n_ops"] == len(nb201_table.entries) == 21
    rng = np.random.default_rng(1)
    for _ in range(20):
        assert nb201_table.predict(space.sample(rng)) > 0
    heavy = space.parse(
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    )
    light = space.parse("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    assert nb201_table.op_sum(heavy) > 2 * nb201_table.op_sum(light)
    assert nb201_table.predict(heavy) == pytest.approx(
        nb201_table.scale * nb201_table.op_sum(heavy) + nb201_table.overhead_s
    )


def test_save_load_roundtrip(nb201_table: LatencyTable, tmp_path: Path) -> None:
    path = nb201_table.save(tmp_path / "sub" / "lut.json")
    loaded = LatencyTable.load(path)
    assert loaded.entries == nb201_table.entries
    assert (loaded.scale, loaded.overhead_s, loaded.batch, loaded.space) == (
        nb201_table.scale,
        nb201_table.overhead_s,
        1,
        "nb201",
    )
    arch = get_space("nb201").sample(np.random.default_rng(2))
    assert loaded.predict(arch) == nb201_table.predict(arch)
    assert json.loads(path.read_text())["fingerprint"]["cpu"]


def test_missing_operator_and_wrong_space_are_clear_errors(nb201_table: LatencyTable) -> None:
    space = get_space("nb201")
    arch = space.parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|none~0|none~1|none~2|")
    partial = LatencyTable(
        "nb201", "torch", 1, 1, {k: v for k, v in nb201_table.entries.items() if "nor_conv_3x3" not in k}
    )
    with pytest.raises(HynasError, match=r"no entry for operator 'nor_conv_3x3\|c16_r32'"):
        partial.predict(arch)
    mobile = get_space("mobile").sample(np.random.default_rng(0))
    with pytest.raises(HynasError, match="covers space 'nb201', not 'mobile'"):
        nb201_table.predict(mobile)
    with pytest.raises(HynasError, match="spaces with tables: mobile, nb201"):
        covering_archs("hybrid-lm")
    with pytest.raises(HynasError, match="n_fit must be >= 3"):
        build_lut("nb201", n_fit=2)
    with pytest.raises(HynasError, match="unknown LUT timing mode"):
        build_lut("nb201", mode="fast")


def test_fit_recovers_scale_and_overhead() -> None:
    table = LatencyTable("nb201", "torch", 1, 1, {})
    sums = np.array([1.0, 2.0, 3.0, 5.0]) * 1e-3
    table.fit_overhead(sums, 1.3 * sums + 4e-4)
    assert table.scale == pytest.approx(1.3) and table.overhead_s == pytest.approx(4e-4)
    table.fit_overhead(sums, sums + 2e-4, fit="offset")
    assert table.scale == 1.0 and table.overhead_s == pytest.approx(2e-4)
    with pytest.raises(HynasError, match="unknown LUT fit"):
        table.fit_overhead(sums, sums, fit="spline")


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(HynasError, match="does not exist"):
        LatencyTable.load(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"hello": 1}))
    with pytest.raises(HynasError, match="not a hynas latency table"):
        LatencyTable.load(bad)
    bad.write_text("{not json")
    with pytest.raises(HynasError, match="cannot read"):
        LatencyTable.load(bad)
