"""A damaged store is told apart from one written by another hynas version: flipped bytes,
deleted rows and a truncated file give one line and a non-zero exit, never silently changed
values; schema 3 keeps a checksum per trial row (migrated from v1 and v2 stores)."""

from __future__ import annotations

import random
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from hynas.core.errors import HynasError
from hynas.core.experiment import ExperimentConfig
from hynas.runners import run
from hynas.stores import SCHEMA_VERSION, open_store
from hynas.wiring import Experiment

V1 = Path(__file__).parent / "data" / "store_v1.db"
CFG = ExperimentConfig(strategy="rea", objectives=("accuracy",), budget=300, seed=5)


@pytest.fixture(scope="module")
def store300(tmp_path_factory) -> tuple[Path, dict, list]:
    path = tmp_path_factory.mktemp("s300") / "run.db"
    with open_store(str(path)) as st:
        run(Experiment(CFG), st)
    with open_store(str(path), read_only=True) as st:
        config, trials = st.config(), st.trials()
    assert not Path(str(path) + "-wal").exists()  # all in the main file
    return path, config, trials


def _read(path: Path) -> tuple[dict | None, list]:
    with open_store(str(path), read_only=True) as st:
        return st.config(), st.trials()


def _flip(src: Path, dst: Path, offset: int, rng: random.Random) -> None:
    data = bytearray(src.read_bytes())
    data[offset] ^= rng.randrange(1, 256)
    dst.write_bytes(bytes(data))


def _value_offsets(data: bytes) -> list[int]:
    """Offsets of bytes inside the stored trial values (metrics JSON, costs, archs)."""
    out = []
    for marker in (b'{"accuracy": ', b"|nor_conv_", b'"test_accuracy": '):
        start = 0
        while (i := data.find(marker, start)) >= 0:
            out.append(i + len(marker) + 1)
            start = i + 1
    return out


def test_single_byte_flips_never_change_values_silently(store300, tmp_path):
    path, config, trials = store300
    data = path.read_bytes()
    rng = random.Random(0)
    values = _value_offsets(data)
    offsets = rng.sample(range(len(data)), 300) + rng.sample(values, 60)
    detected = harmless = 0
    damaged = tmp_path / "d.db"
    for off in offsets:
        _flip(path, damaged, off, rng)
        try:
            got = _read(damaged)
        except HynasError as exc:
            assert "\n" not in str(exc) and "different hynas version" not in str(exc)
            detected += 1
            continue
        assert got == (config, trials), f"a flip at offset {off} changed stored values silently"
        harmless += 1
    assert detected >= 60 and harmless  # every flip of a value byte is caught


def test_show_and_report_exit_non_zero_with_one_line_on_damage(store300, tmp_path):
    path, _, _ = store300
    data = path.read_bytes()
    rng = random.Random(1)
    for k, off in enumerate(rng.sample(_value_offsets(data), 3)):
        bad = tmp_path / f"bad{k}.db"
        _flip(path, bad, off, rng)
        before = bad.read_bytes()
        for cmd in (["show", str(bad)], ["report", str(bad), "--out", str(tmp_path / "rep")]):
            r = subprocess.run(
                [sys.executable, "-c", "from hynas.cli import main; main()", *cmd],
                capture_output=True,
                text=True,
                timeout=120,
            )
            lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
            assert r.returncode == 2 and len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
            assert "damaged" in lines[0] or "corrupt" in lines[0]
        assert bad.read_bytes() == before


def test_deleted_row_and_truncated_file_are_damage_not_another_version(store300, tmp_path):
    path, _, _ = store300
    gap = tmp_path / "gap.db"
    shutil.copy(path, gap)
    with sqlite3.connect(gap) as db:
        db.execute("DELETE FROM trials WHERE number = 117")
    with pytest.raises(HynasError, match="damaged: told position 117 is missing"):
        _read(gap)
    with open_store(str(gap)) as st, pytest.raises(HynasError, match="damaged") as err:
        run(Experiment(CFG), st)
    assert "different hynas version" not in str(err.value)
    for size in (100, 4096, len(path.read_bytes()) // 2, len(path.read_bytes()) - 1):
        cut = tmp_path / f"cut{size}.db"
        cut.write_bytes(path.read_bytes()[:size])
        with pytest.raises(HynasError) as err:
            _read(cut)
        assert "different hynas version" not in str(err.value)


def test_changed_configuration_is_damage(store300, tmp_path):
    path, _, _ = store300
    bad = tmp_path / "cfg.db"
    shutil.copy(path, bad)
    with sqlite3.connect(bad) as db:
        db.execute(
            "UPDATE meta SET value = replace(value, '\"seed\": 5', '\"seed\": 6') WHERE key = 'config'"
        )
    with pytest.raises(HynasError, match="damaged: its configuration does not match its checksum"):
        _read(bad)


def _downgrade_to_v2(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("ALTER TABLE trials DROP COLUMN checksum")
        db.execute("DELETE FROM meta WHERE key = 'config_sum'")
        db.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")


@pytest.mark.parametrize("version", [1, 2])
def test_older_stores_get_checksums_and_then_detect_changes(store300, tmp_path, version):
    path = tmp_path / "old.db"
    if version == 1:
        shutil.copy(V1, path)
    else:
        shutil.copy(store300[0], path)
        _downgrade_to_v2(path)
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT number, arch, metrics FROM trials ORDER BY number").fetchall()
    with open_store(str(path), read_only=True) as st:  # a read-only view migrates a private copy
        assert [(r.number, r.arch) for r in st.trials()] == [(n, a) for n, a, _ in rows]
    with sqlite3.connect(path) as db:  # and left the file as it was
        assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == str(version)
    with open_store(str(path)) as st:
        assert st.schema_version() == SCHEMA_VERSION
        assert [(r.number, r.arch) for r in st.trials()] == [(n, a) for n, a, _ in rows]
    with sqlite3.connect(path) as db:
        db.execute("UPDATE trials SET metrics = replace(metrics, '.', '.9') WHERE number = 3")
    with pytest.raises(HynasError, match="damaged: trial 3 does not match its checksum"):
        _read(path)


def test_a_value_changed_behind_the_store_is_reported_on_every_backend(location):
    cfg = ExperimentConfig(strategy="random", objectives=("accuracy",), budget=6, seed=2)
    with open_store(location) as st:
        run(Experiment(cfg), st)
        st._execute("UPDATE trials SET cost_s = cost_s + 1 WHERE number = 4")
    with (
        open_store(location, read_only=True) as st,
        pytest.raises(HynasError, match="trial 4 does not match"),
    ):
        st.trials()
    with open_store(location) as st, pytest.raises(HynasError, match="damaged"):
        run(Experiment(cfg), st)


def test_a_v2_store_is_read_as_it_is_and_migrated_on_every_backend(location):
    cfg = ExperimentConfig(strategy="random", objectives=("accuracy",), budget=6, seed=2)
    with open_store(location) as st:
        ref = run(Experiment(cfg), st)
        for sql in (
            "ALTER TABLE trials DROP COLUMN checksum",
            "DELETE FROM meta WHERE key = 'config_sum'",
            "UPDATE meta SET value = '2' WHERE key = 'schema_version'",
        ):
            st._execute(sql)
    with open_store(location, read_only=True) as st:  # PostgreSQL: read as v2, not migrated
        assert st.trials() == ref and st.config() == cfg.to_dict()
    with open_store(location) as st:
        assert st.schema_version() == SCHEMA_VERSION and st.trials() == ref
        st._execute("UPDATE trials SET arch = 'x' WHERE number = 2")
    with (
        open_store(location, read_only=True) as st,
        pytest.raises(HynasError, match="trial 2 does not match"),
    ):
        st.trials()
