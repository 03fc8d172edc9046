from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from hynas.core.errors import HynasError
from hynas.hw.validate import score, validate


def test_score_rank_and_error():
    truth = np.array([1.0, 2.0, 3.0, 4.0])
    tau, rho, mape = score(truth * 2, truth, in_ms=True)
    assert tau == pytest.approx(1.0) and rho == pytest.approx(1.0) and mape == pytest.approx(1.0)
    tau, rho, mape = score(truth[::-1], truth, in_ms=False)
    assert tau == pytest.approx(-1.0) and rho == pytest.approx(-1.0) and mape is None
    with pytest.raises(HynasError, match="at least 3 paired values"):
        score([1.0, 2.0], [1.0, 2.0], True)


@pytest.mark.slow
def test_validate_against_a_hw_nas_bench_table():
    rows = validate("nb201", n=60, k=10, devices=["fpga"])
    by = {r.estimator: r for r in rows}
    assert set(by) == {"predictor:fpga", "fewshot:fpga (k=10)", "flops (proxy)", "params (proxy)"}
    assert all(r.truth == "fpga" and r.n == 60 for r in rows)
    # the learned predictor beats the proxies on this table
    assert by["predictor:fpga"].spearman > by["params (proxy)"].spearman
    assert by["predictor:fpga"].mape is not None and by["predictor:fpga"].mape < 0.1
    assert by["flops (proxy)"].mape is None


@pytest.mark.slow
def test_validate_shows_the_roofline_before_and_after_calibration():
    by = {r.estimator: r for r in validate("nb201", n=200, k=10, devices=["pixel3"])}
    cal, spec, flops = by["roofline:pixel3"], by["roofline:pixel3 (spec sheet)"], by["flops (proxy)"]
    assert cal.mape is not None and spec.mape is not None
    assert cal.mape < 0.25 < spec.mape  # measured: 15.9% and 76.1% on these 200 cells (seed 0)
    assert cal.kendall > spec.kendall and cal.kendall > flops.kendall


def test_validate_bad_input():
    with pytest.raises(HynasError, match="unknown HW-NAS-Bench device 'tpu'; valid: eyeriss"):
        validate(devices=["tpu"])
    with pytest.raises(HynasError, match="covers spaces mobile and nb201"):
        validate("hybrid-lm")
    with pytest.raises(HynasError, match="nothing to validate for space 'mobile'"):
        validate("mobile")
    with pytest.raises(HynasError, match="bad k=1"):
        validate(k=1)


def _hynas(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-c", "from hynas.cli import main; main()", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, env={**os.environ, **env})


@pytest.mark.slow
def test_cli_validate_prints_json_and_errors_cleanly(tmp_path):
    env = {"HYNAS_LATENCY_CACHE": str(tmp_path / "lat.sqlite"), "HYNAS_LUT_DIR": str(tmp_path)}
    args = ["hw", "validate", "--n", "30", "--device", "eyeriss", "--measure", "5", "--k", "4", "--json"]
    r = _hynas(*args, env=env)
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    names = {(x["truth"], x["estimator"]) for x in rows}
    assert ("eyeriss", "fewshot:eyeriss (k=4)") in names
    assert ("local", "roofline:local") in names and ("local", "fewshot:local (k=4)") in names
    assert all(-1 <= x["spearman"] <= 1 for x in rows)
    r = _hynas("hw", "validate", "--device", "tpu", env=env)
    assert r.returncode == 2 and "unknown HW-NAS-Bench device 'tpu'" in r.stderr
    assert "Traceback" not in r.stderr
