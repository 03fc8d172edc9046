"""Fuzz what a user can hand the store: paths and URLs, damaged files at many offsets, a second
process on the same store. Each case ends in success or in one line with a non-zero exit — never a
traceback, never a partial file left by a refused command, never a change to earlier data."""

from __future__ import annotations

import hashlib
import os
import random
import string
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli_util import run_cli
from hynas.cli import app
from hynas.core.errors import HynasError
from hynas.core.experiment import ExperimentConfig
from hynas.runners import run
from hynas.stores import open_store
from hynas.wiring import Experiment

CFG = ExperimentConfig(strategy="random", objectives=("accuracy",), budget=8, seed=1)
SEARCH = ["search", "-s", "random", "--objective", "accuracy", "--seed", "1", "-q", "--json"]


def _hynas(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return run_cli(*args, cwd=cwd, timeout=120)


def _invoke(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """The CLI in-process, the way ``main`` runs it (a HynasError is one line, exit 2); any other
    exception fails the test."""
    here = os.getcwd()
    os.chdir(cwd or here)
    try:
        result = CliRunner().invoke(app, list(args), catch_exceptions=True)
    finally:
        os.chdir(here)
    exc = result.exception
    if exc is None or isinstance(exc, SystemExit):
        return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)
    if isinstance(exc, HynasError):
        return subprocess.CompletedProcess(args, 2, result.stdout, f"error: {exc}\n")
    raise AssertionError(f"traceback for {args!r}: {type(exc).__name__}: {exc}") from exc


def _one_line(r: subprocess.CompletedProcess) -> str:
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 2 and len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    return lines[0]


def _tree(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        for p in sorted(folder.rglob("*"))
    }


@pytest.mark.parametrize(
    ("store", "message"),
    [
        ("/dev/null/x.db", "is not a folder"),
        ("hynas-runs/", "is a folder, not a file"),
        ("existing", "is a folder, not a file"),
        ("sqlite://", "bad SQLite URL"),
        ("sqlite:///:memory:", "bad SQLite URL"),
        ("sqlite://host/x.db", "bad SQLite URL"),
        ("mysql://u@h/db", "unsupported store URL scheme"),
    ],
)
def test_bad_store_paths_are_one_line_and_create_nothing(tmp_path, store, message):
    (tmp_path / "existing").mkdir()
    before = _tree(tmp_path)
    run_cli = _hynas if store == "/dev/null/x.db" else _invoke  # one case through the real entry point
    r = run_cli(*SEARCH, "--budget", "2", "--store", store, cwd=tmp_path)
    assert message in _one_line(r)
    assert _tree(tmp_path) == before  # no file named 'hynas-runs', no folder, nothing


def test_sqlalchemy_style_sqlite_urls_are_accepted(tmp_path):
    rel = _hynas(*SEARCH, "--budget", "3", "--store", "sqlite:///runs/rel.db", cwd=tmp_path)
    assert rel.returncode == 0, rel.stderr
    assert (tmp_path / "runs" / "rel.db").is_file()
    absolute = tmp_path / "abs.db"
    r = _invoke(*SEARCH, "--budget", "3", "--store", f"sqlite:///{absolute}", cwd=tmp_path / "runs")
    assert r.returncode == 0, r.stderr
    shown = _invoke("show", f"sqlite:///{absolute}", "--json")
    assert shown.returncode == 0 and '"number": 2' in shown.stdout
    with open_store(f"sqlite:///{absolute}") as st, open_store(str(absolute)) as same:
        assert st.trials() == same.trials() and len(st.trials()) == 3


def test_a_smaller_budget_does_not_rewrite_the_stored_one(tmp_path):
    path = str(tmp_path / "b.db")
    with open_store(path) as st:
        run(Experiment(CFG.__class__(**{**CFG.to_dict(), "budget": 30})), st)
    for budget, stored in ((10, 30), (30, 30), (40, 40)):
        with open_store(path) as st:
            recs = run(Experiment(CFG.__class__(**{**CFG.to_dict(), "budget": budget})), st)
            assert len(recs) == max(30, budget) if budget >= 30 else len(recs) == 30
            assert st.config()["budget"] == stored  # type: ignore[index]


def _random_location(rng: random.Random, root: Path) -> str:
    # a pipe stands for a device such as /dev/null (never the real one: before stores refused
    # non-regular files, opening "/dev/null" as root replaced it with a store)
    pipe = str(root / "pipe")
    pieces = [
        "", "/", "//", ".", "..", "a", "x.db", "\x00", "\n", " ", "sqlite:", "sqlite://", "sqlite:///",
        "postgresql://", "file:", ":memory:", "?", "#", "%00", "ä", "-wal", pipe, str(root),
    ]  # fmt: skip
    text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 4)))
    if rng.random() < 0.3:
        text += "".join(rng.choice(string.printable) for _ in range(rng.randint(1, 6)))
    return text


def test_fuzzed_store_locations_open_or_fail_with_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    os.mkfifo(tmp_path / "pipe")
    rng = random.Random(7)
    opened = 0
    for _ in range(300):
        loc = _random_location(rng, tmp_path)
        if loc.startswith(("postgresql://", "postgres://")):
            continue  # a server connection per case: covered by the backend tests
        try:
            with open_store(loc, create=rng.random() < 0.5) as st:
                assert st.trials() == []
                opened += 1
        except HynasError as exc:
            assert "\n" not in str(exc)
    # nothing half-made: every file left is a whole hynas store
    for p in tmp_path.rglob("*"):
        if p.is_file():
            assert p.read_bytes()[:16] == b"SQLite format 3\x00" and not p.name.endswith(".hynas-new")
    assert opened


def test_damaged_store_files_via_the_cli(tmp_path):
    path = tmp_path / "d.db"
    with open_store(str(path)) as st:
        run(Experiment(CFG), st)
    data = path.read_bytes()
    rng = random.Random(3)
    for k, off in enumerate([0, 18, 20, 56, 68, 100, *rng.sample(range(len(data)), 4)]):
        bad = tmp_path / f"bad{k}" / "run.db"
        bad.parent.mkdir()
        damaged = bytearray(data)
        damaged[off] ^= 0xFF
        bad.write_bytes(bytes(damaged))
        before = _tree(bad.parent)
        r = _invoke(*SEARCH, "--budget", "12", "--store", str(bad))
        if r.returncode:
            _one_line(r)
            assert _tree(bad.parent) == before  # refused without a write
        s = _invoke("show", str(bad))
        assert s.returncode == 0 or _one_line(s)


def test_a_second_process_on_a_store_in_use(tmp_path):
    """A second search while the first runs: one of them is refused in one line, or both end well;
    either way the store ends whole and the first's trials are kept."""
    path = str(tmp_path / "c.db")
    args = [*SEARCH, "--budget", "400", "--trial-delay", "0.002", "--store", path]
    first = subprocess.Popen(
        [sys.executable, "-c", "from hynas.cli import main; main()", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    second = _hynas(*args)
    first.communicate(timeout=120)
    assert first.returncode in (0, 2) and second.returncode in (0, 2)
    assert second.returncode == 0 or "by another search" in _one_line(second)
    with open_store(path) as st:
        assert [r.number for r in st.trials()] == list(range(400))
    assert sorted(os.listdir(tmp_path)) == ["c.db"]
