"""What ``hynas search`` shows while it runs: a live bar with the running trial's step and loss on
a terminal, one whole log line per finished trial without one, and unwrapped architectures."""

from __future__ import annotations

import math
import os
import pty
import re
import select
import subprocess

import pytest

from cli_util import HYNAS, run_cli
from hynas.core import progress


def test_training_evaluators_report_every_step_to_the_listener():
    from hynas.evaluators import make_evaluator

    ev = make_evaluator("hybrid-lm", "lm-stdlib", steps=(6,), context=64, batch=2, eval_windows=2)
    arch = ev.space.sample(__import__("numpy").random.default_rng(0))  # type: ignore[attr-defined]
    seen: list[tuple[int, int, float]] = []
    with progress.listening(lambda s, n, loss: seen.append((s, n, loss))):
        ev.evaluate(arch)
    assert [s for s, _, _ in seen] == [1, 2, 3, 4, 5, 6] and {n for _, n, _ in seen} == {6}
    assert all(math.isfinite(loss) and loss > 0 for _, _, loss in seen)
    seen.clear()
    ev.evaluate(arch)  # nobody listening: nothing is reported
    assert seen == []


def test_piped_output_has_one_line_per_trial_and_whole_architectures(tmp_path):
    store = str(tmp_path / "s.db")
    r = run_cli("search", "--strategy", "random", "--budget", "6", "--store", store)
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 6 and all(
        re.match(rf"\[{i + 1}/6\] trial {i} accuracy=", ln) for i, ln in enumerate(lines)
    )
    shown = run_cli("show", store, "--json")
    import json

    archs = [t["arch"] for t in json.loads(shown.stdout)["trials"]]
    for ln, arch in zip(lines, archs, strict=True):
        assert ln.endswith(arch)  # the whole string, on the trial's own line
    front = re.findall(r"\|[^\s│]+\|", r.stdout)
    assert front and all(a in archs for a in front)  # every row of the summary holds a whole architecture


@pytest.mark.slow
def test_a_terminal_shows_the_running_trials_step_and_loss(tmp_path):
    master, slave = pty.openpty()
    cmd = [*HYNAS, "search", "--space", "hybrid-lm", "--evaluator", "lm-stdlib", "--objective", "bpb"]
    cmd += [
        "--evaluator-option",
        "steps=[150]",
        "--evaluator-option",
        "batch=4",
        "--evaluator-option",
        "eval_windows=2",
    ]
    cmd += ["--budget", "1", "--store", str(tmp_path / "s.db")]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    out = b""
    while proc.poll() is None or select.select([master], [], [], 0)[0]:
        ready, _, _ = select.select([master], [], [], 5)
        if not ready:
            continue
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    assert proc.wait(timeout=120) == 0
    text = out.decode(errors="replace")
    steps = [int(m) for m in re.findall(r"step (\d+)/150 loss \d", text)]
    assert steps and max(steps) > min(steps)  # the bar moved within a trial
