"""``hynas supernet train`` / ``eval``: custom data, progress, checkpoints, bit-exact resume after a
real kill, and bad input (one line, exit 2, nothing written damaged)."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest
import torch

from cli_util import invoke_cli, popen_cli, run_cli
from hynas.core.errors import HynasError
from hynas.training import read_checkpoint, save_checkpoint
from hynas.training.checkpoint import read_file
from supernet_util import digest, write_folder, write_npz

SMALL = ["--resolutions", "128,160", "--kernels", "3,5", "--expands", "3,4", "--depths", "2"]
QUICK = ["--batch", "4", "--eval-images", "8", "--bn-images", "8", *SMALL]


def invoke(*args: str) -> tuple[int, str]:
    """The CLI in-process; a HynasError is what ``main`` prints as one line with exit 2."""
    return invoke_cli(list(args))


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    d = tmp_path_factory.mktemp("cli")
    folder = write_folder(d / "images", per_class=6, size=10)
    code, out = invoke(
        "supernet", "train", "--out", str(d / "run"), "--data", str(folder), "--steps", "1", *QUICK
    )
    assert code == 0, out
    return d / "run" / "supernet.safetensors", folder, out


def test_train_on_an_image_folder_reads_size_and_classes(trained: tuple[Path, Path, str]) -> None:
    ckpt, folder, out = trained
    assert "3 classes, 10 px" in out and "step 4/4 expand" in out and "largest" in out and "smallest" in out
    info = read_checkpoint(ckpt)
    assert info.kind == "supernet/mobile" and info.step == 4
    assert info.config["supernet"] == {"num_classes": 3, "resolution_scale": round(20 / 160, 4)}
    assert info.config["space_options"]["kernels"] == [3, 5]
    assert info.extra["data"]["kind"] == "folder" and info.extra["data"]["source"] == str(folder.resolve())
    header, tensors = read_file(ckpt)
    assert any(k.startswith("optimizer/") for k in tensors) and header["data_fingerprint"].startswith(
        "sha256:"
    )
    code, text = invoke("supernet", "eval", str(ckpt), "largest", "r128|k3e3-k3e3|k3e3-k3e3|k3e3-k3e3|k3e3-k3e3|k3e3-k3e3", "--json",
                        "--eval-images", "8", "--bn-images", "8")  # fmt: skip
    assert code == 0, text
    rows = json.loads(text)
    assert [r["arch"] for r in rows] == [
        "r160|k5e4-k5e4|k5e4-k5e4|k5e4-k5e4|k5e4-k5e4|k5e4-k5e4",
        "r128|k3e3-k3e3|k3e3-k3e3|k3e3-k3e3|k3e3-k3e3|k3e3-k3e3",
    ]
    assert all(0 <= r["accuracy"] <= 100 for r in rows)
    # a finished run resumed: nothing to do, nothing rewritten
    before = digest(ckpt)
    code, text = invoke(
        "supernet",
        "train",
        "--out",
        str(ckpt.parent),
        "--data",
        str(folder),
        "--steps",
        "1",
        "--resume",
        *QUICK,
    )
    assert code == 0 and "nothing to do" in text and digest(ckpt) == before


def test_bad_input_is_one_line_and_damages_nothing(trained: tuple[Path, Path, str], tmp_path: Path) -> None:
    ckpt, folder, _ = trained
    before = digest(ckpt)
    run = ["supernet", "train", "--out", str(ckpt.parent), "--data", str(folder), "--steps", "1"]
    cases = [
        ((*run, *QUICK), "already holds a training at step 4; add --resume"),
        ((*run, "--resume", *QUICK, "--lr", "0.1"), "another configuration"),
        ((*run[:-2], "--steps", "2", "--resume", *QUICK), "another configuration"),
        ((*run, "--resume", *QUICK, "--val-fraction", "0.3"), "trained on other data"),
        (
            ("supernet", "train", "--out", str(tmp_path / "x"), "--data", str(tmp_path / "absent")),
            "no data at",
        ),
        (
            ("supernet", "train", "--out", str(tmp_path / "x"), "--space", "nb201"),
            "no supernet for space 'nb201'",
        ),
        (
            ("supernet", "train", "--out", str(tmp_path / "x"), "--data", str(folder), "--kernels", "9"),
            "outside the mobile space",
        ),
        (
            ("supernet", "train", "--out", str(tmp_path / "x"), "--data", str(folder), "--steps", "1,2"),
            "give 1 or 4 values",
        ),
        (
            ("supernet", "eval", str(ckpt), "r224|k7e6-k7e6|k7e6-k7e6|k7e6-k7e6|k7e6-k7e6|k7e6-k7e6"),
            "outside the supernet",
        ),
        (
            ("supernet", "train", "--out", str(tmp_path / "x"), "--data", str(folder), "--ema-decay", "1"),
            "ema_decay must be in [0, 1)",
        ),
        (
            ("supernet", "train", "--out", str(tmp_path / "x"), "--data", str(folder), "--ema-decay", "-0.5"),
            "ema_decay must be in [0, 1)",
        ),
        (("supernet", "eval", str(ckpt), "r999|nonsense"), "mobile"),
        (("supernet", "eval", str(tmp_path / "absent.safetensors")), "no checkpoint at"),
    ]
    for args, message in cases:
        code, text = invoke(*args)
        assert code == 2 and message in text and text.count("\n") <= 1, (args, text)
        assert digest(ckpt) == before, args
    assert not (tmp_path / "x").exists()
    # a checkpoint of another space, and a truncated one
    other = tmp_path / "other.safetensors"
    save_checkpoint(other, model=torch.nn.Linear(2, 2), step=1, space="nb201", config={})
    code, text = invoke("supernet", "eval", str(other))
    assert code == 2 and "not a mobile supernet" in text
    cut_dir = tmp_path / "cut"
    cut_dir.mkdir()
    (cut_dir / "supernet.safetensors").write_bytes(ckpt.read_bytes()[:5000])
    cut = digest(cut_dir / "supernet.safetensors")
    code, text = invoke(
        "supernet", "train", "--out", str(cut_dir), "--data", str(folder), "--steps", "1", "--resume", *QUICK
    )
    assert code == 2 and "corrupt, truncated" in text and digest(cut_dir / "supernet.safetensors") == cut


def test_steps_and_epochs_per_phase() -> None:
    from hynas.cli.supernet import _steps

    assert _steps("5", None, "progressive", 30, 4) == (5, 5, 5, 5)
    assert _steps("1,2,3,4", None, "progressive", 30, 4) == (1, 2, 3, 4)
    assert _steps(None, "0.5", "progressive", 30, 4) == (4, 4, 4, 4)  # ceil(0.5 × 30 / 4)
    assert _steps(None, "1,1,2,2", "progressive", 30, 4) == (8, 8, 15, 15)
    assert _steps(None, None, "sandwich", 30, 4) == (400,)
    for steps, epochs, message in (("3", "1", "not both"), (None, "0", "positive"), ("a", None, "malformed")):
        with pytest.raises(HynasError, match=message):
            _steps(steps, epochs, "progressive", 30, 4)


def test_a_real_process_prints_one_line_and_exits_2(tmp_path: Path) -> None:
    (tmp_path / "supernet.safetensors").write_bytes(b"\x00" * 100)
    r = run_cli("supernet", "eval", str(tmp_path / "supernet.safetensors"), timeout=120)
    assert (
        r.returncode == 2
        and r.stdout == ""
        and r.stderr.count("\n") == 1
        and "not a readable checkpoint" in r.stderr
    )


@pytest.mark.slow
def test_sandwich_schedule_from_the_command_line(tmp_path: Path) -> None:
    data = write_npz(tmp_path / "d.npz", n=40, size=8, rgb=True)
    r = run_cli("supernet", "train", "--out", str(tmp_path / "s"), "--data", str(data), "--schedule", "sandwich",
                "--steps", "2", "--sandwich-random", "1", "--eval-every", "1", *QUICK, timeout=600)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "step 1/2 sandwich" in r.stdout and "step 2/2 sandwich" in r.stdout
    info = read_checkpoint(tmp_path / "s" / "supernet.safetensors")
    assert info.config["train"]["method"] == "sandwich" and info.config["train"]["steps"] == [2]
    assert info.extra["data"]["kind"] == "npz" and info.step == 2


@pytest.mark.slow
def test_killed_training_resumes_to_the_same_weights(tmp_path: Path) -> None:
    data = write_npz(tmp_path / "d.npz", n=60)
    args = [
        "supernet",
        "train",
        "--data",
        str(data),
        "--steps",
        "2",
        "--checkpoint-every",
        "1",
        "--eval-every",
        "0",
        *QUICK,
    ]
    straight = run_cli(*args, "--out", str(tmp_path / "straight"), timeout=600)
    assert straight.returncode == 0, straight.stderr
    ckpt = tmp_path / "killed" / "supernet.safetensors"
    proc = popen_cli(*args, "--out", str(tmp_path / "killed"), "--step-delay", "1.5")
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not (ckpt.exists() and read_checkpoint(ckpt).step >= 3):
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    killed_at = read_checkpoint(ckpt).step
    assert 3 <= killed_at < 8, killed_at
    resumed = run_cli(*args, "--out", str(tmp_path / "killed"), "--resume", timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming after step {killed_at}" in resumed.stdout
    _, a = read_file(tmp_path / "straight" / "supernet.safetensors")
    _, b = read_file(ckpt)
    model = sorted(k for k in a if k.startswith("model/"))
    assert model and model == sorted(k for k in b if k.startswith("model/"))
    assert all(torch.equal(a[k], b[k]) for k in a), "resumed weights differ"
