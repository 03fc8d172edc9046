"""The differentiable benchmark's table: per-epoch drift columns, thinned for long searches."""

from __future__ import annotations

import sys

from bench_util import BENCH, load_bench

sys.path.insert(0, str(BENCH))  # the script imports its sibling ``jsonfile``
bd = load_bench("differentiable")


def _runs(n: int) -> list[dict]:
    """Two seeds of ``n`` epochs: skips 0, 1, 2, ... and 2, 3, 4, ...; skip share 0.2 + e/1000."""
    return [
        {"epochs": [{"skips": e + off, "skip_share": 0.2 + e / 1000} for e in range(n)]} for off in (0, 2)
    ]


def test_short_searches_show_every_epoch() -> None:
    assert bd._per_epoch(_runs(3), "skips", 1) == "1: 1, 2: 2, 3: 3"


def test_long_searches_show_every_few_epochs_and_the_last() -> None:
    text = bd._per_epoch(_runs(23), "skips", 1)
    picks = [int(p.split(":")[0]) for p in text.split(", ")]
    assert picks == [3, 6, 9, 12, 15, 18, 21, 23]
    assert text.endswith("23: 23")  # mean of 22 and 24
    assert bd._per_epoch(_runs(50), "skip_share", 3).endswith("50: 0.249")


def test_the_table_has_the_skip_share_column(tmp_path) -> None:
    final = {"cifar10_test": 90.0, "fmnist_standalone": 85.0, "skips": 1, "param_free": 2}
    runs = [{**r, "method": "darts", "final": final, "wall_s": 10.0, "peak_mb": 900} for r in _runs(12)]
    res = {"command": "c", "note": "n", "nb201": {"config": {}, "runs": runs, "blackbox": [],
           "equal_queries": 1, "mean_search_s": 10.0, "standalone_s_per_cell": 5.0}}  # fmt: skip
    bd.write_md(res, tmp_path / "t.md")
    row = next(line for line in (tmp_path / "t.md").read_text().splitlines() if line.startswith("| darts"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[6] == "2: 2, 4: 4, 6: 6, 8: 8, 10: 10, 12: 12"
    assert cells[7] == "2: 0.201, 4: 0.203, 6: 0.205, 8: 0.207, 10: 0.209, 12: 0.211"
