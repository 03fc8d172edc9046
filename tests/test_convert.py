"""Converting a trained Transformer into a hybrid (:mod:`hynas.convert`): the teacher file, the
carving operators, staged distillation with kill/resume, and one clear error for each bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hynas.convert.carve import carve, layer_io
from hynas.convert.distill import DistillOptions, distill
from hynas.convert.lmfile import Batches, load_lm, save_lm
from hynas.convert.teacher import load_teacher, teacher_config, train_teacher
from hynas.core.errors import HynasError
from hynas.evaluators.lm import make_mqar, stdlib_corpus
from hynas.models.hybrid_lm import HybridLM
from hynas.models.lm_spec import parse_config
from hynas.spaces.hybrid_convert import TEACHERS, CarveOptions, converted_config, parse_plan
from hynas.training.distill import alignment_loss

OPTS = CarveOptions(state=8, window=16, sinks=0, experts=4, top_k=2)


def _teacher(seed: int = 0) -> HybridLM:
    torch.manual_seed(seed)
    return HybridLM(parse_config(TEACHERS["tiny"])).eval()


def _batches(**kw) -> Batches:
    return Batches(stdlib_corpus()["train"][:200_000], context=32, batch=4, **kw)


def _calib(n: int = 8, t: int = 32) -> torch.Tensor:
    text = stdlib_corpus()["val"]
    return torch.from_numpy(np.stack([text[i * 997 : i * 997 + t] for i in range(n)]).astype(np.int64))


def test_unconverted_parts_keep_the_teachers_weights_bit_for_bit():
    teacher = _teacher()
    plan = parse_plan("keep,ssm,swa+moe,moe", 4)
    student = carve(teacher, plan, OPTS, _calib())
    assert [ly.mixer for ly in student.cfg.layers] == ["attn", "ssm", "swa", "attn"]
    assert [ly.channel for ly in student.cfg.layers] == ["mlp", "mlp", "moe", "moe"]
    theirs = teacher.state_dict()
    converted = ("blocks.1.mixer.", "blocks.2.ffn.", "blocks.3.ffn.")
    kept = [k for k in student.state_dict() if not k.startswith(converted)]
    assert any(k.startswith("blocks.2.mixer.") for k in kept)  # the window keeps q, k, v, o
    assert len(kept) > 20
    for k in kept:
        assert torch.equal(student.state_dict()[k], theirs[k]), k


def test_seeded_conversions_start_closer_to_the_teacher_than_random_init():
    teacher, calib = _teacher(), _calib()
    plan = parse_plan("ssm,keep,keep,moe", 4)
    io = layer_io(teacher, calib)

    def losses(model: HybridLM) -> tuple[float, float]:
        with torch.no_grad():
            ssm = alignment_loss(model.blocks[0].mixer(io[0]["mixer_in"], None, 0), io[0]["mixer_out"])
            moe = alignment_loss(model.blocks[3].ffn(io[3]["ffn_in"]), io[3]["ffn_out"])
        return float(ssm), float(moe)

    torch.manual_seed(1)
    random_init = losses(HybridLM(converted_config(teacher.cfg, plan, OPTS)))
    seeded = losses(carve(teacher, plan, OPTS, calib))
    weights_only = losses(carve(teacher, plan, OPTS))
    assert seeded[0] < 0.5 < random_init[0]
    assert seeded[1] < random_init[1] and weights_only[1] < random_init[1]


def test_sliding_window_conversion_equals_the_teacher_within_its_window():
    teacher = _teacher()
    student = carve(teacher, parse_plan("swa,swa,swa,swa", 4), OPTS)
    short, long = _calib(2, 16), _calib(2, 32)
    with torch.no_grad():
        assert torch.allclose(student(short), teacher(short), atol=1e-5)
        assert not torch.allclose(student(long), teacher(long), atol=1e-3)


def test_teacher_is_trained_saved_and_loaded_with_its_data_fingerprint(tmp_path):
    batches = _batches(recall_maker=lambda n, rng: make_mqar(n, 32, 4, rng), mqar_every=2)
    cfg = teacher_config(2, 32, 2, mlp=2)
    path = train_teacher(tmp_path, cfg, batches, steps=3, every=1)
    model, header = load_teacher(path)
    assert header["data_fingerprint"] == batches.fingerprint()
    assert header["spec"] == "d32.hd16.v256:attn-h2-kv2/mlp-f64,attn-h2-kv2/mlp-f64"
    assert header["extra"]["trained_steps"] == 3
    # a second call resumes the finished checkpoint and writes the same teacher
    again, _ = load_teacher(train_teacher(tmp_path, cfg, batches, steps=3, every=1))
    for (k, a), b in zip(model.state_dict().items(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b), k
    assert not torch.equal(
        model.state_dict()["blocks.0.mixer.q.weight"], HybridLM(cfg).state_dict()["blocks.0.mixer.q.weight"]
    )


def test_kill_and_resume_gives_the_same_final_weights(tmp_path):
    teacher, plan = _teacher(), parse_plan("ssm,keep,swa+moe,keep", 4)
    opts = DistillOptions(align_steps=4, kd_steps=4, finetune_steps=2, every=1)

    def fresh() -> HybridLM:
        return carve(teacher, plan, OPTS, _calib())

    whole = fresh()
    report = distill(tmp_path / "a", teacher, whole, plan, _batches(), opts)
    assert [report[s]["steps"] for s in ("align", "kd", "finetune")] == [4, 4, 2]
    for stop in (("align", 2), ("kd", 1)):
        out = tmp_path / f"b{stop[0]}"
        part = distill(out, teacher, fresh(), plan, _batches(), opts, stop=stop)
        assert part[stop[0]]["steps"] == stop[1] and not (out / "student.safetensors").exists()
        resumed = fresh()  # a new process would carve again; the checkpoints then take over
        distill(out, teacher, resumed, plan, _batches(), opts)
        for (k, a), b in zip(whole.state_dict().items(), resumed.state_dict().values(), strict=True):
            assert torch.equal(a, b), (stop, k)
    saved, header = load_lm(tmp_path / "a" / "student.safetensors")
    assert header["extra"]["plan"] == "ssm,keep,swa+moe,keep"
    assert all(
        torch.equal(a, b)
        for a, b in zip(saved.state_dict().values(), whole.state_dict().values(), strict=True)
    )


def test_the_alignment_stage_pulls_converted_layers_towards_the_teacher():
    teacher, plan = _teacher(), parse_plan("ssm,keep,keep,moe", 4)
    student = carve(teacher, plan, OPTS)  # weights only: no calibration
    io = layer_io(teacher, _calib())

    def loss() -> float:
        with torch.no_grad():
            ssm = alignment_loss(student.blocks[0].mixer(io[0]["mixer_in"], None, 0), io[0]["mixer_out"])
            return float(ssm + alignment_loss(student.blocks[3].ffn(io[3]["ffn_in"]), io[3]["ffn_out"]))

    before, kept = loss(), student.blocks[1].mixer.q.weight.clone()
    distill(None, teacher, student, plan, _batches(), DistillOptions(align_steps=20, kd_steps=0))
    assert loss() < 0.8 * before
    assert torch.equal(student.blocks[1].mixer.q.weight, kept)  # stage 1 trains converted parts only


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        ("keep,ssm", "has 2 entries; the teacher has 4 layers"),
        ("keep,ssm,mamba,keep", "expected keep, ssm or swa"),
    ],
)
def test_bad_plans_are_one_clear_error(plan, message):
    with pytest.raises(HynasError, match=message):
        parse_plan(plan, 4)


def test_conversions_a_layer_cannot_take_are_one_clear_error():
    hybrid = parse_config("d32.hd16:ssm-n8/moe-x4-k2-f16,attn-h2-kv2/mlp-f64")
    with pytest.raises(HynasError, match="layer 0 cannot be MoE-ified: its channel mixer is moe"):
        converted_config(hybrid, parse_plan("moe,keep", 2), OPTS)
    with pytest.raises(HynasError, match="layer 0 cannot be converted to swa: its mixer is ssm"):
        converted_config(hybrid, parse_plan("swa,keep", 2), OPTS)
    with pytest.raises(HynasError, match="not a multiple of the number of experts"):
        converted_config(hybrid, parse_plan("keep,moe", 2), CarveOptions(experts=3, top_k=1))


def test_bad_teacher_files_are_one_clear_error_and_nothing_is_lost(tmp_path):
    hybrid = HybridLM(parse_config("d32.hd16:ssm-n8/mlp-f64,attn-h2-kv2/mlp-f64"))
    path = save_lm(tmp_path / "hybrid.safetensors", hybrid, "sha256:x")
    with pytest.raises(HynasError, match="is not a plain Transformer"):
        load_teacher(path)
    good = save_lm(tmp_path / "t.safetensors", _teacher(), "sha256:x")
    data = bytearray(good.read_bytes())
    data[-5] ^= 0xFF
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(bytes(data))
    with pytest.raises(HynasError, match="corrupt"):
        load_teacher(bad)
    assert bad.read_bytes() == bytes(data)
    with pytest.raises(HynasError, match="no teacher file"):
        load_teacher(tmp_path / "missing.safetensors")


def test_a_teacher_of_a_shape_no_space_has_is_one_clear_error(tmp_path):
    from hynas.evaluators.convert import ConversionProxy

    torch.manual_seed(0)
    other = save_lm(tmp_path / "t.safetensors", HybridLM(teacher_config(2, 32, 2, mlp=2)), "sha256:x")
    with pytest.raises(HynasError, match=r"a shape no conversion space has .*hybrid-convert-tiny"):
        ConversionProxy(teacher=str(other))
    with pytest.raises(HynasError, match="needs teacher=PATH"):
        ConversionProxy()


def test_a_checkpoint_of_another_plan_or_a_corrupt_one_is_refused_and_kept(tmp_path):
    teacher = _teacher()
    opts = DistillOptions(align_steps=3, kd_steps=2, every=1)
    plan = parse_plan("ssm,keep,keep,keep", 4)
    distill(tmp_path, teacher, carve(teacher, plan, OPTS), plan, _batches(), opts, stop=("align", 2))
    ckpt = tmp_path / "align.ckpt.safetensors"
    before = ckpt.read_bytes()
    other = parse_plan("swa,keep,keep,keep", 4)
    with pytest.raises(HynasError, match="another configuration"):
        distill(tmp_path, teacher, carve(teacher, other, OPTS), other, _batches(), opts)
    data = bytearray(before)
    data[len(data) // 2] ^= 0xFF
    ckpt.write_bytes(bytes(data))
    with pytest.raises(HynasError, match="corrupt"):
        distill(tmp_path, teacher, carve(teacher, plan, OPTS), plan, _batches(), opts)
    assert ckpt.read_bytes() == bytes(data) and not (tmp_path / "student.safetensors").exists()


def test_mamba_init_gives_new_ssm_layers_mambas_own_start_and_keeps_the_rest():
    from dataclasses import replace

    teacher, plan = _teacher(), parse_plan("keep,ssm,keep,swa", 4)
    fresh = carve(teacher, plan, replace(OPTS, ssm_init="mamba"), _calib(), seed=3)
    seeded = carve(teacher, plan, OPTS, _calib(), seed=3)
    torch.manual_seed(3)
    mamba = HybridLM(converted_config(teacher.cfg, plan, OPTS))
    for k, v in fresh.state_dict().items():
        if k.startswith("blocks.1.mixer."):  # the new layer: Mamba's initialisation, not the teacher's
            assert torch.equal(v, mamba.state_dict()[k]), k
        else:
            assert torch.equal(v, seeded.state_dict()[k]), k
    assert not torch.equal(fresh.blocks[1].mixer.in_proj.weight, seeded.blocks[1].mixer.in_proj.weight)
    with pytest.raises(HynasError, match="ssm_init must be one of attention, mamba"):
        replace(OPTS, ssm_init="random").check()


def test_a_checkpoint_of_another_seeding_is_refused(tmp_path):
    from dataclasses import replace

    teacher, plan = _teacher(), parse_plan("ssm,keep,keep,keep", 4)
    opts = DistillOptions(align_steps=3, kd_steps=2, every=1)
    distill(tmp_path, teacher, carve(teacher, plan, OPTS), plan, _batches(), opts, stop=("align", 2))
    with pytest.raises(HynasError, match="another configuration"):
        distill(
            tmp_path, teacher, carve(teacher, plan, replace(OPTS, ssm_init="mamba")), plan, _batches(), opts
        )


def test_the_proxy_carves_with_the_ssm_init_it_is_given(tmp_path):
    from hynas.evaluators.convert import ConversionProxy

    teacher = save_lm(tmp_path / "t.safetensors", _teacher(), "sha256:x", {"context": 32})
    seeded, fresh = (ConversionProxy(teacher=str(teacher), steps=(1,), batch=2, calib=2, eval_windows=2, ssm_init=i)
                     for i in (None, "mamba"))  # fmt: skip
    assert (seeded.carve_opts.ssm_init, fresh.carve_opts.ssm_init) == ("attention", "mamba")
    arch = seeded.space.parse("ssm,keep,keep,keep")
    assert seeded.evaluate(arch).metrics["align"] != fresh.evaluate(arch).metrics["align"]
    with pytest.raises(HynasError, match="ssm_init must be one of"):
        ConversionProxy(teacher=str(teacher), ssm_init="zeros")
