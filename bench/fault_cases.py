"""Parts 3-7 of bench/faults.py, on real ``hynas`` processes (see its docstring): kills at random
moments, a killed pool driver, two processes on one store, damaged store files, fuzzed options.
Each returns a :class:`~fault_harness.Tally`. Measures, never asserts.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

from fault_harness import (
    Tally,
    _after_kill,
    _finish,
    _kill_group,
    _search_args,
    _start,
    alive,
    children,
    hynas,
    read_trials,
    trial_changes,
)


# -- 3. kills at random moments, store creation included -------------------------------------------
def kills(tmp: Path, cases: int, rng: random.Random, budget: int = 30) -> Tally:
    t = Tally()
    for i in range(cases):
        kind = ("launch", "creation", "running")[i % 3]
        sig = (
            signal.SIGKILL
            if kind != "running"
            else rng.choice([signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
        )
        workers = rng.choice([1, 2])
        store = str(tmp / f"kill{i}.db")
        args = _search_args(store, budget, seed=i, workers=workers, delay=0.02)
        label = f"{kind} {sig.name} workers={workers} #{i}"
        p = _start(args, str(tmp))
        t0 = time.monotonic()
        if kind == "launch":
            time.sleep(rng.uniform(0, 0.05))
        elif kind == "creation":
            while not os.path.exists(store) and p.poll() is None and time.monotonic() - t0 < 60:
                time.sleep(0.0005)
            time.sleep(rng.uniform(0, 0.03))
        else:
            time.sleep(rng.uniform(0.5, 3.0))
        with contextlib.suppress(ProcessLookupError):
            os.kill(p.pid, sig)
        res = _finish(p, 30)
        t.cases += 1
        if res.rc == 0:
            t.count("run had ended before the kill")
        t.count(f"{kind}: store existed at the kill", int(os.path.exists(store)))
        _after_kill(t, label, res.stderr, args, str(tmp), store, budget)
    return t


# -- 4. the driver of a --workers 2 run killed alone ------------------------------------------------
def pool_driver(tmp: Path, cases: int, rng: random.Random, budget: int = 40) -> Tally:
    t = Tally()
    t.extra.update({"workers left after 5 s": 0, "capture_output caller hung": 0})
    for i in range(cases):
        sig = (signal.SIGKILL, signal.SIGTERM)[i % 2]
        store = str(tmp / f"pooldrv{i}.db")
        args = _search_args(store, budget, seed=i, workers=2, delay=0.03)
        label = f"{sig.name} #{i}"
        p = _start(args, str(tmp))
        deadline = time.monotonic() + 60
        workers: dict[int, int] = {}
        while len(workers) < 2 and time.monotonic() < deadline and p.poll() is None:
            workers = children(p.pid)
            time.sleep(0.01)
        time.sleep(rng.uniform(0, 1.5))
        with contextlib.suppress(ProcessLookupError):
            os.kill(p.pid, sig)  # the driver alone
        t.cases += 1
        try:
            _, err = p.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            t.count("capture_output caller hung")
            t.note("capture hang", label)
            with contextlib.suppress(ProcessLookupError):
                os.kill(p.pid, signal.SIGKILL)
            p.wait()
            err = ""
        t_gone = time.monotonic() + 5
        while alive(workers) and time.monotonic() < t_gone:
            time.sleep(0.05)
        left = alive(workers)
        if left:
            t.count("workers left after 5 s", len(left))
            t.note("workers left", label)
        _kill_group(p)  # what it left behind (its own process group only)
        _after_kill(t, label, err, args, str(tmp), store, budget)
    return t


# -- 5. two processes on one store at once ----------------------------------------------------------
def two_processes(tmp: Path, cases: int, rng: random.Random, budget: int = 30) -> Tally:
    t = Tally()
    t.extra.update({"both ran": 0, "one refused": 0})
    for i in range(cases):
        store = str(tmp / f"two{i}.db")
        half = i % 2 == 1
        if half:  # a store already holding part of the run
            hynas(_search_args(store, budget // 3, seed=i), str(tmp))
        before = read_trials(store) or []
        ws = (rng.choice([1, 2]), rng.choice([1, 2]))
        label = f"{'half-done' if half else 'fresh'} store, workers {ws} #{i}"
        a = _start(_search_args(store, budget, seed=i, workers=ws[0], delay=0.02), str(tmp))
        time.sleep(rng.uniform(0, 0.5))
        b = _start(_search_args(store, budget, seed=i, workers=ws[1], delay=0.02), str(tmp))
        ra, rb = _finish(a, 120), _finish(b, 120)
        t.cases += 1
        t.process(label + " first", "ok_or_refused", ra)
        t.process(label + " second", "ok_or_refused", rb)
        t.count("both ran" if ra.rc == rb.rc == 0 else "one refused")
        mid = read_trials(store)
        lost, dup = trial_changes(before, mid)
        t.lost += lost
        t.duplicated += dup
        if lost or dup:
            t.note("lost/duplicated", f"{label}: {lost}/{dup} after both")
        res = hynas(_search_args(store, budget, seed=i), str(tmp))
        t.process(label + " rerun", "ok", res)
        after = read_trials(store)
        t.trials(label, mid or before, after, budget)
    return t


# -- 6. damaged store files -------------------------------------------------------------------------
def _offsets(rng: random.Random, size: int, n: int, fixed: tuple[int, ...]) -> list[int]:
    """``n`` distinct offsets into a file of ``size`` bytes: ``fixed`` ones first, then random."""
    picks = list(dict.fromkeys(o for o in fixed if 0 <= o < size))[:n]
    rest = sorted(set(range(size)) - set(picks))
    return sorted(picks + rng.sample(rest, min(len(rest), n - len(picks))))


#: how hynas names a damaged store when it refuses one
_DAMAGE_WORDS = re.compile(r"damaged|corrupt|not a hynas store|unreadable|checksum")


def damaged(tmp: Path, cases: int, rng: random.Random, budget: int = 30) -> Tally:
    t = Tally()
    t.extra.update({"search refused the damaged store (exit 2)": 0, "search resumed (exit 0)": 0})
    orig = str(tmp / "orig.db")
    hynas(_search_args(orig, budget), str(tmp))
    with contextlib.closing(sqlite3.connect(orig)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    original = read_trials(orig) or []
    data = Path(orig).read_bytes()
    size = len(data)
    trunc = _offsets(rng, size, cases // 3, (0, 100, 4096, size - 1))
    flips = _offsets(rng, size, cases - len(trunc), (0, 18, 28, 100, size // 2))
    plan = [("truncated at", o) for o in trunc] + [("byte flipped at", o) for o in flips]
    t.extra["store bytes"] = size
    for j, (how, off) in enumerate(plan[:cases]):
        path = str(tmp / f"dmg{j}.db")
        blob = (
            data[:off] if how == "truncated at" else data[:off] + bytes([data[off] ^ 0xFF]) + data[off + 1 :]
        )
        Path(path).write_bytes(blob)
        label = f"{how} {off}"
        t.cases += 1
        t.process(label + " show", "ok_or_refused", hynas(["show", path], str(tmp)))
        res = hynas(_search_args(path, budget + 10), str(tmp))
        t.process(label + " search", "ok_or_refused", res)
        if res.rc == 2 and _DAMAGE_WORDS.search(res.stderr) and Path(path).read_bytes() == blob:
            # the documented answer to a damaged file: one line naming the damage, nothing written
            t.count("search refused the damaged store (exit 2)")
            continue
        if res.rc == 0:
            t.count("search resumed (exit 0)")
        after = read_trials(path)
        # a resume that kept a changed trial accepted the damage silently: that trial is lost
        t.trials(label, original if res.rc == 0 else [], after, budget + 10)
    return t


# -- 7. fuzzed options ----------------------------------------------------------------------------
_BAD_VALUES = ['"abc"', "-3", "0", "1.5", "nan", "inf", "true", "[1, 2]", "{a = 1}", "99999999999999999999"]
_OPTIONS: dict[str, dict[str, list[str]]] = {  # strategy: option: valid values
    "rea": {"population": ["10", "3"], "sample_size": ["3", "2"]},
    "nsga2": {"population": ["10", "4"], "crossover": ["0.5", "1.0"]},
    "local": {"init": ["3", "5"], "first_improvement": ["false", "true"]},
    "reinforce": {"lr": ["0.1"], "momentum": ["0.5"], "tries": ["20"]},
    "random": {},
}
#: option values that are out of type or range for these options (not every bad value for each)
_BAD_FOR: dict[str, list[str]] = {
    "population": ['"abc"', "-3", "0", "1.5", "nan", "true", "[1, 2]", "{a = 1}", "99999999999999999999"],
    "sample_size": ['"abc"', "-3", "0", "1.5", "nan", "true", "[1, 2]"],
    "crossover": ['"abc"', "-3", "1.5", "nan", "inf", "[1, 2]"],
    "init": ['"abc"', "-3", "0", "1.5", "nan", "true", "[1, 2]"],
    "first_improvement": ['"abc"', "3", "[1, 2]", "nan"],
    "lr": ['"abc"', "-3", "0", "nan", "inf", "[1, 2]"],
    "momentum": ['"abc"', "-3", "1.5", "nan", "inf"],
    "tries": ['"abc"', "-3", "0", "1.5", "nan", "true"],
}


def fuzz_case(rng: random.Random, tmp: Path, i: int) -> tuple[str, list[str], str]:
    """(label, arguments, expectation) of one fuzzed ``hynas search``."""
    store = str(tmp / f"fz{i}.db")
    strategy = rng.choice(sorted(_OPTIONS))
    base = {"strategy": strategy, "budget": "5", "seed": "0", "delay": None, "store": store}
    extra: list[str] = []
    kind = rng.choice(["option", "option", "option", "budget", "seed", "delay", "store", "constraint"])
    expect = "bad"
    if kind == "option":
        opts = _OPTIONS[strategy]
        roll = rng.random()
        if not opts or roll < 0.15:
            extra += ["-o", rng.choice(["bogus=1", "population", "=3", "populaton=10"])]
        elif roll < 0.35:  # valid values only
            key = rng.choice(sorted(opts))
            extra += ["-o", f"{key}={rng.choice(opts[key])}"]
            expect = "ok"
        else:
            key = rng.choice(sorted(opts))
            extra += ["-o", f"{key}={rng.choice(_BAD_FOR.get(key, _BAD_VALUES))}"]
    elif kind == "budget":
        base["budget"] = rng.choice(["0", "-1", "abc", "1.5", "", "nan"])
    elif kind == "seed":
        base["seed"], expect = rng.choice(
            [("-1", "bad"), ("x", "bad"), ("1.5", "bad"), ("", "bad"), ("7", "ok")]
        )
    elif kind == "delay":
        base["delay"], expect = rng.choice(
            [("-1", "bad"), ("nan", "bad"), ("inf", "bad"), ("abc", "bad"), ("1e400", "bad"), ("0.001", "ok")]
        )
    elif kind == "store":
        afile = tmp / "a-text-file.txt"
        afile.write_text("not a store\n")
        adir = tmp / "a-directory"
        adir.mkdir(exist_ok=True)
        base["store"] = rng.choice(
            [
                str(adir),
                str(afile),
                str(afile / "sub.db"),
                "mysql://h/db",
                "postgresql://u@127.0.0.1:1/db?store=x",
                "bad\nname.db",
                str(tmp / ("x" * 300 + ".db")),
                "http://example/x.db",
            ]
        )
    else:
        extra += [
            "--constraint",
            rng.choice(
                ["latency@raspi4 <=", "foo <= 3", "accuracy >= abc", "params <= nan", "params << 3", ""]
            ),
        ]
    args = ["search", "-s", str(base["strategy"]), "--objective", "accuracy", "--budget", str(base["budget"])]
    args += ["--seed", str(base["seed"]), "--store", str(base["store"]), "-q", *extra]
    if base["delay"] is not None:
        args += ["--trial-delay", str(base["delay"])]
    return f"{kind}: {' '.join(args[1:]).replace(str(tmp) + '/', '')}"[:200], args, expect


def fuzz(tmp: Path, cases: int, rng: random.Random) -> Tally:
    t = Tally()
    for i in range(cases):
        label, args, expect = fuzz_case(rng, tmp, i)
        res = hynas(args, str(tmp), timeout=60)
        t.cases += 1
        t.count(f"expected {expect}")
        t.process(label, expect, res)
        if expect == "ok" and res.rc == 0:
            store = args[args.index("--store") + 1]
            t.trials(label, [], read_trials(store), 5)
    return t
