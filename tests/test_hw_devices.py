from __future__ import annotations

import math

import pytest

from hynas.core.errors import HynasError
from hynas.hw.devices import DEVICE_CATALOG, get_device


def test_catalog_has_the_issue_devices_with_documented_orders_of_magnitude():
    for name in ("h100", "a100", "rtx4090", "jetson-orin", "raspi4", "phone-cpu", "pixel3"):
        assert name in DEVICE_CATALOG
    h100, a100, pi = get_device("h100"), get_device("a100"), get_device("raspi4")
    # spec-sheet values (dense, no sparsity), see the module docstring
    assert h100.peak_flops["fp16"] == pytest.approx(989e12)
    assert a100.peak_flops["fp32"] == pytest.approx(19.5e12)
    assert a100.mem_bw == pytest.approx(2.039e12)
    assert pi.peak_flops["fp32"] == pytest.approx(48e9) and pi.mem_bw == pytest.approx(12.8e9)
    for dev in DEVICE_CATALOG.values():
        assert dev.mem_bw > 0 and dev.mem_bytes > 0
        assert all(v > 0 for v in dev.peak_flops.values())
        # ridge point (FLOP per byte at which compute and memory take equally long) of real chips
        assert 1 < dev.peak_flops["fp32"] / dev.mem_bw < 100


def test_unknown_device_and_dtype_give_one_clear_error():
    with pytest.raises(HynasError, match=r"unknown device 'tpu9'.*a100.*h100.*local"):
        get_device("tpu9")
    with pytest.raises(HynasError, match="no fp8 peak; known dtypes: fp32"):
        get_device("raspi4").flops_per_s("fp8")


def test_local_is_calibrated_by_micro_benchmarks():
    dev = get_device("local")
    assert dev.source == "micro-benchmark"
    assert math.isfinite(dev.peak_flops["fp32"]) and 1e8 < dev.peak_flops["fp32"] < 1e14
    assert 1e8 < dev.mem_bw < 1e13
    assert get_device("local") is dev  # measured once per process


def test_local_calibration_at_a_fixed_thread_count_restores_torch_threads():
    import torch

    from hynas.hw.roofline import calibrate_local

    before = torch.get_num_threads()
    dev = calibrate_local(1)
    assert torch.get_num_threads() == before
    assert "torch threads 1" in dev.description
    assert 1e-7 < dev.launch_overhead_s < 1e-2  # eager dispatch of a tiny conv + BN + ReLU


def test_catalog_devices_with_a_table_are_calibrated_the_others_keep_the_spec_sheet():
    from hynas.hw.devices import SPEC_CATALOG, calibration_note

    assert set(DEVICE_CATALOG) == set(SPEC_CATALOG)
    for name, dev in DEVICE_CATALOG.items():
        spec = get_device(name, calibrated=False)
        assert spec is SPEC_CATALOG[name] and spec.calibration is None and not spec.fold_constants
        if name in ("raspi4", "pixel3"):
            assert dev.calibration is not None and dev.efficiency < 1 and dev != spec
            assert dev.calibration.table == f"HW-NAS-Bench latency@{name}" and dev.calibration.n_train == 50
            assert "calibrated on HW-NAS-Bench" in dev.source
            assert calibration_note(name).startswith("yes: ")
        else:
            assert dev is spec and calibration_note(name) == "no (spec sheet)"
    assert calibration_note("eyeriss") == "-"  # a table device without a catalog entry


def test_devices_module_does_not_import_the_roofline():
    import subprocess
    import sys

    code = "import sys, hynas.hw.devices; print('hynas.hw.roofline' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
