"""The supernet benchmark's ranking table and its protocol: what a run measures is what it says."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import pytest

from bench_util import BENCH, load_bench

sys.path.insert(0, str(BENCH))  # the script imports its sibling ``jsonfile``
bs = load_bench("supernet")


def _rows(n: int) -> list[dict]:
    """Seed 0 ranks the archs 0..n-1, seed 1 reverses the middle: the seeds' mean differs from seed 0."""
    rows = []
    for i in range(n):
        s1 = i if i in (0, n - 1) else n - 1 - i
        rows.append({"arch": f"a{i}", "inherited": {"accuracy": float(i), "flops": float(s1)},
                     "standalone": [float(i), float(s1)]})  # fmt: skip
    return rows


def test_scores_rank_against_seed_zero_and_the_seeds_mean() -> None:
    rows = _rows(6)
    r = bs.ranked(rows, "accuracy")
    assert r["kendall_tau"] == 1.0  # the same order as seed 0
    # the mean of the seeds is tied in the middle: a perfect seed-0 score is not perfect against it
    assert r["vs_seed_mean"]["kendall_tau"] < 1.0
    two_of_them = [r if i < 2 else {**r, "standalone": r["standalone"][:1]} for i, r in enumerate(rows)]
    assert bs.ranked(two_of_them, "accuracy").keys() == {
        "kendall_tau",
        "spearman_rho",
    }  # < 3 with two seeds


def test_the_table_shows_the_mean_columns_only_when_there_is_a_second_seed() -> None:
    result = {"protocol": {"eval_images": 10, "standalone_steps": 5, "resolution_scale": 0.1}, "speed": None,
              "train": None, "archs_done": 6, "special": {}, "by_resolution": {}, "cost": None, "rows": [], "standalone_rss_mib": 0,
              "ranking": {"supernet (inherited accuracy)": bs.ranked(_rows(6), "accuracy")}}  # fmt: skip
    row = next(x for x in bs.markdown(result).splitlines() if x.startswith("| supernet"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1] == "1.0" and cells[3] != "–"
    result["ranking"] = {
        "supernet (inherited accuracy)": bs.ranked(
            [{**r, "standalone": r["standalone"][:1]} for r in _rows(6)], "accuracy"
        )
    }
    row = next(x for x in bs.markdown(result).splitlines() if x.startswith("| supernet"))
    assert row.rstrip("|").split("|")[-1].strip() == "–"


@pytest.mark.parametrize(("schedule", "extra"), [("progressive", {}), ("sandwich", {"schedule": "sandwich"})])
def test_the_protocol_names_the_schedule_except_for_old_progressive_caches(
    schedule: str, extra: dict
) -> None:
    args = argparse.Namespace(supernet_steps="1", archs=2, standalone_steps=3, seeds=1, eval_images=4,
                              proxy_batch=5, resolution_scale=0.1, schedule=schedule)  # fmt: skip
    base = {"supernet_steps": "1", "archs": 2, "standalone_steps": 3, "seeds": 1, "eval_images": 4,
            "proxy_batch": 5, "resolution_scale": 0.1}  # fmt: skip
    assert bs.protocol(args) == {**base, **extra}
    args.supernet_seed = 3  # another supernet seed is another protocol; seed 0 keeps old caches valid
    assert bs.protocol(args) == {**base, **extra, "supernet_seed": 3}
    args.sandwich_resolution = "random"
    assert bs.protocol(args) == {**base, **extra, "supernet_seed": 3, "sandwich_resolution": "random"}
    args.supernet_lr, args.ema_decay, args.last_weights = 0.01, 0.9, True  # the weights scored, too
    assert bs.protocol(args) == {**base, **extra, "supernet_seed": 3, "sandwich_resolution": "random",
                                 "supernet_lr": 0.01, "ema_decay": 0.9, "weights": "last"}  # fmt: skip
    args.distill = "inplace"  # the default: caches from before --distill stay valid
    assert "distill" not in bs.protocol(args)
    args.distill = "none"
    assert bs.protocol(args)["distill"] == "none"
    args.resolution_weights = "1,1,1,2"
    assert bs.protocol(args)["resolution_weights"] == "1,1,1,2"


def test_an_export_is_made_again_only_when_its_own_step_count_changes(tmp_path, monkeypatch) -> None:
    args = argparse.Namespace(supernet_steps="1", archs=2, standalone_steps=3, seeds=1, eval_images=4,
                              proxy_batch=5, resolution_scale=0.1, schedule="sandwich", results=tmp_path,
                              work=tmp_path, devices="raspi4", limits="0.5", search_budget=2,
                              finetune_steps=150, scratch_steps=600)  # fmt: skip
    choice = {"arch": "a", "quantile": 0.5, "limit_ms": 1.0, "latency_ms": 0.9, "search_accuracy": 80.0,
              "finetuned": {"steps": 50, "after": 1.0}, "scratch": {"steps": 600, "after": 2.0}}  # fmt: skip
    row = {"settings": bs.special_settings(args), "search": {"wall_s": 1.0, "max_rss_mib": 9.0}, "trials": 2,
           "limits": [choice]}  # fmt: skip
    with bs.cache(args) as c:
        c["special"] = {"raspi4": row}
    calls = []

    def fake_export(args, arch, how, opts, steps, lr=None):
        calls.append((how, opts[-1], steps))
        return {"steps": steps, "after": 3.0, "before": 0.0, **({} if lr is None else {"lr": lr})}

    def made():  # the cached choice and the report's text for it
        with bs.cache(args) as c:
            kept = c["special"]["raspi4"]["limits"][0]
        text = bs.markdown({"protocol": {"eval_images": 4, "standalone_steps": 3, "resolution_scale": 0.1},
                            "speed": None, "train": None, "archs_done": 0, "special": {"raspi4": {**row, "limits": [kept]}},
                            "by_resolution": {}, "cost": None, "rows": [], "standalone_rss_mib": 0, "ranking": {}})  # fmt: skip
        return kept, text

    monkeypatch.setattr(bs, "export", fake_export)
    bs.stage_special(args)
    assert calls == [("finetuned", "150", 150)]  # the scratch row already has 600 steps: kept
    kept, text = made()
    assert kept["finetuned"]["steps"] == 150 and kept["scratch"] == choice["scratch"]
    assert "weights for 150 steps and trained from scratch for 600 steps" in text
    bs.stage_special(args)  # nothing left to make
    assert len(calls) == 1
    args.finetune_lr = 0.03  # another learning rate: the fine-tuned row again, with --lr; scratch kept
    bs.stage_special(args)
    assert calls[1:] == [("finetuned", "0.03", 150)]
    kept, text = made()
    assert kept["finetuned"]["lr"] == 0.03 and kept["scratch"] == choice["scratch"]
    assert "weights for 150 steps at lr 0.03 and trained from scratch for 600 steps" in text
    bs.stage_special(args)
    assert len(calls) == 2


def test_another_runs_supernet_is_ranked_against_this_truth_and_this_supernet(tmp_path) -> None:
    import json

    rows = _rows(6)
    # a5 is not scored there; its accuracy ranks against the truth, its loss with it
    other = {f"a{i}": {"accuracy": float(-i), "loss": float(-i)} for i in range(5)}
    (tmp_path / "supernet_cache.json").write_text(json.dumps({"inherited": other}))
    args = argparse.Namespace(also=[str(tmp_path)], supernet_steps="1", archs=6, standalone_steps=3, seeds=2,
                              eval_images=4, proxy_batch=5, resolution_scale=0.1, schedule="sandwich")  # fmt: skip
    out = bs.also(args, rows)[str(tmp_path)]
    # that cache has no protocol: the settings older caches name no key for are theirs, the rest unknown
    assert out["protocol_differs"] == {**{k: None for k in bs.protocol(args)}, "schedule": "progressive"}
    assert out["archs"] == 5
    assert out["accuracy"]["kendall_tau"] == -1.0 and out["this_supernet"]["kendall_tau"] == -1.0
    assert out["-loss"]["kendall_tau"] == 1.0  # a lower loss ranks higher
    assert "vs_seed_mean" in out["accuracy"]


def test_an_export_is_scored_on_the_protocols_validation_images(tmp_path, monkeypatch) -> None:
    args = argparse.Namespace(supernet_steps="1", archs=2, standalone_steps=3, seeds=1, eval_images=4321,
                              proxy_batch=5, resolution_scale=0.1, schedule="sandwich", results=tmp_path,
                              work=tmp_path)  # fmt: skip
    cmds = []

    def fake_timed(cmd, tag, work):
        cmds.append(cmd)
        out = Path(cmd[cmd.index("--out") + 1])
        out.mkdir()
        train = {"val_accuracy_before": 10.0, "val_accuracy_after": 80.0}
        (out / "config.json").write_text(json.dumps({"weights": {"train": train}}))
        (work / f"{tag}.time").write_text("")
        return {"wall_s": 1.0, "cpu_s": 1.0, "max_rss_mib": 1.0}

    monkeypatch.setattr(bs, "timed", fake_timed)
    got = bs.export(args, "r128|k3e3", "scratch", ["--train-steps", "7"], 7)
    assert cmds[0][cmds[0].index("--eval-images") + 1] == "4321"
    assert got["after"] == 80.0 and got["steps"] == 7
    assert bs.export(args, "r128|k3e3", "scratch", ["--train-steps", "7"], 7) == got and len(cmds) == 1
    tuned = bs.export(args, "r128|k3e3", "finetuned", ["--finetune-steps", "7", "--lr", "0.2"], 7, 0.2)
    assert len(cmds) == 2 and tuned["lr"] == 0.2 and "--lr" in cmds[1]  # its own cache key


def test_noise_ceilings_rank_each_further_seed_and_seed_zero_against_the_others_mean() -> None:
    rows = [{"standalone": [float(i), float(i), float(-i), 9.0][: 2 + (i < 4) + (i < 2)]} for i in range(6)]
    got = bs.ceilings(rows)
    assert got["stand-alone seed 1 (6 archs; noise ceiling)"]["kendall_tau"] == 1.0
    assert got["stand-alone seed 2 (4 archs; noise ceiling)"]["kendall_tau"] == -1.0
    assert "stand-alone seed 3 (2 archs; noise ceiling)" not in got  # fewer than three: no tau
    # seed 0 against the mean of the other seeds: 3 for i = 0, 1 (seed 3 ran), 0 for i = 2, 3
    mean_row = got["stand-alone seed 0 against the mean of the other seeds (4 archs)"]
    assert -1.0 < mean_row["kendall_tau"] < 0.0
    assert bs.ceilings([{"standalone": [1.0]}] * 5) == {}
    text = bs.seeds_done({"seeds_done": [6, 6, 4, 0]})
    assert text == "; seed 1 on 6, seed 2 on 4 of them"
    assert (
        bs.seeds_done({}) == "; a second seed where time allowed" and bs.seeds_done({"seeds_done": [3]}) == ""
    )


def test_a_truth_without_a_supernet_ranks_other_runs_supernets_and_truths(tmp_path) -> None:
    """``--stage standalone,report`` in a dir of its own: a longer-budget truth that other runs'
    supernets, FLOPs and the shorter truth are ranked against; no supernet score is made up."""
    mine, theirs = tmp_path / "truth", tmp_path / "other"
    args = argparse.Namespace(also=[str(theirs)], supernet_steps="1", archs=5, standalone_steps=9, seeds=2,
                              eval_images=4, proxy_batch=5, resolution_scale=0.1, schedule="sandwich",
                              results=mine, work=tmp_path, proxies="naswot")  # fmt: skip
    keys = [bs.get_space("mobile").format(a) for a in bs.architectures(5)]
    truth = {f"{k}#{s}": {"accuracy": 80.0 + i + s / 10, "wall_s": 1.0, "cpu_s": 1.0} for i, k in enumerate(keys) for s in (0, 1)}  # fmt: skip
    mine.mkdir()
    (mine / "supernet_cache.json").write_text(
        json.dumps({"protocol": bs.protocol(args), "standalone": truth})
    )
    short = {f"{k}#0": {"accuracy": 90.0 - i} for i, k in enumerate(keys)}  # the short truth: reversed
    inherited = {k: {"accuracy": 70.0 + i, "loss": 1.0 - i / 10} for i, k in enumerate(keys[:4])}
    theirs.mkdir()
    (theirs / "supernet_cache.json").write_text(json.dumps(
        {"protocol": {**bs.protocol(args), "standalone_steps": 3, "seeds": 1}, "inherited": inherited, "standalone": short}))  # fmt: skip
    bs.stage_report(args)
    out = json.loads((mine / "supernet.json").read_text())
    assert out["archs_done"] == 5 and not any(k.startswith("supernet") for k in out["ranking"])
    assert {"flops", "params"} <= out["ranking"].keys()
    other = out["other_supernets"][str(theirs)]
    assert other["archs"] == 4 and other["accuracy"]["kendall_tau"] == 1.0 and "this_supernet" not in other
    assert other["standalone_mean"]["kendall_tau"] == -1.0 and other["standalone_mean"]["steps"] == 3
    assert other["protocol_differs"] == {"seeds": 1, "standalone_steps": 3}
    assert all(v["inherited_mean"] is None for v in out["by_resolution"].values())
    md = (mine / "supernet.md").read_text()
    assert "Its stand-alone truth (3 steps, mean of 1 seeds, 5 architectures)" in md and "| – |" in md
    assert "None" not in md and "## Specialisation" not in md  # nothing to say: no empty table


def test_resolution_alone_and_the_truths_own_noise_within_each_resolution(tmp_path) -> None:
    """The report ranks by the input resolution alone (ties within), and gives, per resolution, how
    well stand-alone seed 1 ranks seed 0 there: the ceiling for ranking within a resolution."""
    rows = [
        {"arch": "r128|a", "inherited": {"accuracy": 1.0}, "standalone": [80.0, 81.0]},
        {"arch": "r128|b", "inherited": {"accuracy": 2.0}, "standalone": [81.0, 80.0]},
        {"arch": "r128|c", "inherited": {"accuracy": 3.0}, "standalone": [82.0, 79.0]},
        {"arch": "r160|a", "inherited": {"accuracy": 4.0}, "standalone": [85.0, 85.0]},
        {"arch": "r160|b", "inherited": {"accuracy": 5.0}, "standalone": [86.0]},
    ]
    got = bs.by_resolution(rows)
    assert got["r128"]["seeds_tau_within"] == -1.0 and got["r128"]["seeds_archs_within"] == 3
    assert got["r160"]["seeds_tau_within"] is None and got["r160"]["seeds_archs_within"] == 1
    assert got["r128"]["kendall_tau_within"] == 1.0
    md = bs.markdown({"protocol": {"eval_images": 4, "standalone_steps": 3, "resolution_scale": 0.1},
                      "speed": None, "train": None, "archs_done": 5, "special": {}, "by_resolution": got,
                      "cost": None, "rows": [], "standalone_rss_mib": 0, "ranking": {}})  # fmt: skip
    assert (
        "| r128 | 3 | 2.0 | 81.0 | 1.0 | -1.0 (3) |" in md and "| r160 | 2 | 4.5 | 85.5 | – | – (1) |" in md
    )
    # stage_report, on a truth that is the resolution itself (tied alike): tau-b 1
    args = argparse.Namespace(also=[], supernet_steps="1", archs=5, standalone_steps=9, seeds=2,
                              eval_images=4, proxy_batch=5, resolution_scale=0.1, schedule="sandwich",
                              results=tmp_path, work=tmp_path, proxies="naswot")  # fmt: skip
    keys = [bs.get_space("mobile").format(a) for a in bs.architectures(5)]
    truth = {f"{k}#0": {"accuracy": float(k.split("|")[0][1:]), "wall_s": 1.0, "cpu_s": 1.0} for k in keys}
    (tmp_path / "supernet_cache.json").write_text(
        json.dumps({"protocol": bs.protocol(args), "standalone": truth})
    )
    bs.stage_report(args)
    out = json.loads((tmp_path / "supernet.json").read_text())
    assert out["ranking"]["resolution alone (ties within)"]["kendall_tau"] == 1.0
    assert "resolution alone (ties within)" in (tmp_path / "supernet.md").read_text()


def test_a_supernet_without_a_truth_says_where_to_rank_it_and_prints_no_empty_tables() -> None:
    md = bs.markdown({"protocol": {"eval_images": 4, "standalone_steps": 3, "resolution_scale": 0.1},
                      "speed": None, "train": None, "archs_done": 0, "special": {}, "by_resolution": {},
                      "cost": None, "rows": [], "standalone_rss_mib": 0, "ranking": {}})  # fmt: skip
    assert "No stand-alone truth in this results dir" in md and "--also DIR" in md
    assert "| score |" not in md and "## Per architecture" not in md


def test_the_sweep_scores_top_bodies_everywhere_and_a_second_calibration(tmp_path, monkeypatch) -> None:
    import hynas.evaluators.vision as vision
    import hynas.supernets as supernets
    import hynas.supernets.train as train

    space = bs.get_space("mobile")
    keys = [space.format(a) for a in bs.architectures(10)]
    top = [k for k in keys if k.startswith("r224|")]
    assert len(top) == 3  # the largest architecture and two more
    args = argparse.Namespace(supernet_steps="1", archs=10, standalone_steps=3, seeds=1, eval_images=4,
                              proxy_batch=5, resolution_scale=0.1, schedule="sandwich", results=tmp_path,
                              work=tmp_path, last_weights=False)  # fmt: skip
    images = {"train_x": list(range(1000))}
    seen = []

    def kernel(key):
        return statistics.mean(int(b[1]) for stage in key.split("|")[1:] for b in stage.split("-"))

    def fake_eval(net, arch, data, bn_images, eval_images):
        key = space.format(arch)
        seen.append((key, data["train_x"][0]))
        # a body gains (mean kernel) points a resolution step; the second calibration reverses the order
        step = space.resolutions.index(bs.resolution(key))
        return {
            "accuracy": -keys.index(key) if data["train_x"][0] == 500 else step * kernel(key),
            "loss": 0.0,
        }

    monkeypatch.setattr(supernets, "load_supernet", lambda path, average: (None, None))
    monkeypatch.setattr(vision, "load_fmnist", lambda: images)
    monkeypatch.setattr(train, "evaluate_subnet", fake_eval)
    bs.stage_sweep(args)
    assert len(seen) == 4 * len(top) + len(keys)
    assert {k for k, first in seen if first == 500} == set(keys)  # recalibrated on the next images
    bs.stage_sweep(args)  # cached: nothing scored again
    assert len(seen) == 4 * len(top) + len(keys)

    cache = json.loads((tmp_path / "supernet_cache.json").read_text())
    cache["inherited"] = {k: {"accuracy": float(i)} for i, k in enumerate(keys)}
    checks = bs.inherited_checks(cache, [])  # no truth here: the calibrations against each other only
    gains = sorted(3 * kernel(k) for k in top)
    assert checks["sweep"]["bodies"] == 3 and checks["sweep"]["mean_by_resolution"]["r128"] == 0.0
    assert checks["sweep"]["gain"] == {"from": "r128", "to": "r224", "min": round(gains[0], 2),
                                       "max": round(gains[-1], 2), "rising": 3, "tau_with_mean_kernel": 1.0}  # fmt: skip
    assert checks["recal"]["archs"] == len(keys) and checks["recal"]["vs_first"]["kendall_tau"] == -1.0
    assert "vs_truth" not in checks["recal"]
    rows = [{"arch": k, "inherited": {"accuracy": 0.0}, "standalone": [float(i)]} for i, k in enumerate(keys)]
    assert bs.inherited_checks(cache, rows)["recal"]["vs_truth"]["kendall_tau"] == -1.0
    md = bs.markdown({"protocol": {"eval_images": 4, "standalone_steps": 3, "resolution_scale": 0.1},
                      "speed": None, "train": None, "archs_done": 0, "special": {}, "by_resolution": {},
                      "cost": None, "rows": [], "standalone_rss_mib": 0, "ranking": {}, "checks": checks})  # fmt: skip
    assert "The same 3 bodies" in md and f"… {round(gains[-1], 2)} points, 3 of 3 rise" in md
    assert "images 500–999" in md and "against the truth" not in md


def test_inherited_checks_are_absent_without_the_sweep() -> None:
    assert bs.inherited_checks({}, _rows(5)) == {}


def test_a_dir_holding_only_another_truth_is_ranked_as_a_score(tmp_path) -> None:
    rows = _rows(6)
    # another budget's truth, two seeds, no supernet: its mean accuracy is a score against this truth
    sa = {f"a{i}#{s}": {"accuracy": float(i)} for i in range(6) for s in range(2)}
    (tmp_path / "supernet_cache.json").write_text(
        json.dumps({"protocol": {"seeds": 2, "standalone_steps": 99}, "standalone": sa})
    )
    args = argparse.Namespace(also=[str(tmp_path)], supernet_steps="1", archs=6, standalone_steps=3, seeds=2,
                              eval_images=4, proxy_batch=5, resolution_scale=0.1, schedule="sandwich")  # fmt: skip
    out = bs.also(args, rows)[str(tmp_path)]
    assert "accuracy" not in out and out["standalone_mean"]["kendall_tau"] == 1.0
    md = bs.markdown({"protocol": {"eval_images": 4, "standalone_steps": 3, "resolution_scale": 0.1},
                      "speed": None, "train": None, "archs_done": 6, "special": {}, "by_resolution": {},
                      "cost": None, "rows": [], "standalone_rss_mib": 0, "ranking": {},
                      "other_supernets": {str(tmp_path): out}})  # fmt: skip
    assert (
        "Another run's truth" in md
        and "Another run's supernet" not in md
        and "(99 steps, mean of 2 seeds" in md
    )
    (tmp_path / "supernet_cache.json").write_text(
        json.dumps({"protocol": {"seeds": 2, "standalone_steps": 3}})
    )
    assert bs.also(args, rows) == {}  # the same budget and no supernet: nothing to rank


@pytest.mark.parametrize(
    ("distill", "weights", "flag"),
    [("inplace", None, []), ("none", None, ["--distill", "none"]),
     ("inplace", "1,1,1,2", ["--resolution-weights", "1,1,1,2"])],
)  # fmt: skip
def test_the_train_stage_passes_its_options_on_and_only_when_they_are_not_the_default(
    tmp_path, monkeypatch, distill: str, weights: str | None, flag: list[str]
) -> None:
    seen: list[list[str]] = []

    class Stop(Exception):
        pass

    def fake_timed(cmd: list[str], tag: str, work: Path) -> dict:
        seen.append(cmd)
        raise Stop

    monkeypatch.setattr(bs, "timed", fake_timed)
    args = argparse.Namespace(work=tmp_path, supernet_steps="2", schedule="sandwich", resolution_scale=0.1,
                              supernet_seed=0, sandwich_resolution="extremes", ema_decay=0.0,
                              supernet_lr=None, partial_supernet=False, distill=distill,
                              resolution_weights=weights)  # fmt: skip
    with pytest.raises(Stop):
        bs.stage_train(args)
    cmd = seen[0]
    assert cmd[cmd.index("train") - 1] == "supernet"
    assert [c for c in cmd if c in ("--distill", "--resolution-weights")] == flag[:1]
    if flag:
        assert cmd[cmd.index(flag[0]) + 1] == flag[1]


@pytest.mark.parametrize("minutes", [2, -2])
def test_stop_at_is_the_next_such_time_of_day_even_past_midnight(minutes: int) -> None:
    import time

    at = time.gmtime(time.time() + minutes * 60)
    ahead = bs.stop_time(f"{at.tm_hour:02d}:{at.tm_min:02d}") - time.time()
    # two minutes from now stops in about two minutes; two minutes ago stops tomorrow, not at once
    expected = minutes * 60 if minutes > 0 else 24 * 3600 + minutes * 60
    assert expected - 61 <= ahead <= expected + 1
    assert bs.stop_time(None) == float("inf")


def _cached_protocol(path: str) -> dict:
    return json.loads((BENCH / "results" / path / "supernet_cache.json").read_text())["protocol"]


def test_the_defaults_are_the_reported_recipe_and_the_old_one_is_still_reachable() -> None:
    """The defaults keep the committed headline cache valid; the flags of the recipe reported before
    it, and of the even-odds shared runs, still name their own caches (another protocol is refused)."""
    default = bs.parse_args([])
    assert bs.protocol(default) == _cached_protocol(".")
    assert default.finetune_steps == default.scratch_steps == 600 and default.finetune_lr == 0.03
    old = bs.parse_args(
        ["--distill", "inplace", "--sandwich-resolution", "extremes", "--supernet-lr", "0.05"]
    )
    assert bs.protocol(old) == _cached_protocol("supernet_runs/inplace_extremes_s0")
    even = bs.parse_args(["--distill", "inplace", "--resolution-weights", "1,1,1,1", "--supernet-lr", "0.05"])
    assert bs.protocol(even) == _cached_protocol("supernet_runs/shared_s0")
    progressive = bs.parse_args(["--schedule", "progressive"])  # keeps the settings its caches had
    assert (progressive.distill, progressive.sandwich_resolution) == ("inplace", "extremes")
    assert "supernet_lr" not in bs.protocol(progressive) and "resolution_weights" not in bs.protocol(
        progressive
    )


@pytest.mark.parametrize(
    ("argv", "said"),
    [("--resolution-weights 1,x,1,2", "comma-separated numbers"),
     ("--sandwich-resolution extremes --resolution-weights 1,1,1,2", "shared or anchored")],
)  # fmt: skip
def test_bad_resolution_weights_get_one_line(
    argv: str, said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        bs.parse_args(argv.split())
    assert exc.value.code == 2 and said in capsys.readouterr().err


def test_a_truth_cut_short_is_a_mean_of_the_seeds_done_and_ranks_this_runs_supernet(tmp_path) -> None:
    rows = _rows(6)  # this run's supernet scores a_i at i
    # a longer truth: seed 0 on all six agrees with this supernet; seed 1 on three reverses them
    sa = {f"a{i}#0": {"accuracy": float(i)} for i in range(6)}
    sa |= {f"a{i}#1": {"accuracy": float(-10 * i)} for i in range(3)}
    (tmp_path / "supernet_cache.json").write_text(
        json.dumps({"protocol": {"seeds": 2, "standalone_steps": 99, "distill": "none"}, "standalone": sa})
    )
    args = argparse.Namespace(also=[str(tmp_path)], supernet_steps="1", archs=6, standalone_steps=3, seeds=2,
                              eval_images=4, proxy_batch=5, resolution_scale=0.1, schedule="sandwich")  # fmt: skip
    out = bs.also(args, rows)[str(tmp_path)]
    m, t = out["standalone_mean"], out["this_supernet_vs_truth"]
    assert (m["archs"], m["complete"], m["seeds"]) == (6, 3, 2)
    assert t["seed0"]["kendall_tau"] == 1.0 and t["mean"]["kendall_tau"] < 1.0
    # a truth: the supernet's settings are not its own
    assert (
        set(out["protocol_differs"]) <= set(bs.TRUTH_KEYS)
        and out["protocol_differs"]["standalone_steps"] == 99
    )
    md = bs.markdown({"protocol": {"eval_images": 4, "standalone_steps": 3, "resolution_scale": 0.1},
                      "speed": None, "train": None, "archs_done": 6, "special": {}, "by_resolution": {},
                      "cost": None, "rows": [], "standalone_rss_mib": 0, "ranking": {},
                      "other_supernets": {str(tmp_path): out}})  # fmt: skip
    assert "(99 steps, mean of 2 seeds, 6 architectures; only seed 0 on 3 of them) as a score" in md
    assert (
        "This run's supernet (inherited accuracy) against that truth, 6 architectures: τ 1.0 (its seed 0)"
        in md
    )


def test_the_cost_adds_each_distinct_chosen_networks_fine_tuning_once() -> None:
    """Supernet training + searches against the same trials trained stand-alone, and again with the
    fine-tuning of the chosen networks added: two limits that choose the same network count it once."""
    tuned = {"wall_s": 10.0, "cpu_s": 5.0}
    special = {dev: {"trials": 50, "search": {"wall_s": 20.0, "cpu_s": 10.0},
                     "limits": [{"arch": "a", "finetuned": tuned}, {"arch": a, "finetuned": tuned}]}
               for dev, a in (("d1", "a"), ("d2", "b"))}  # fmt: skip
    got = bs.cost({"special": special, "train": {"wall_s": 160.0, "cpu_s": 80.0},
                   "standalone_trial_median": {"wall_s": 4.0, "cpu_s": 2.0}})  # fmt: skip
    assert got is not None and got["scratch_trials"] == 100
    wall = got["wall_s"]
    assert (wall["total"], wall["scratch_extrapolated"], wall["ratio"]) == (200.0, 400.0, 2.0)
    assert (wall["finetuned"], wall["finetune"], wall["ratio_with_finetune"]) == (
        2,
        20.0,
        round(400 / 220, 2),
    )
    assert got["cpu_s"]["ratio_with_finetune"] == round(200 / 110, 2)
    # per supernet-search trial 0.4 s against 4 s stand-alone: never 10x
    assert wall["supernet_trial"] == 0.4 and wall["trials_for_10x"] is None
    special["d2"]["limits"] = [{"arch": "a"}]  # not fine-tuned yet: nothing added
    del special["d1"]["limits"]
    assert "finetune" not in bs.cost({"special": special, "train": {"wall_s": 1.0, "cpu_s": 1.0},
                                      "standalone_trial_median": {"wall_s": 4.0, "cpu_s": 2.0}})["wall_s"]  # fmt: skip
