"""Checkpoints: bit-exact resume, and one clear error for foreign, corrupt or truncated files."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from hynas.core.errors import HynasError
from hynas.spaces.mobile import MobileSpace
from hynas.supernets import ElasticMobileConfig, ElasticMobileNet
from hynas.training import fingerprint, load_checkpoint, read_checkpoint, save_checkpoint

torch.set_num_threads(1)
TINY = MobileSpace(resolutions=(128, 160), kernels=(3, 5), expands=(3, 4), depths=(1, 2), num_classes=10)
CONFIG = {"lr": 0.05, "batch": 4, "space_options": {"kernels": [3, 5], "expands": [3, 4]}}
DATA_X = torch.randn(32, 3, 20, 20, generator=torch.Generator().manual_seed(0))
DATA_Y = torch.randint(0, 10, (32,), generator=torch.Generator().manual_seed(1))
DATA = fingerprint(DATA_X, DATA_Y)


def _fresh() -> tuple[ElasticMobileNet, torch.optim.Optimizer, Any, np.random.Generator]:
    torch.manual_seed(0)
    net = ElasticMobileNet(TINY, ElasticMobileConfig(num_classes=10, resolution_scale=0.125))
    opt = torch.optim.SGD(net.parameters(), lr=CONFIG["lr"], momentum=0.9, nesterov=True, weight_decay=4e-5)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0 / (1 + s))
    return net, opt, sched, np.random.default_rng(7)


def _train(net: ElasticMobileNet, opt: Any, sched: Any, rng: np.random.Generator, steps: int) -> None:
    """Random sub-network and random batch per step (numpy), random noise augmentation (torch)."""
    net.train()
    for _ in range(steps):
        net.set_active(TINY.sample(rng))
        idx = torch.from_numpy(rng.choice(32, 4, replace=False))
        x = DATA_X[idx] + 0.1 * torch.randn(4, 3, 20, 20)
        loss = F.cross_entropy(net(x), DATA_Y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()


def _save(path: Path, net: Any, opt: Any, sched: Any, rng: np.random.Generator, step: int) -> Path:
    return save_checkpoint(
        path,
        model=net,
        optimizer=opt,
        scheduler=sched,
        generators={"arch": rng},
        step=step,
        space="mobile",
        config=CONFIG,
        kind="supernet",
        data_fingerprint=DATA,
    )


def _load(path: Path, net: Any, opt: Any = None, sched: Any = None, rng: Any = None, **kw: Any) -> Any:
    args: dict[str, Any] = {"space": "mobile", "config": CONFIG, "data_fingerprint": DATA} | kw
    gens = None if rng is None else {"arch": rng}
    return load_checkpoint(path, model=net, optimizer=opt, scheduler=sched, generators=gens, **args)


def test_resume_is_bitwise_identical(tmp_path: Path) -> None:
    net, opt, sched, rng = _fresh()
    _train(net, opt, sched, rng, 6)
    straight = {k: v.clone() for k, v in net.state_dict().items()}

    net, opt, sched, rng = _fresh()
    _train(net, opt, sched, rng, 3)
    _save(tmp_path / "ck.safetensors", net, opt, sched, rng, 3)
    _train(net, opt, sched, rng, 2)  # the interrupted run goes on and scrambles every RNG
    torch.manual_seed(123)

    net2, opt2, sched2, rng2 = _fresh()
    info = _load(tmp_path / "ck.safetensors", net2, opt2, sched2, rng2)
    assert info.step == 3 and info.kind == "supernet" and info.space == "mobile"
    _train(net2, opt2, sched2, rng2, 3)
    resumed = net2.state_dict()
    assert list(resumed) == list(straight)
    assert all(torch.equal(resumed[k], straight[k]) for k in straight)
    assert sched2.last_epoch == 6
    # and without the RNG states the run differs (the test can fail)
    net3, opt3, sched3, rng3 = _fresh()
    _load(tmp_path / "ck.safetensors", net3, opt3, sched3, rng3, restore_rng=False)
    _train(net3, opt3, sched3, rng3, 3)
    assert not all(torch.equal(net3.state_dict()[k], straight[k]) for k in straight)


def test_header_and_atomic_write(tmp_path: Path) -> None:
    net, opt, sched, rng = _fresh()
    path = _save(tmp_path / "sub" / "ck.safetensors", net, opt, sched, rng, 0)
    info = read_checkpoint(path)
    assert info.config == json.loads(json.dumps(CONFIG)) and info.data_fingerprint == DATA
    assert [p.name for p in path.parent.iterdir()] == ["ck.safetensors"]  # no temporary left
    # overwriting keeps one complete file
    _save(path, net, opt, sched, rng, 5)
    assert read_checkpoint(path).step == 5
    assert [p.name for p in path.parent.iterdir()] == ["ck.safetensors"]


def test_foreign_checkpoints_are_refused_with_one_line(tmp_path: Path) -> None:
    net, opt, sched, rng = _fresh()
    path = _save(tmp_path / "ck.safetensors", net, opt, sched, rng, 1)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"config": CONFIG | {"lr": 0.1}}, r"another configuration \(lr: 0.05 in the checkpoint, 0.1 now\)"),
        ({"space": "nb201"}, "is for space 'mobile', not 'nb201'"),
        ({"data_fingerprint": fingerprint(DATA_X)}, "trained on other data"),
    ]
    for kw, message in cases:
        with pytest.raises(HynasError, match=message) as err:
            _load(path, _fresh()[0], **kw)
        assert "\n" not in str(err.value)
    other = ElasticMobileNet(TINY, ElasticMobileConfig(num_classes=5))
    with pytest.raises(HynasError, match=r"does not fit this model \(other shapes: classifier.weight"):
        _load(path, other)
    with pytest.raises(HynasError, match="no numpy generator 'data'"):
        load_checkpoint(path, model=net, space="mobile", config=CONFIG, generators={"data": rng})
    with pytest.raises(HynasError, match=r"does not fit its module 'ema' \(missing: "):
        load_checkpoint(path, model=net, space="mobile", config=CONFIG, modules={"ema": _fresh()[0]})
    # a named module travels beside the model and comes back strictly
    twin, trained = tmp_path / "twin.safetensors", _fresh()
    _train(*trained, steps=2)
    save_checkpoint(twin, model=net, step=1, space="mobile", config=CONFIG, modules={"ema": trained[0]})
    copy, model = _fresh()[0], _fresh()[0]
    load_checkpoint(twin, model=model, space="mobile", config=CONFIG, modules={"ema": copy})
    assert all(
        torch.equal(a, b)
        for a, b in zip(copy.state_dict().values(), trained[0].state_dict().values(), strict=True)
    )
    assert not all(
        torch.equal(a, b)
        for a, b in zip(copy.state_dict().values(), model.state_dict().values(), strict=True)
    )
    with pytest.raises(HynasError, match=r"does not fit its module 'ema' \(other shapes: classifier.weight"):
        load_checkpoint(twin, model=_fresh()[0], space="mobile", config=CONFIG, modules={"ema": other})
    with pytest.raises(HynasError, match="not plain JSON"):
        save_checkpoint(tmp_path / "x.safetensors", model=net, step=0, space="mobile", config={"f": object()})


def _corrupt(path: Path, tmp_path: Path, how: str) -> Path:
    raw = bytearray(path.read_bytes())
    (n,) = struct.unpack("<Q", raw[:8])
    if how == "truncated":
        raw = raw[: len(raw) - 1000]
    elif how == "header":  # flip one bit inside the JSON header
        raw[8 + n // 2] ^= 0x04
    elif how == "length":
        raw[3] ^= 0x10
    elif how == "data":  # flip one bit of a tensor byte
        raw[8 + n + (len(raw) - 8 - n) // 2] ^= 0x01
    elif how == "text":
        raw = bytearray(b"step=3\nlr=0.1\n")
    elif how == "empty":
        raw = bytearray()
    out = tmp_path / f"{how}.safetensors"
    out.write_bytes(bytes(raw))
    return out


@pytest.mark.parametrize("how", ["truncated", "header", "length", "data", "text", "empty"])
def test_corrupt_files_give_one_clear_error(tmp_path: Path, how: str) -> None:
    net, opt, sched, rng = _fresh()
    path = _save(tmp_path / "ck.safetensors", net, opt, sched, rng, 1)
    bad = _corrupt(path, tmp_path, how)
    with pytest.raises(HynasError, match=r"corrupt|not a readable checkpoint|not a hynas checkpoint") as err:
        _load(bad, _fresh()[0])
    assert "\n" not in str(err.value) and str(bad) in str(err.value)


def test_plain_safetensors_file_is_not_a_checkpoint(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(3)}, str(tmp_path / "w.safetensors"))
    with pytest.raises(HynasError, match="not a hynas checkpoint"):
        read_checkpoint(tmp_path / "w.safetensors")
    with pytest.raises(HynasError, match="no checkpoint at"):
        read_checkpoint(tmp_path / "missing.safetensors")


def test_fingerprint_names_the_data() -> None:
    a = np.arange(12, dtype=np.uint8)
    assert fingerprint(a) == fingerprint(a.copy()) == fingerprint(torch.from_numpy(a))
    assert fingerprint(a) != fingerprint(a.reshape(3, 4))
    b = a.copy()
    b[5] += 1
    assert fingerprint(a) != fingerprint(b)


def test_a_reader_never_sees_a_torn_checkpoint_while_another_process_writes(tmp_path: Path) -> None:
    """A watcher reads the checkpoint while the trainer keeps replacing it (the supernet CLI's
    kill test does this): every read is a whole, verified checkpoint of some step."""
    import subprocess
    import sys

    path = tmp_path / "c.safetensors"
    writer = (
        "import sys, torch\n"
        "from hynas.training import save_checkpoint\n"
        "net = torch.nn.Linear(300, 300)\n"
        "for step in range(1, 61):\n"
        "    with torch.no_grad():\n"
        "        net.weight.fill_(step)\n"
        "    save_checkpoint(sys.argv[1], model=net, step=step, space='x', config={})\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", writer, str(path)])
    seen: set[int] = set()
    try:
        while proc.poll() is None or not seen:
            if path.exists():
                seen.add(read_checkpoint(path).step)
    finally:
        proc.wait(120)
    assert proc.returncode == 0
    assert read_checkpoint(path).step == 60 and len(seen) >= 2, seen
