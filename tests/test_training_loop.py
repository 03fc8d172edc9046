"""The shared resumable loop (ResumableRun) and distillation losses."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from hynas.core.errors import HynasError
from hynas.training import ResumableRun, alignment_loss, kd_loss, read_checkpoint, soft_cross_entropy

CONFIG = {"lr": 0.1}


def _objects() -> tuple[torch.nn.Module, dict[str, torch.optim.Optimizer], np.random.Generator]:
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    alpha = torch.nn.Parameter(torch.zeros(3))
    net.register_parameter("alpha", alpha)
    weights = [p for n, p in net.named_parameters() if n != "alpha"]
    opts = {
        "weights": torch.optim.SGD(weights, lr=0.1, momentum=0.9),
        "arch": torch.optim.Adam([alpha], lr=0.01),
    }
    return net, opts, np.random.default_rng(3)


def _train(path: Path | None, total: int, stop_after: int | None = None) -> tuple[Any, ...]:
    """A bilevel toy run: weights on one batch, alpha on another, data drawn from numpy and torch."""
    net, opts, rng = _objects()
    run = ResumableRun(path, model=net, space="toy", config=CONFIG, kind="toy/bilevel",
                       optimizers=opts, generators={"data": rng}, every=2)  # fmt: skip
    for _ in run.steps(total, stop_after=stop_after):
        x = torch.from_numpy(rng.normal(size=(5, 6)).astype(np.float32)) + 0.1 * torch.randn(5, 6)
        for name in ("weights", "arch"):
            opts[name].zero_grad()
            out = net(x) * torch.softmax(net.get_parameter("alpha"), 0)
            out.pow(2).mean().backward()
            opts[name].step()
    return net.state_dict(), opts["weights"].state_dict(), opts["arch"].state_dict(), rng.random()


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, torch.Tensor):
        return torch.equal(a, b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def test_stopped_and_resumed_run_ends_bitwise_equal_to_a_straight_one(tmp_path: Path) -> None:
    straight = _train(None, 9)
    path = tmp_path / "run.safetensors"
    _train(path, 9, stop_after=4)
    assert read_checkpoint(path).step == 4
    resumed = _train(path, 9)
    assert read_checkpoint(path).step == 9
    assert _same(straight, resumed)
    assert not _same(straight, _train(None, 8)), "the comparison must see a one-step difference"


def test_checkpoints_are_saved_every_n_steps_and_at_the_end(tmp_path: Path) -> None:
    path = tmp_path / "run.safetensors"
    net, opts, rng = _objects()
    run = ResumableRun(path, model=net, space="toy", config=CONFIG, kind="toy/bilevel", optimizers=opts,
                       generators={"data": rng}, every=3)  # fmt: skip
    seen = []
    for step in run.steps(7):
        seen.append((step, read_checkpoint(path).step if path.exists() else None))
    assert seen == [(0, None), (1, None), (2, None), (3, 3), (4, 3), (5, 3), (6, 6)]
    assert read_checkpoint(path).step == 7


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"config": {"lr": 0.2}}, "another configuration"),
        ({"space": "other"}, "is for space 'toy'"),
        ({"kind": "toy/other"}, "not a 'toy/other' one"),
        ({"optimizers": "renamed"}, "no optimiser 'w2'"),
        ({"total": 2}, "more than the 2 asked for"),
    ],
)
def test_a_checkpoint_of_another_run_is_refused_with_one_line(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    path = tmp_path / "run.safetensors"
    _train(path, 5, stop_after=4)
    before = path.read_bytes()
    net, opts, rng = _objects()
    if change.get("optimizers") == "renamed":
        opts = {"w2": opts["weights"], "arch": opts["arch"]}
    kw: dict[str, Any] = {"space": "toy", "config": CONFIG, "kind": "toy/bilevel"}
    kw.update({k: v for k, v in change.items() if k in ("space", "config", "kind")})
    run = ResumableRun(path, model=net, optimizers=opts, generators={"data": rng}, **kw)
    with pytest.raises(HynasError, match=message) as err:
        list(run.steps(change.get("total", 9)))
    assert "\n" not in str(err.value)
    assert path.read_bytes() == before, "a refused resume must not touch the checkpoint"


@pytest.mark.parametrize("every", [-1, 1.5, True, "2"])
def test_bad_checkpoint_interval_is_refused(every: Any) -> None:
    net = _objects()[0]
    with pytest.raises(HynasError, match="checkpoint interval"):
        ResumableRun(None, model=net, space="toy", config={}, kind="k", every=every)


KILLED = """
import sys, time, torch
sys.path.insert(0, {tests!r})
from test_training_loop import _objects
from hynas.training import ResumableRun
net, opts, rng = _objects()
run = ResumableRun(sys.argv[1], model=net, space="toy", config={{"lr": 0.1}}, kind="toy/bilevel",
                   optimizers=opts, generators={{"data": rng}}, every=1)
for step in run.steps(int(sys.argv[2])):
    print(step, flush=True)
    time.sleep(float(sys.argv[3]))
    x = torch.randn(5, 6) + float(rng.random())
    for o in opts.values():
        o.zero_grad()
    net(x).pow(2).mean().backward()
    for o in opts.values():
        o.step()
"""


@pytest.mark.slow
def test_a_run_killed_mid_step_resumes_to_the_same_weights(tmp_path: Path) -> None:
    script = tmp_path / "run.py"
    script.write_text(KILLED.format(tests=str(Path(__file__).parent)))
    straight = tmp_path / "straight.safetensors"
    subprocess.run([sys.executable, str(script), str(straight), "12", "0"], check=True, capture_output=True)
    killed = tmp_path / "killed.safetensors"
    proc = subprocess.Popen(
        [sys.executable, str(script), str(killed), "12", "0.3"], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if int(line) >= 4:
            break
    time.sleep(0.1)  # inside a step: its update is lost and redone after the resume
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert 3 <= read_checkpoint(killed).step < 12
    subprocess.run([sys.executable, str(script), str(killed), "12", "0"], check=True, capture_output=True)
    from hynas.training.checkpoint import read_file

    _, a = read_file(straight)
    _, b = read_file(killed)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_kd_loss_is_zero_for_equal_logits_and_positive_otherwise() -> None:
    t = torch.randn(4, 10)
    assert float(kd_loss(t.clone(), t, 2.0)) == pytest.approx(0.0, abs=1e-6)
    s = torch.randn(4, 10, requires_grad=True)
    teacher = torch.randn(4, 10, requires_grad=True)
    loss = kd_loss(s, teacher, 4.0)
    assert float(loss.detach()) > 0
    loss.backward()
    assert s.grad is not None and teacher.grad is None, "no gradient may reach the teacher"
    # KL: equals the textbook sum p * log(p / q) of the softened distributions, times T^2
    p, q = torch.softmax(teacher.detach() / 4, -1), torch.softmax(s.detach() / 4, -1)
    assert float(loss.detach()) == pytest.approx(float((p * (p / q).log()).sum(-1).mean() * 16), rel=1e-5)


def test_soft_cross_entropy_is_smallest_at_the_teacher() -> None:
    teacher = torch.randn(3, 5)
    at_teacher = float(soft_cross_entropy(teacher.clone(), teacher))
    assert all(float(soft_cross_entropy(teacher + torch.randn(3, 5), teacher)) > at_teacher for _ in range(5))


def test_alignment_loss_scale_free_and_shape_checked() -> None:
    teacher = torch.randn(2, 7, 16)
    assert float(alignment_loss(torch.zeros_like(teacher), teacher)) == pytest.approx(1.0, rel=1e-5)
    assert float(alignment_loss(100 * teacher, 100 * teacher)) == 0.0
    noisy = teacher + 0.1 * torch.randn_like(teacher)
    assert float(alignment_loss(noisy * 10, teacher * 10)) == pytest.approx(
        float(alignment_loss(noisy, teacher)), rel=1e-4
    )
    with pytest.raises(HynasError, match="differ"):
        alignment_loss(torch.zeros(2, 7, 8), teacher)
    with pytest.raises(HynasError, match="temperature"):
        kd_loss(teacher, teacher, 0.0)
