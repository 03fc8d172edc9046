"""The calibrated roofline devices: the fit, the shipped parameters and their held-out scores."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import resources

import numpy as np
import pytest
from scipy import stats

from hynas.core.errors import HynasError
from hynas.hw.analytic import analytic_costs, arch_latency, arch_ops
from hynas.hw.calibrate import _Ops, _theta, calibratable, calibrate, fit_device, split, table
from hynas.hw.devices import CALIBRATION_FILE, DEVICE_CATALOG, FITTED, SPEC_CATALOG, get_device
from hynas.spaces import get_space


def _shipped() -> dict:
    with resources.files("hynas.data").joinpath(CALIBRATION_FILE).open("r", encoding="utf-8") as fh:
        return json.load(fh)["devices"]


def test_the_hw_nas_bench_catalog_devices_are_calibrated_and_shipped():
    assert calibratable() == ["pixel3", "raspi4"]
    assert sorted(_shipped()) == calibratable()
    for name in calibratable():
        dev = DEVICE_CATALOG[name]
        assert dev.calibration is not None and dev.fold_constants
        assert 0 < dev.efficiency < 1 and 0 < dev.window_eff < 1
        assert dev.peak_flops == SPEC_CATALOG[name].peak_flops  # spec peaks stay, fractions are fitted
        assert get_device(name, calibrated=False).calibration is None


def test_fit_is_deterministic_under_a_seed_and_moves_with_it():
    a, b = fit_device("raspi4", n_train=20, seed=3), fit_device("raspi4", n_train=20, seed=3)
    assert a == b
    c = fit_device("raspi4", n_train=20, seed=4)
    assert c.efficiency != a.efficiency


def test_refitting_reproduces_the_shipped_parameters():
    for name, rec in _shipped().items():
        f = rec["fit"]
        dev = fit_device(name, f["n_train"], f["seed"])
        for k in FITTED:
            assert getattr(dev, k) == pytest.approx(rec["params"][k], rel=1e-5, abs=1e-12), (name, k)


def test_split_is_disjoint_and_leaves_the_front_to_hw_validate():
    train, test = split(50, 1000, 0, 15_625)
    assert len(set(train) | set(test)) == 1050
    front = np.random.default_rng(0).permutation(15_625)[:1210]  # validate's n=200, k=10, 1,000 train
    assert not set(front) & (set(train) | set(test))


@pytest.mark.parametrize(
    ("name", "n"),
    [("raspi4", 200), ("pixel3", 200)]
    + [pytest.param(d, None, marks=pytest.mark.slow) for d in ("raspi4", "pixel3")],
)
def test_shipped_parameters_meet_the_targets_on_held_out_cells(name, n):
    """Recomputed from the shipped parameters and the shipped table, on all the held-out cells
    (slow) or the first 200 of them (where raspi4's τ margin over FLOPs is within the noise of
    200 cells, so only MAPE and the gain over the spec sheet are asserted there)."""
    rec = _shipped()[name]
    f, held = rec["fit"], rec["held_out"]
    _, all_archs, all_y = table(name)
    _, test = split(f["n_train"], f["n_test"], f["seed"], len(all_y))
    test = test[:n]
    archs, y = [all_archs[i] for i in test], all_y[test]
    dev = get_device(name)  # the catalog device, as the objective latency@roofline:<name> uses it
    pred = _Ops.of(archs, dev.fold_constants).latency_ms(dev, _theta(dev))
    flops = np.array([analytic_costs(a)["flops"] for a in archs])
    mape = float(np.mean(np.abs(pred - y) / y))
    tau, flops_tau = stats.kendalltau(pred, y).statistic, stats.kendalltau(flops, y).statistic
    spec = np.array([arch_latency(a, get_device(name, calibrated=False)) * 1e3 for a in archs])
    assert mape <= 0.25 < np.mean(np.abs(spec - y) / y)  # the spec-sheet roofline misses by far more
    assert tau > stats.kendalltau(spec, y).statistic
    if n is None:  # the targets hold on the whole held-out set, and the shipped scores are these
        assert tau > flops_tau
        assert (mape, tau, flops_tau) == pytest.approx(
            (held["mape"], held["kendall"], held["flops_kendall"]), abs=1e-4
        )


def test_vectorised_fit_model_is_the_catalog_roofline():
    dev = DEVICE_CATALOG["raspi4"]
    archs = [table("raspi4")[1][i] for i in (0, 1, 3, 7, 1234, 15_000)]
    fast = _Ops.of(archs, True).latency_ms(dev, _theta(dev))
    slow = [arch_latency(a, dev) * 1e3 for a in archs]
    assert fast == pytest.approx(slow, rel=1e-9)


def test_constant_folding_drops_zero_edges_and_disconnected_networks():
    sp = get_space("nb201")
    # node 1 is zero, so node 2 = conv(zero) and node 3 = conv(node 2) are constants: nothing runs
    cut = sp.parse("|none~0|+|none~0|nor_conv_3x3~1|+|none~0|none~1|nor_conv_3x3~2|")
    assert arch_ops(cut, fold_constants=True) == []
    assert arch_latency(cut, DEVICE_CATALOG["raspi4"]) == 0.0
    a = sp.parse("|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_1x1~2|")
    full, kept = arch_ops(a), arch_ops(a, fold_constants=True)
    assert [o.kind for o in full].count("none") == 30 and all(o.kind != "none" for o in kept)
    # node 3 = skip(node 0) + conv1x1(node 2): the only add left per cell; the add of a zero is gone
    assert [o.kind for o in kept].count("add") == 15
    assert {o.name for o in kept} <= {o.name for o in full}


def test_bad_input_gives_one_clear_error():
    with pytest.raises(HynasError, match="unknown device 'tpu9' to calibrate; calibratable: pixel3, raspi4"):
        calibrate(["tpu9"])
    with pytest.raises(HynasError, match="'a100' has no measured latency table"):
        fit_device("a100")
    with pytest.raises(HynasError, match="'eyeriss' has a measured table but no catalog entry"):
        calibrate(["eyeriss"])
    with pytest.raises(HynasError, match="bad sample sizes n_train=2"):
        fit_device("raspi4", n_train=2)
    with pytest.raises(HynasError, match="n_test=15600: at least 5 and 3, together at most 15625"):
        calibrate(["raspi4"], n_test=15_600)


def test_list_devices_shows_the_calibration():
    from hynas.catalog import catalog

    cols, rows = catalog()["devices"]
    col = cols.index("roofline calibrated")
    by = {r[0]: r[col] for r in rows}
    assert by["raspi4"].startswith("yes: HW-NAS-Bench latency@raspi4: fitted on 50 nb201 cells (seed 0)")
    assert "held-out 1000: MAPE" in by["pixel3"] and by["a100"] == "no (spec sheet)"
    r = subprocess.run(
        [sys.executable, "-c", "from hynas.cli import main; main()", "list", "devices"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "250"},
    )
    assert r.returncode == 0, r.stderr
    assert "roofline calibrated" in r.stdout and "latency@raspi4: fitted on 50" in r.stdout


def test_the_mobile_default_objective_is_a_calibrated_device():
    from hynas.spaces import get_space

    lat = [o for o in get_space("mobile").defaults.objectives if o.startswith("latency@roofline:")]
    assert lat and DEVICE_CATALOG[lat[0].split(":", 1)[1]].calibration is not None
