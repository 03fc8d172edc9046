"""The classification behind bench/faults.py: what counts as a traceback, a wrong exit, a lost or
duplicated trial, an unusable store; reading a store never changes it."""

from __future__ import annotations

import hashlib
import random

import pytest

from bench_util import load_bench
from hynas.core.experiment import ExperimentConfig
from hynas.runners import run
from hynas.stores import open_store
from hynas.wiring import Experiment

bf = load_bench("faults")


def test_traceback_and_error_lines():
    err = 'Traceback (most recent call last):\n  File "x.py", line 1\nValueError: nan\n'
    assert bf.has_traceback(err)
    assert not bf.has_traceback("error: bad budget 0: it must be a whole number of queries >= 1\n")
    assert not bf.has_traceback("a traceback was expected\n")
    assert bf.error_lines("error: one line\n\n") == 1
    assert bf.error_lines("Usage: hynas search\n  \n│ Invalid value\n") == 2


@pytest.mark.parametrize(
    ("expect", "rc", "wrong"),
    [
        ("ok", 0, False),
        ("ok", 2, True),
        ("ok", 1, True),
        ("ok", None, True),
        ("bad", 2, False),
        ("bad", 0, True),
        ("bad", 1, True),
        ("bad", -9, True),
        ("bad", None, True),
        ("ok_or_refused", 0, False),
        ("ok_or_refused", 2, False),
        ("ok_or_refused", 1, True),
        ("ok_or_refused", 130, True),
    ],
)
def test_wrong_exit(expect, rc, wrong):
    assert bf.wrong_exit(expect, rc) is wrong


def test_wrong_exit_refuses_an_unknown_expectation():
    with pytest.raises(ValueError, match="unknown expectation"):
        bf.wrong_exit("fine", 0)


def _row(n, arch="a", fid=None, status="completed", metrics='{"accuracy": 90.0}', cost=1.0):
    return (n, arch + str(n), fid, status, metrics, cost)


def test_trial_changes_counts_missing_changed_and_duplicated_trials():
    before = [_row(0), _row(1), _row(2)]
    assert bf.trial_changes(before, [*before, _row(3)]) == (0, 0)
    # trial 1 missing, trial 2 rewritten with other metrics: both lost
    assert bf.trial_changes(before, [_row(0), _row(2, metrics='{"accuracy": 1.0}'), _row(3)]) == (2, 0)
    # the same number twice, and the same architecture at the same fidelity under two numbers
    assert bf.trial_changes(before, [*before, _row(2, status="failed")]) == (0, 2)
    assert bf.trial_changes(before, [*before, (3, "a1", None, "completed", "{}", 1.0)]) == (0, 1)
    # another fidelity of the same architecture is another trial
    assert bf.trial_changes(before, [*before, (3, "a1", 12.0, "completed", "{}", 1.0)]) == (0, 0)
    # an unreadable store loses everything it held
    assert bf.trial_changes(before, None) == (3, 0)
    assert bf.complete([_row(i) for i in range(5)], 5)
    assert not bf.complete([_row(i) for i in range(4)], 5)
    assert not bf.complete(None, 1)


def test_tally_classifies_one_process_and_the_trials():
    t = bf.Tally()
    t.process("bad budget", "bad", bf.Proc(1, "", "Traceback (most recent call last):\nValueError\n"))
    t.process("usage", "bad", bf.Proc(2, "", "Usage: x\n│ Invalid value\n"))
    t.process("fine", "bad", bf.Proc(2, "", "error: bad budget\n"))
    assert (t.tracebacks, t.wrong_exits, t.extra) == (1, 1, {"error not one line": 1})
    t.trials("resume", [_row(0), _row(1)], [_row(0), _row(2)], budget=3)
    assert (t.lost, t.duplicated, t.unusable) == (1, 0, 1)
    assert any(e.startswith("traceback: bad budget") for e in t.examples)
    # an example quotes the words of the last two lines, without a usage box's borders
    t.process("box", "ok", bf.Proc(2, "", "Usage: x\n╭─ Error ─╮\n│ Invalid value for '--budget' │\n╰───╯\n"))
    assert "wrong exit: box (rc 2) -> Error | Invalid value for '--budget'" in t.examples


def test_read_trials_reads_a_copy_and_leaves_the_store_as_it_was(tmp_path):
    path = str(tmp_path / "s.db")
    assert bf.read_trials(path) is None
    with open_store(path) as st:
        run(Experiment(ExperimentConfig(strategy="random", objectives=("accuracy",), budget=4, seed=0)), st)
        ref = st.trials()
    files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in tmp_path.iterdir()}
    rows = bf.read_trials(path)
    assert [r[:2] for r in rows] == [(r.number, r.arch) for r in ref]
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in tmp_path.iterdir()} == files
    (tmp_path / "junk.db").write_bytes(b"not a store at all" * 100)
    assert bf.read_trials(str(tmp_path / "junk.db")) is None


def test_damage_offsets_are_distinct_in_range_and_start_with_the_fixed_ones():
    offs = bf._offsets(random.Random(0), 5000, 12, (0, 100, 4096, 9999))
    assert len(offs) == len(set(offs)) == 12 and all(0 <= o < 5000 for o in offs)
    assert {0, 100, 4096} <= set(offs)
    assert bf._offsets(random.Random(0), 3, 10, (0,)) == [0, 1, 2]


def test_fuzz_cases_label_their_expectation(tmp_path):
    rng = random.Random(1)
    cases = [bf.fuzz_case(rng, tmp_path, i) for i in range(200)]
    assert {e for _, _, e in cases} == {"ok", "bad"}
    for label, args, expect in cases:
        assert args[0] == "search" and "--store" in args and label
        if expect == "ok":  # only valid values; the temporary path (e.g. pytest-30) is not a value
            values = " ".join(args).replace(str(tmp_path), "<tmp>")
            assert not any(v in values for v in ("nan", "bogus", '"abc"', "-3"))
