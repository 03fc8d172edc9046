"""``hynas convert teacher|carve|distill`` and a conversion-aware ``hynas search`` / ``show`` /
``report`` / ``export`` on the tiny teacher; a real kill of ``distill`` resumes to the same weights."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest
import torch

from cli_util import invoke_cli, popen_cli, run_cli
from hynas.convert.lmfile import load_lm

QUICK = ["--batch", "4"]


@pytest.fixture(scope="module")
def teacher(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("teacher")
    code, out = invoke_cli(
        ["convert", "teacher", str(d), "--steps", "8", "--context", "32", *QUICK, "--mqar-every", "2"]
    )
    assert code == 0, out
    assert json.loads(out)["teacher"] == str(d / "teacher.safetensors")
    return d / "teacher.safetensors"


def test_carve_and_distill_write_models_with_their_plan(teacher: Path, tmp_path: Path) -> None:
    code, out = invoke_cli(
        ["convert", "carve", str(teacher), "keep,ssm,swa+moe,moe", "--out", str(tmp_path / "c.st")]
    )
    assert code == 0, out
    assert json.loads(out)["spec"] == (
        "d32.hd16.v256:attn-h2-kv2/mlp-f64,ssm-n8/mlp-f64,swa-h2-kv2-w16-s4/moe-x4-k2-f16,attn-h2-kv2/moe-x4-k2-f16"
    )
    code, out = invoke_cli(["convert", "distill", str(teacher), "ssm,keep,keep,keep", "--out", str(tmp_path / "d"),
                            "--align-steps", "2", "--kd-steps", "2", "--finetune-steps", "1", *QUICK])  # fmt: skip
    assert code == 0, out
    result = json.loads(out)
    assert [result["stages"][s]["steps"] for s in ("align", "kd", "finetune")] == [2, 2, 1]
    model, header = load_lm(tmp_path / "d" / "student.safetensors")
    assert model.cfg.layers[0].mixer == "ssm" and header["extra"]["plan"] == "ssm,keep,keep,keep"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["carve", "{t}", "keep,ssm", "--out", "{d}/x"], "has 2 entries; the teacher has 4 layers"),
        (
            ["carve", "{t}", "keep,keep,keep,moe", "--out", "{d}/x", "--experts", "3"],
            "not a multiple of the number",
        ),
        (["carve", "{d}/missing", "keep,keep,keep,keep", "--out", "{d}/x"], "no teacher file"),
        (["teacher", "{d}/t", "--preset", "huge"], "unknown teacher preset 'huge'"),
        (
            ["carve", "{t}", "ssm,keep,keep,keep", "--out", "{d}/x", "--ssm-init", "zeros"],
            "ssm_init must be one of attention, mamba, got 'zeros'",
        ),
    ],
)
def test_bad_input_is_one_line_with_exit_2(
    teacher: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    code, out = invoke_cli(["convert", *(a.format(t=teacher, d=tmp_path) for a in args)])
    assert code == 2 and message in out and "Traceback" not in out
    assert not (tmp_path / "x").exists()


def test_conversion_aware_search_show_report_export(teacher: Path, tmp_path: Path) -> None:
    store = str(tmp_path / "run.db")
    args = ["search", "--space", "hybrid-convert-tiny", "--evaluator", "convert-proxy", "--budget", "3",
            "--strategy", "random", "--objective", "bpb", "--objective", "memory@128k",
            "--objective", "decode_latency@32k:a100", "--store", store, "--evaluator-option", f"teacher='{teacher}'",
            "--evaluator-option", "steps=[2]", "--evaluator-option", "batch=2", "--evaluator-option", "calib=2"]  # fmt: skip
    code, out = invoke_cli(args)
    assert code == 0, out
    code, shown = invoke_cli(["show", store])
    assert code == 0 and any(w in shown for w in ("keep", "ssm", "swa")), shown
    code, out = invoke_cli(["report", store, "--out", str(tmp_path / "report")])
    assert code == 0, out
    code, out = invoke_cli(
        ["export", store, "--best", "bpb", "--out", str(tmp_path / "model"), "--format", "safetensors"]
    )
    assert code == 0, out
    assert (tmp_path / "model" / "config.json").exists()


@pytest.mark.slow
def test_killed_distillation_resumes_to_the_same_weights(teacher: Path, tmp_path: Path) -> None:
    args = ["convert", "distill", str(teacher), "ssm,swa,keep,moe", "--align-steps", "30", "--kd-steps", "150",
            "--every", "1", *QUICK]  # fmt: skip
    code, out = invoke_cli([*args, "--out", str(tmp_path / "whole")])
    assert code == 0, out
    proc = popen_cli(*args, "--out", str(tmp_path / "killed"))
    kd = tmp_path / "killed" / "kd.ckpt.safetensors"
    deadline = time.monotonic() + 300
    while not kd.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert kd.exists() and not (tmp_path / "killed" / "student.safetensors").exists()
    resumed = run_cli(*args, "--out", str(tmp_path / "killed"), timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    a, _ = load_lm(tmp_path / "whole" / "student.safetensors")
    b, _ = load_lm(tmp_path / "killed" / "student.safetensors")
    for (k, x), y in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(x, y), k


def test_a_teacher_of_any_shape_is_trained_with_spec_and_searched_once_its_space_is_registered(
    tmp_path: Path,
) -> None:
    """`--spec` trains any all-attention shape; registering a ConversionSpace of that shape (what a
    plug-in does, docs/convert.md) makes `hynas search` take it; a mixed spec is one error."""
    from hynas.spaces import SPACES
    from hynas.spaces.hybrid_convert import CarveOptions, ConversionSpace

    spec = "d16.hd8.v256:attn-h2-kv1/mlp-f32,attn-h2-kv1/mlp-f32,attn-h2-kv1/mlp-f32"
    code, out = invoke_cli(
        ["convert", "teacher", str(tmp_path / "t"), "--spec", spec, "--steps", "4", *QUICK]
    )
    assert code == 0, out
    path = tmp_path / "t" / "teacher.safetensors"
    search = ["search", "--space", "hybrid-convert-3", "--evaluator", "convert-proxy", "--evaluator-option",
              f"teacher={path}", "--evaluator-option", "steps=[2]", "--budget", "2", "--quiet",
              "--store", str(tmp_path / "s.db")]  # fmt: skip
    code, out = invoke_cli(search)
    assert code == 2 and "unknown space 'hybrid-convert-3'" in out
    SPACES.add(
        "hybrid-convert-3",
        lambda: ConversionSpace(spec, CarveOptions(state=4, window=8), 32, "hybrid-convert-3"),
    )
    try:
        code, out = invoke_cli(search)
        assert code == 0, out
        import hynas

        trials = hynas.load(str(tmp_path / "s.db"))
        assert len(trials) == 2 and all(t.ok and len(t.arch.split(",")) == 3 for t in trials)
    finally:
        SPACES.unregister("hybrid-convert-3")
    code, out = invoke_cli(["convert", "teacher", str(tmp_path / "m"), "--spec", spec.replace("attn-h2-kv1/mlp-f32,", "ssm-n4/mlp-f32,", 1)])  # fmt: skip
    assert code == 2 and "not a plain Transformer" in out and not (tmp_path / "m").exists()
