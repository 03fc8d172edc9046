"""Supernet training: phase schedules, sandwich rule, bit-exact resume, BN recalibration (Fashion-MNIST)."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from fmnist_util import need_fmnist
from hynas.core.errors import HynasError
from hynas.spaces import get_space
from hynas.spaces.mobile import MobileSpace
from hynas.supernets import ElasticMobileConfig, ElasticMobileNet, load_supernet
from hynas.supernets.train import (
    SupernetTrainConfig,
    evaluate_subnet,
    fmnist_inputs,
    recalibrate_bn,
    sample_arch,
    train_supernet,
)
from hynas.training import load_checkpoint, read_checkpoint

torch.set_num_threads(1)
TINY = MobileSpace(resolutions=(128, 160), kernels=(3, 5), expands=(3, 4), depths=(1, 2), num_classes=10)
MOBILE: MobileSpace = get_space("mobile")  # type: ignore[assignment]


def _layer_sets(space: MobileSpace, phase: str, local: int = 0, n: int = 1) -> tuple[set[int], ...]:
    rng = np.random.default_rng(0)
    ks, es, ds, rs = set(), set(), set(), set()
    for _ in range(60):
        arch = sample_arch(space, phase, rng, local, n)
        rs.add(space.config(arch).resolution)
        for layers in space.stage_layers(arch):
            ds.add(len(layers))
            ks.update(k for k, _ in layers)
            es.update(e for _, e in layers)
    return ks, es, ds, rs


def test_progressive_phases_open_one_dimension_at_a_time() -> None:
    every = set(MOBILE.resolutions)
    assert _layer_sets(MOBILE, "full") == ({7}, {6}, {4}, every)
    assert _layer_sets(MOBILE, "kernel") == ({3, 5, 7}, {6}, {4}, every)
    assert _layer_sets(MOBILE, "depth", 0, 10) == ({3, 5, 7}, {6}, {3, 4}, every)
    assert _layer_sets(MOBILE, "depth", 5, 10) == ({3, 5, 7}, {6}, {2, 3, 4}, every)
    assert _layer_sets(MOBILE, "expand", 4, 10) == ({3, 5, 7}, {4, 6}, {2, 3, 4}, every)
    assert _layer_sets(MOBILE, "expand", 5, 10) == ({3, 5, 7}, {3, 4, 6}, {2, 3, 4}, every)
    assert _layer_sets(MOBILE, "sandwich") == ({3, 5, 7}, {3, 4, 6}, {2, 3, 4}, every)


def test_config_schedule_and_errors() -> None:
    cfg = SupernetTrainConfig(steps=(2, 1, 4, 3))
    assert cfg.total_steps == 10
    assert [cfg.phase_at(s)[:2] for s in (0, 1, 2, 3, 6, 7, 9)] == [
        ("full", 0), ("full", 1), ("kernel", 0), ("depth", 0), ("depth", 3), ("expand", 0), ("expand", 2),
    ]  # fmt: skip
    assert SupernetTrainConfig(method="sandwich", steps=(5,)).phase_at(4) == ("sandwich", 4, 5)
    with pytest.raises(HynasError, match="valid: progressive, sandwich"):
        SupernetTrainConfig(method="ofa")
    with pytest.raises(HynasError, match="needs 4 step count"):
        SupernetTrainConfig(steps=(10,))
    with pytest.raises(HynasError, match="batch"):
        SupernetTrainConfig(batch=0)
    with pytest.raises(HynasError, match="sandwich_resolution 'min'; valid: extremes, random"):
        SupernetTrainConfig(method="sandwich", steps=(5,), sandwich_resolution="min")
    with pytest.raises(HynasError, match="sandwich schedule only"):
        SupernetTrainConfig(sandwich_resolution="random")  # progressive
    for decay in (-0.1, 1.0, float("nan"), True):
        with pytest.raises(HynasError, match=r"ema_decay must be in \[0, 1\)"):
            SupernetTrainConfig(ema_decay=decay)


def _fmnist() -> dict[str, np.ndarray]:
    need_fmnist()
    from hynas.evaluators.vision import load_fmnist

    return load_fmnist()


def _net() -> ElasticMobileNet:
    torch.manual_seed(0)
    return ElasticMobileNet(TINY, ElasticMobileConfig(num_classes=10, resolution_scale=0.125))


def _same(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return list(sa) == list(sb) and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_progressive_training_runs_the_phases_and_resumes_bitwise(tmp_path: Path) -> None:
    data = _fmnist()
    cfg = SupernetTrainConfig(steps=(1, 1, 2, 2), batch=8, checkpoint_every=2)
    straight = _net()
    sorts: list[int] = []
    original = straight.reorganize_channels
    straight.reorganize_channels = lambda: (sorts.append(1), original())[1]  # type: ignore[method-assign]
    records = train_supernet(straight, cfg, data)
    assert [r.phase for r in records] == ["full", "kernel", "depth", "depth", "expand", "expand"]
    assert records[0].archs[0].endswith("|k5e4-k5e4|k5e4-k5e4|k5e4-k5e4|k5e4-k5e4|k5e4-k5e4")
    assert all(np.isfinite(r.loss) for r in records) and len(sorts) == 1
    # interrupted after step 3, resumed into fresh objects from the checkpoint
    ck = tmp_path / "supernet.safetensors"
    first = train_supernet(_net(), cfg, data, checkpoint=ck, stop_after=3)
    assert [r.step for r in first] == [1, 2, 3]
    resumed = _net()
    rest = train_supernet(resumed, cfg, data, checkpoint=ck)
    assert [r.step for r in rest] == [4, 5, 6]
    assert [r.archs for r in first + rest] == [r.archs for r in records]
    assert _same(resumed, straight)
    # a different configuration is refused, not silently mixed
    with pytest.raises(HynasError, match="another configuration"):
        train_supernet(_net(), SupernetTrainConfig(steps=(1, 1, 2, 2), batch=4), data, checkpoint=ck)


def test_sandwich_trains_largest_smallest_and_random_subnets(tmp_path: Path) -> None:
    data = _fmnist()
    cfg = SupernetTrainConfig(method="sandwich", steps=(2,), batch=8, sandwich_random=1)
    net = _net()
    records = train_supernet(net, cfg, data)
    assert len(records) == 2 and all(len(r.archs) == 3 for r in records)
    assert records[0].archs[:2] == (TINY.format(net.largest()), TINY.format(net.smallest()))
    ck = tmp_path / "s.safetensors"
    train_supernet(_net(), cfg, data, checkpoint=ck, stop_after=1)
    resumed = _net()
    train_supernet(resumed, cfg, data, checkpoint=ck)
    assert _same(resumed, net)


def test_recalibrated_statistics_are_those_of_the_calibration_images() -> None:
    data = _fmnist()
    net = _net()
    arch = TINY.parse("r160|k3e3|k5e4-k3e3|k3e4|k5e3-k5e4|k3e3")
    from hynas.supernets import extract

    sub = extract(net, arch)
    batches = [torch.nn.functional.interpolate(fmnist_inputs(data["train_x"][i : i + 50], data), size=20)
               for i in range(0, 150, 50)]  # fmt: skip
    with torch.no_grad():
        for m in sub.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.fill_(5.0)
    recalibrate_bn(sub.eval(), batches)
    assert not sub.training
    stem_bn = sub.stem[1]  # type: ignore[index]
    with torch.no_grad():
        conv_out = sub.stem[0](torch.cat(batches))  # type: ignore[index]
    torch.testing.assert_close(stem_bn.running_mean, conv_out.mean((0, 2, 3)), rtol=1e-5, atol=1e-6)
    assert stem_bn.momentum == 0.1
    assert all(
        float(m.running_mean.abs().max()) < 5.0 for m in sub.modules() if isinstance(m, torch.nn.BatchNorm2d)
    )


def test_evaluate_subnet_leaves_the_supernet_alone() -> None:
    data = _fmnist()
    net = _net()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    arch = TINY.parse("r128|k3e3|k5e4-k3e3|k3e4|k5e3-k5e4|k3e3")
    scores: list[dict[str, Any]] = [
        evaluate_subnet(net, arch, data, bn_images=100, eval_images=200) for _ in range(2)
    ]
    assert scores[0] == scores[1] and 0 <= scores[0]["accuracy"] <= 100 and scores[0]["loss"] > 0
    after = net.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert Counter(int(y) for y in data["val_y"][:200]).most_common(1)[0][1] < 200  # labels are mixed


def test_frozen_teacher_is_the_full_phase_network_and_resumes(tmp_path: Path) -> None:
    data = _fmnist()
    cfg = SupernetTrainConfig(steps=(1, 1, 1, 1), batch=8, distill="frozen")
    after_full = _net()
    train_supernet(after_full, cfg, data, stop_after=1)
    straight = _net()
    train_supernet(straight, cfg, data)
    ck = tmp_path / "f.safetensors"
    train_supernet(_net(), cfg, data, checkpoint=ck, stop_after=3)
    teacher = _net()
    load_checkpoint(tmp_path / "f.teacher.safetensors", model=teacher, space="mobile",
                    config=read_checkpoint(ck).config, restore_rng=False)  # fmt: skip
    assert _same(teacher, after_full)
    resumed = _net()
    train_supernet(resumed, cfg, data, checkpoint=ck)
    assert _same(resumed, straight)
    inplace = _net()  # from step 3 on the in-place teacher has moved on; the frozen one has not
    train_supernet(inplace, replace(cfg, distill="inplace"), data)
    assert not _same(inplace, straight)
    # without its teacher a resumed run stops with one clear line
    (tmp_path / "f.teacher.safetensors").unlink()
    with pytest.raises(HynasError, match=r"frozen teacher .* is missing"):
        train_supernet(_net(), cfg, data, checkpoint=ck)
    with pytest.raises(HynasError, match="valid: none, inplace"):
        SupernetTrainConfig(method="sandwich", steps=(3,), distill="frozen")


def test_sandwich_extremes_at_random_resolutions_resume_bitwise(tmp_path: Path) -> None:
    """``sandwich_resolution="random"``: the largest and smallest keep their layers but draw their
    input resolution; the default's checkpoints leave the field out, so older ones still resume."""
    data = _fmnist()
    cfg = SupernetTrainConfig(
        method="sandwich", steps=(6,), batch=4, sandwich_random=0, sandwich_resolution="random"
    )
    net = _net()
    records = train_supernet(net, cfg, data)
    big, small = (TINY.format(a).split("|", 1)[1] for a in (net.largest(), net.smallest()))
    assert all(r.archs[0].split("|", 1)[1] == big and r.archs[1].split("|", 1)[1] == small for r in records)
    seen = {(r.archs[0].split("|")[0], r.archs[1].split("|")[0]) for r in records}
    assert {a for a, _ in seen} == {"r128", "r160"} and {b for _, b in seen} == {"r128", "r160"}
    ck = tmp_path / "s.safetensors"
    train_supernet(_net(), cfg, data, checkpoint=ck, stop_after=2)
    assert read_checkpoint(ck).config["train"]["sandwich_resolution"] == "random"
    resumed = _net()
    train_supernet(resumed, cfg, data, checkpoint=ck)
    assert _same(resumed, net)
    with pytest.raises(HynasError, match="sandwich_resolution"):  # not mixed with the default's
        train_supernet(_net(), replace(cfg, sandwich_resolution="extremes"), data, checkpoint=ck)
    default = tmp_path / "d.safetensors"
    train_supernet(_net(), replace(cfg, sandwich_resolution="extremes", steps=(1,)), data, checkpoint=default)
    assert "sandwich_resolution" not in read_checkpoint(default).config["train"]


def test_sandwich_balanced_trains_every_resolution_once_a_step() -> None:
    """``balanced``: the largest at the largest resolution, the smallest at the smallest, and the
    random sub-networks at the resolutions between them, each once a step (two random ones, two
    middle resolutions), so no resolution is trained more often than another."""
    data = _fmnist()
    four = MobileSpace(
        resolutions=(128, 160, 192, 224), kernels=(3,), expands=(3,), depths=(1,), num_classes=10
    )
    torch.manual_seed(0)
    net = ElasticMobileNet(four, ElasticMobileConfig(num_classes=10, resolution_scale=0.125))
    cfg = SupernetTrainConfig(method="sandwich", steps=(4,), batch=4, sandwich_resolution="balanced")
    records = train_supernet(net, cfg, data)
    for r in records:
        res = [a.split("|")[0] for a in r.archs]
        assert res[:2] == ["r224", "r128"] and sorted(res[2:]) == ["r160", "r192"], r.archs
    assert len({r.archs[2].split("|")[0] for r in records}) == 2  # the order is drawn
    # with two resolutions there is no middle: the random ones draw from both
    two = train_supernet(_net(), replace(cfg, steps=(6,), sandwich_random=1), data)
    assert {r.archs[2].split("|")[0] for r in two} == {"r128", "r160"}


@pytest.mark.parametrize("rule", ["shared", "anchored"])
def test_sandwich_shared_and_anchored_draw_one_resolution_a_step(rule: str) -> None:
    """``shared``: all four networks of a step run at the same resolution, drawn per step (as
    once-for-all draws one per batch); ``anchored``: the same, except that the largest network
    stays at the largest resolution. The largest and smallest keep their layers."""
    data = _fmnist()
    four = MobileSpace(
        resolutions=(128, 160, 192, 224), kernels=(3, 5), expands=(3, 6), depths=(1, 2), num_classes=10
    )
    torch.manual_seed(0)
    net = ElasticMobileNet(four, ElasticMobileConfig(num_classes=10, resolution_scale=0.125))
    cfg = SupernetTrainConfig(method="sandwich", steps=(12,), batch=4, sandwich_resolution=rule)
    records = train_supernet(net, cfg, data)
    drawn = 0 if rule == "shared" else 1  # the networks that run at the step's drawn resolution
    seen = set()
    for r in records:
        res = {a.split("|")[0] for a in r.archs[drawn:]}
        assert len(res) == 1 and len(r.archs) == 4, r.archs
        seen |= res
        assert r.archs[0].split("|", 1)[1] == four.format(net.largest()).split("|", 1)[1]
        assert r.archs[1].split("|", 1)[1] == four.format(net.smallest()).split("|", 1)[1]
        if rule == "anchored":
            assert r.archs[0] == four.format(net.largest()), r.archs
    assert len(seen) >= 3, seen  # drawn, not fixed (12 draws from 4)


def test_anchored_draws_as_shared_does_but_for_the_largest() -> None:
    data = _fmnist()
    cfg = SupernetTrainConfig(method="sandwich", steps=(3,), batch=4, sandwich_resolution="anchored")
    shared = train_supernet(_net(), replace(cfg, sandwich_resolution="shared"), data)
    anchored = train_supernet(_net(), cfg, data)
    assert [r.archs[1:] for r in shared] == [r.archs[1:] for r in anchored]
    assert {r.archs[0].split("|")[0] for r in anchored} == {"r160"}  # TINY's largest resolution


def test_resolution_weights_set_the_odds_of_the_step_resolution(tmp_path: Path) -> None:
    """``resolution_weights`` draws the shared resolution in the given proportions (here 1:0-ish:3),
    is kept in the checkpoint's config only when given, and is refused with a clear error for a
    wrong count, a weight <= 0 or a rule that draws no shared resolution."""
    data = _fmnist()
    three = MobileSpace(resolutions=(128, 160, 192), kernels=(3,), expands=(3,), depths=(1,), num_classes=10)
    torch.manual_seed(0)
    net = ElasticMobileNet(three, ElasticMobileConfig(num_classes=10, resolution_scale=0.125))
    cfg = SupernetTrainConfig(
        method="sandwich", steps=(40,), batch=2, sandwich_random=0, sandwich_resolution="anchored",
        resolution_weights=(1.0, 1e-9, 3.0),
    )  # fmt: skip
    ck = tmp_path / "w.safetensors"
    records = train_supernet(net, cfg, data, checkpoint=ck)
    drawn = [r.archs[1].split("|")[0] for r in records]
    assert "r160" not in drawn and 20 <= drawn.count("r192") <= 38, drawn  # 30 expected of 40
    assert all(r.archs[0].startswith("r192") for r in records)  # anchored: the largest at the largest
    assert read_checkpoint(ck).config["train"]["resolution_weights"] == [1.0, 1e-9, 3.0]
    with pytest.raises(HynasError, match="resolution_weights has 2 numbers, the space 3 resolutions"):
        train_supernet(net, replace(cfg, resolution_weights=(1.0, 2.0)), data)
    for bad in ({"resolution_weights": (1.0, 0.0, 1.0)}, {"sandwich_resolution": "extremes"}):
        with pytest.raises(HynasError, match="resolution_weights"):
            replace(cfg, **bad)
    plain = tmp_path / "plain.safetensors"
    train_supernet(_net(), replace(cfg, resolution_weights=(), steps=(1,)), data, checkpoint=plain)
    assert "resolution_weights" not in read_checkpoint(plain).config["train"]


def test_moving_average_is_saved_resumed_and_scored(tmp_path: Path) -> None:
    """``ema_decay``: the checkpoint keeps an exponential moving average of the weights beside the
    last step's; a resumed run ends with both equal to an uninterrupted run's, and
    :func:`load_supernet` gives the averaged weights (the last step's BatchNorm buffers) unless
    ``average=False``."""
    data = _fmnist()
    cfg = SupernetTrainConfig(method="sandwich", steps=(4,), batch=4, sandwich_random=0, ema_decay=0.5)
    net = _net()
    snapshots: list[list[torch.Tensor]] = []
    train_supernet(
        net, cfg, data, on_step=lambda _: snapshots.append([p.detach().clone() for p in net.parameters()])
    )
    expected = snapshots[0]
    for snap in snapshots[1:]:
        expected = [0.5 * e + 0.5 * p for e, p in zip(expected, snap, strict=True)]
    straight = tmp_path / "straight.safetensors"
    train_supernet(_net(), cfg, data, checkpoint=straight)
    ck = tmp_path / "s.safetensors"
    train_supernet(_net(), cfg, data, checkpoint=ck, stop_after=2)
    train_supernet(_net(), cfg, data, checkpoint=ck)
    for path in (straight, ck):
        averaged, info = load_supernet(path)
        last, _ = load_supernet(path, average=False)
        assert info.config["train"]["ema_decay"] == 0.5
        assert _same(last, net)
        for a, e in zip(averaged.parameters(), expected, strict=True):
            torch.testing.assert_close(a, e)
        assert not all(
            torch.equal(a, p) for a, p in zip(averaged.parameters(), net.parameters(), strict=True)
        )
        assert all(torch.equal(a, b) for a, b in zip(averaged.buffers(), net.buffers(), strict=True))
    # a checkpoint without the average does not resume as one with it, nor the other way round
    with pytest.raises(HynasError, match="another configuration"):
        train_supernet(_net(), replace(cfg, ema_decay=0.0), data, checkpoint=ck)
    plain = tmp_path / "plain.safetensors"
    train_supernet(_net(), replace(cfg, ema_decay=0.0, steps=(1,)), data, checkpoint=plain)
    assert "ema_decay" not in read_checkpoint(plain).config["train"]
    assert _same(load_supernet(plain)[0], load_supernet(plain, average=False)[0])
