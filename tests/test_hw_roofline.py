from __future__ import annotations

import pytest

from hynas.hw.analytic import arch_ops
from hynas.hw.devices import Device, get_device
from hynas.hw.ops import OpCost
from hynas.hw.roofline import roofline_latency, window_work
from hynas.spaces import get_space

DEV = Device("toy", "toy", {"fp32": 1e9}, 1e8, 1e9, launch_overhead_s=1e-3)


def _op(flops: float, nbytes: float) -> OpCost:
    return OpCost("x", "conv", "s", flops, nbytes)


def test_each_op_takes_the_slower_of_compute_and_memory_plus_overhead():
    compute_bound = _op(1e9, 1e6)  # 1 s of compute, 0.01 s of memory
    memory_bound = _op(1e6, 1e8)  # 0.001 s of compute, 1 s of memory
    assert roofline_latency([compute_bound], DEV) == pytest.approx(1.0 + 1e-3)
    assert roofline_latency([memory_bound], DEV) == pytest.approx(1.0 + 1e-3)
    assert roofline_latency([compute_bound, memory_bound], DEV) == pytest.approx(2.0 + 2e-3)
    assert roofline_latency([], DEV) == 0.0


def test_efficiency_calibration_slows_the_device_down():
    slow = DEV.with_calibration(efficiency=0.5, bandwidth_eff=0.5)
    assert roofline_latency([_op(1e9, 1e6)], slow) == pytest.approx(2.0 + 1e-3)
    assert roofline_latency([_op(1e6, 1e8)], slow) == pytest.approx(2.0 + 1e-3)


def test_real_networks_rank_devices_and_sizes_sensibly():
    sp = get_space("nb201")
    small = sp.parse(
        "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|"
    )
    big = sp.parse(
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    )
    for dev in ("a100", "raspi4"):
        d = get_device(dev)
        assert roofline_latency(arch_ops(big), d) > roofline_latency(arch_ops(small), d)
    ops = arch_ops(big)
    assert roofline_latency(ops, get_device("h100")) < roofline_latency(ops, get_device("raspi4")) / 10
    # fp16 on a tensor-core GPU is faster than fp32 for the compute-bound network
    a100 = get_device("a100")
    assert roofline_latency(arch_ops(big, dtype_bytes=2), a100, "fp16") < roofline_latency(ops, a100, "fp32")


def test_pooling_windows_run_at_their_own_rate():
    pool = OpCost("p", "avg_pool_3x3", "c1_r1", 0.0, 8e6)  # 1e6 fp32 outputs, 9 reads each
    assert window_work(pool, 4) == pytest.approx(9e6)
    assert window_work(OpCost("g", "global_avgpool", "c1_r1", 0.0, 4e6), 4) == pytest.approx(1e6)
    assert window_work(_op(1e9, 1e6), 4) == 0.0
    # at the ideal rate the pool is memory-bound; at 1% of peak it is bound by its windows
    assert roofline_latency([pool], DEV) == pytest.approx(8e6 / 1e8 + 1e-3)
    slow = DEV.with_calibration(window_eff=0.01)
    assert roofline_latency([pool], slow) == pytest.approx(9e6 / 1e7 + 1e-3)
