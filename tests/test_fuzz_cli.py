"""Fuzz the command line with malformed configs, arch strings and store files (hypothesis).

Every case must end in one clear error line and a non-zero exit (or, for input that happens to be
valid, a normal run) — never a traceback, and never a partial write: a store that the command
refuses keeps exactly its content, and a refused new run creates no store at all.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import string
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli_util import invoke_cli
from hynas.core.errors import HynasError
from hynas.core.experiment import ExperimentConfig
from hynas.runners import run
from hynas.stores import open_store
from hynas.wiring import Experiment

FAST = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
#: the CLI-level fuzzers run a command per example: slow-marked (CI runs them), more examples
DEEP = settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
BASE_ARGS = ["--objective", "accuracy", "--strategy", "random", "--seed", "1"]


def invoke(args: list[str]) -> tuple[int, str]:
    """Run the CLI in-process the way ``main`` does: a HynasError becomes one line and exit 2."""
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as d:
        os.chdir(d)  # relative paths (a fuzzed --store) land in a temporary folder
        try:
            return invoke_cli(args)
        finally:
            os.chdir(here)


def assert_clear_error(code: int, out: str) -> None:
    assert code != 0
    assert "Traceback" not in out
    if out.startswith("error: "):
        assert "\n" not in out.strip(), out  # one line
    else:
        assert "Error" in out or "Usage" in out, out  # a click usage error (exit 2)


def store_content(path: Path) -> tuple:
    """What a store holds, independent of page layout (the driver lease is bookkeeping)."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    db.text_factory = bytes
    try:
        tables = [
            r[0].decode()
            for r in db.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")
        ]
        out = []
        for t in tables:
            rows = db.execute(f'SELECT * FROM "{t}"').fetchall()
            if t == "meta":
                rows = [r for r in rows if r[0] != "driver"]
            out.append((t, sorted(map(repr, rows))))
        return tuple(out)
    finally:
        db.close()


# -- malformed configuration files -------------------------------------------------------------
KEYS = [
    "space", "dataset", "evaluator", "evaluator_options", "strategy", "strategy_options",
    "objectives", "constraints", "budget", "budget_seconds", "seed", "store", "bogus",
]  # fmt: skip
toml_scalar = st.one_of(
    st.integers(-(2**40), 2**40).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(lambda f: repr(f).replace("inf", "inf")),
    st.text(string.printable, max_size=12).map(lambda s: '"' + s.replace("\\", "").replace('"', "") + '"'),
    st.sampled_from(["true", "false", "[]", "{}", '["accuracy"]', '["x@y", 3]', "{a = 1}", "nan", "-inf"]),
)


@st.composite
def toml_config(draw) -> str:
    lines = [f"{draw(st.sampled_from(KEYS))} = {draw(toml_scalar)}" for _ in range(draw(st.integers(1, 4)))]
    if draw(st.booleans()):
        lines.append(draw(st.text(max_size=30)))  # garbage line
    return "\n".join(lines)


@FAST
@given(text=toml_config())
def test_fuzz_config_files(text):
    with tempfile.TemporaryDirectory() as d:
        cfg = Path(d) / "c.toml"
        cfg.write_text(text)
        store = Path(d) / "s.db"
        code, out = invoke(["search", "--config", str(cfg), "--store", str(store), "--budget", "3", "-q"])
        if code == 0:
            return  # a valid configuration: it ran
        assert_clear_error(code, out)
        assert not store.exists() or store_content(store) == store_content(store)


# -- malformed command-line values (objectives, constraints, options, runner flags) ----------------
junk = st.text(st.characters(blacklist_categories=("Cs",)), min_size=0, max_size=20)


@pytest.mark.slow
@DEEP
@given(
    flag=st.sampled_from(
        ["--objective", "--constraint", "--strategy-option", "--evaluator-option", "--space", "--strategy",
         "--dataset", "--evaluator", "--runner", "--workers", "--trial-timeout", "--retries", "--store"]
    ),
    value=st.one_of(junk, st.sampled_from(["latency@", "accuracy <= x", "a=", "=1", "-1", "0", "nan", "inf"])),
)  # fmt: skip
def test_fuzz_flags(flag, value):
    with tempfile.TemporaryDirectory() as d:
        store = Path(d) / "s.db"
        args = ["search", *BASE_ARGS, "--budget", "3", "-q", flag, value]
        if flag != "--store":
            args += ["--store", str(store)]
        code, out = invoke(args)
        if code == 0:
            return
        assert_clear_error(code, out)
        if flag != "--store":
            assert not store.exists()  # refused before anything was written


# -- malformed store files (including arch strings inside them) -----------------------------------
_BASE: dict[str, Path] = {}


def base_store() -> Path:
    if "p" not in _BASE:
        d = Path(tempfile.mkdtemp())
        p = d / "base.db"
        cfg = ExperimentConfig(strategy="random", objectives=("accuracy",), budget=4, seed=1)
        with open_store(str(p)) as s:
            run(Experiment(cfg), s)
            s.start(4, "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|", None, 4)
        db = sqlite3.connect(p)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
        _BASE["p"] = p
    return _BASE["p"]


CELLS = {
    "trials": [
        "arch",
        "status",
        "fidelity",
        "metrics",
        "hidden",
        "cost_s",
        "number",
        "asked_after",
        "told_seq",
    ],
    "running": ["arch", "fidelity", "asked_after", "number"],
    "meta": ["value"],
}
cell_value = st.one_of(
    st.none(),
    st.integers(-5, 10**12),
    st.floats(allow_nan=True),
    junk,
    st.binary(max_size=8),
    st.sampled_from(
        ['{"accuracy": "x"}', "[1, 2]", "{}", "null", '{"space": 5}', "|nor_conv_3x3~9|", "2", "99"]
    ),
)


@st.composite
def store_damage(draw):
    kind = draw(st.sampled_from(["cell", "cell", "cell", "bytes", "truncate", "drop"]))
    if kind == "cell":
        table = draw(st.sampled_from(sorted(CELLS)))
        return (kind, table, draw(st.sampled_from(CELLS[table])), draw(cell_value))
    if kind == "bytes":
        return (kind, draw(st.integers(0, 8191)), draw(st.binary(min_size=1, max_size=16)))
    if kind == "truncate":
        return (kind, draw(st.integers(0, 8191)))
    return (kind, draw(st.sampled_from(["trials", "running", "meta"])))


def damage(path: Path, how: tuple) -> None:
    if how[0] == "cell":
        _, table, col, value = how
        db = sqlite3.connect(path)
        try:
            if table == "meta":
                key = "config" if isinstance(value, str) and value.startswith("{") else "schema_version"
                db.execute("UPDATE meta SET value = ? WHERE key = ?", (value, key))
            else:
                db.execute(
                    f'UPDATE "{table}" SET "{col}" = ? WHERE rowid = (SELECT MIN(rowid) FROM "{table}")',
                    (value,),
                )
            db.commit()
        except sqlite3.DatabaseError:
            pass  # the database refused the damage itself (constraint): still a valid store
        finally:
            db.close()
    elif how[0] == "bytes":
        data = bytearray(path.read_bytes())
        data[how[1] : how[1] + len(how[2])] = how[2]
        path.write_bytes(bytes(data))
    elif how[0] == "truncate":
        path.write_bytes(path.read_bytes()[: how[1]])
    else:
        db = sqlite3.connect(path)
        db.execute(f"DROP TABLE {how[1]}")
        db.commit()
        db.close()


@pytest.mark.slow
@DEEP
@given(how=store_damage(), command=st.sampled_from(["show", "report", "search"]))
def test_fuzz_store_files(how, command):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "s.db"
        shutil.copy(base_store(), path)
        damage(path, how)
        raw = path.read_bytes()
        try:
            before = store_content(path)
        except (sqlite3.DatabaseError, UnicodeDecodeError):
            before = None
        if command == "search":
            args = ["search", *BASE_ARGS, "--budget", "6", "-q", "--store", str(path)]
        elif command == "report":
            args = ["report", str(path), "--out", str(Path(d) / "rep")]
        else:
            args = ["show", str(path)]
        code, out = invoke(args)
        if code == 0:
            return  # the damage left a readable store (e.g. another finite metric value)
        assert_clear_error(code, out)
        if before is None:
            assert path.read_bytes() == raw  # unreadable files are never touched
        else:
            assert store_content(path) == before  # nothing written on a refused store
        assert not (Path(d) / "rep").exists()


@pytest.mark.parametrize("space", ["nb201"])
@FAST
@given(text=st.one_of(junk, st.text("|+~_0123456789abcdefghijklmnopqrstuvwxyz", max_size=60)))
def test_fuzz_arch_strings_parse_or_clear_error(space, text):
    from hynas.spaces import get_space

    sp = get_space(space)
    try:
        arch = sp.parse(text)
    except HynasError as exc:
        assert "\n" not in str(exc)
        return
    assert sp.parse(str(arch)) == arch
