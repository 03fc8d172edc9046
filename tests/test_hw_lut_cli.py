"""``hynas hw profile``: builds a lookup table file; bad input is one line and exit code 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hynas.hw.lut import LatencyTable
from hynas.spaces import get_space


def _hynas(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from hynas.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.slow
def test_profile_writes_a_usable_table(tmp_path: Path) -> None:
    """Without --out the table goes to $HYNAS_LUT_DIR/lut-<space>.json."""
    out = tmp_path / "lut-nb201.json"
    r = _hynas(
        "hw",
        "profile",
        "--space",
        "nb201",
        "--warmup",
        "0",
        "--repeats",
        "2",
        "--n-fit",
        "3",
        "--json",
        env={"HYNAS_LUT_DIR": str(tmp_path)},
    )
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["operators"] == 21 and summary["path"] == str(out)
    table = LatencyTable.load(out)
    assert table.meta["repeats"] == 2 and table.meta["n_fit"] == 3
    assert table.predict(get_space("nb201").sample(np.random.default_rng(0))) > 0


@pytest.mark.slow
def test_profile_bad_input_is_one_line(tmp_path: Path) -> None:
    for args, needle in (
        (("--space", "nb2O1"), "unknown space 'nb2O1'"),
        (("--space", "hybrid-lm"), "spaces with tables: mobile, nb201"),
    ):
        r = _hynas("hw", "profile", *args, "--out", str(tmp_path / "x.json"))
        assert r.returncode == 2, r.stderr
        assert needle in r.stderr and "Traceback" not in r.stderr
        assert not (tmp_path / "x.json").exists()
