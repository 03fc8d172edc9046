"""``hynas export`` on the command line: what it prints, one line and exit 2 for bad input."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from cli_util import run_cli
from hynas.cli import main
from test_export import NB201_ARCH, OUTSIDE, make_nb201_store, make_supernet


def _main(
    args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    """``hynas ARGS`` in this process (no second torch start-up): exit status, stdout, stderr."""
    monkeypatch.setattr(sys, "argv", ["hynas", *args])
    with pytest.raises(SystemExit) as exc:
        main()
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


def test_export_prints_what_it_wrote_and_says_untrained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "m"
    code, stdout, err = _main(
        ["export", "--arch", NB201_ARCH, "--space", "nb201", "--out", str(out), "--format", "safetensors"],
        monkeypatch, capsys,
    )  # fmt: skip
    assert code == 0, err
    assert "untrained" in stdout and "model.safetensors" in stdout and "MODEL_CARD.md" in stdout
    assert (out / "config.json").is_file()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("cli")
    return {
        "STORE": make_nb201_store(root / "s.db"),
        "SUPERNET": str(make_supernet(root / "sn.safetensors")),
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["STORE", "--format", "onnx,tflite"], "unknown export format 'tflite'"),
        (["STORE", "--trial", "40"], "no trial 40 in store"),
        (["MISSING"], "no store at"),
        (["--arch", "r999|k3e3", "--space", "mobile"], "mobile arch"),
        (["--arch", OUTSIDE, "--space", "mobile", "--supernet", "SUPERNET"], "outside the supernet"),
        (["STORE", "--best", "speed"], "not an objective of this run"),
        (["--arch", OUTSIDE, "--space", "mobile", "--train-steps", "2", "--finetune-steps", "2"], "not both"),
        (["STORE", "--train-steps", "3"], "--train-steps trains on Fashion-MNIST"),
        (["STORE", "--trial", "x"], "Invalid value for '--trial'"),
        (["--arch", OUTSIDE, "--space", "mobile", "--eval-images", "20000"], "--eval-images must be"),
        (["--arch", OUTSIDE, "--space", "mobile", "--train-steps", "2", "--lr", "nan"], "--lr must be"),
        (["--arch", OUTSIDE, "--space", "mobile", "--lr", "x"], "Invalid value for '--lr'"),
        (["STORE", "--out-dir", "y"], "No such option"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_written(
    args: list[str],
    message: str,
    inputs: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    subs = {**inputs, "MISSING": str(tmp_path / "none.db")}
    argv = ["export", *(subs.get(a, a) for a in args), "--out", str(tmp_path / "out")]
    code, stdout, err = _main(argv, monkeypatch, capsys)
    assert code == 2, (stdout, err)
    assert message in err and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err + stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no out folder, no store created


def test_existing_out_folder_is_refused_in_a_real_process(tmp_path: Path) -> None:
    out = tmp_path / "m"
    out.mkdir()
    (out / "model.onnx").write_bytes(b"mine")
    r = run_cli("export", "--arch", NB201_ARCH, "--space", "nb201", "--out", str(out))
    assert r.returncode == 2 and "exists" in r.stderr and "--force" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert [p.name for p in out.iterdir()] == ["model.onnx"] and (out / "model.onnx").read_bytes() == b"mine"
